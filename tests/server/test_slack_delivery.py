"""thoth.server.slack.delivery against a fake Slack on 127.0.0.1: the posts' shapes, the retry
policy, the counters, and logs that never hold the webhook URL, the token or a response_url."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from thoth.server import holds
from thoth.server.slack import SlackSender, outcome_message

TOKEN = holds.new_token()
REF = holds.ref_of(TOKEN)
WEBHOOK_PATH = "/services/T000/B000/WebhookSecretXyz123"
BOT_TOKEN = "xoxb-111-222-BotTokenSecretAbc"
RESPONSE_PATH = "/actions/T000/123/ResponseSecretQrs"
LOOPBACK_HOSTS = frozenset({"hooks.slack.com", "127.0.0.1"})


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class FakeSlack:
    """Records every request; answers the scripted answers in turn, then 200 (``ok``, or the
    Web API's ``{"ok": true}`` under /api/)."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.script: list[Answer] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def answer(self, *answers: Answer) -> None:
        with self._lock:
            self.script.extend(answers)

    def _next(self, path: str) -> Answer:
        with self._lock:
            if self.script:
                return self.script.pop(0)
        if path.startswith("/api/"):
            return Answer(body=json.dumps({"ok": True, "ts": "1700000000.000100"}).encode())
        return Answer()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                fake.seen.append(
                    Seen("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                answer = fake._next(self.path)
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    yield fake
    fake.close()


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)  # every logger, httpx and httpcore too
    return caplog


def make_hold(**changes: Any) -> dict[str, Any]:
    now = time.time()
    hold: dict[str, Any] = {
        "hold_token": TOKEN,
        "hold_ref": REF,
        "tenant_id": "acme",
        "agent_id": "billing-bot",
        "session_id": "sess-1",
        "user_id": None,
        "tool_name": "send_email",
        "args_sha256": "ab" * 32,
        "reason": "mail needs approval",
        "rule_id": "mail-step-up",
        "status": "pending",
        "created_at": now,
        "expires_at": now + 300,
        "resolved_at": None,
        "approver": None,
        "resolution_reason": None,
        "redacted_args": json.dumps({"to": "ArgumentContentMarker"}),
        "decision_id": "dec-1",
    }
    hold.update(changes)
    return hold


def webhook_sender(slack: FakeSlack, **options: Any) -> SlackSender:
    return SlackSender(webhook_url=slack.url + WEBHOOK_PATH, backoff_seconds=0.01, **options)


def bot_sender(slack: FakeSlack, **options: Any) -> SlackSender:
    return SlackSender(
        bot_token=BOT_TOKEN, channel="C0123CHAN", api_base=slack.url + "/api", backoff_seconds=0.01, **options
    )


def assert_no_secret_logged(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        line = record.getMessage()
        for secret in (WEBHOOK_PATH, BOT_TOKEN, RESPONSE_PATH, TOKEN, "ArgumentContentMarker", "send_email"):
            assert secret not in line, (record.name, line)


# -- the posts ------------------------------------------------------------------------------------


async def test_a_webhook_post_has_slacks_shape(slack: FakeSlack, logs: pytest.LogCaptureFixture) -> None:
    sender = webhook_sender(slack)
    assert await sender.post_hold(make_hold(), "https://thoth.example/ui/holds/" + REF)
    await sender.aclose()
    (seen,) = slack.seen
    assert seen.path == WEBHOOK_PATH
    assert seen.headers["content-type"].startswith("application/json")
    body = seen.json()
    assert "Thoth approval needed" in body["text"]
    assert [block["type"] for block in body["blocks"]][-1] == "actions"
    assert body["unfurl_links"] is False
    assert TOKEN not in seen.body.decode()
    assert sender.counters() == {"sent": 1, "failed": 0, "retried": 0}
    assert_no_secret_logged(logs)


async def test_a_bot_post_names_the_channel_and_the_token(
    slack: FakeSlack, logs: pytest.LogCaptureFixture
) -> None:
    sender = bot_sender(slack)
    assert await sender.post_hold(make_hold(), None)
    await sender.aclose()
    (seen,) = slack.seen
    assert seen.path == "/api/chat.postMessage"
    assert seen.headers["authorization"] == f"Bearer {BOT_TOKEN}"
    body = seen.json()
    assert body["channel"] == "C0123CHAN"
    assert body["blocks"][-1]["elements"][0]["value"] == REF
    assert sender.counters()["sent"] == 1
    assert_no_secret_logged(logs)


async def test_hold_created_posts_in_the_background(slack: FakeSlack) -> None:
    sender = webhook_sender(slack)
    sender.hold_created(make_hold(), None)
    assert slack.seen == []  # nothing waited for Slack
    await sender.aclose()
    assert len(slack.seen) == 1
    assert sender.sent == 1


async def test_a_broken_hold_is_logged_not_raised(slack: FakeSlack, logs: pytest.LogCaptureFixture) -> None:
    sender = webhook_sender(slack)
    sender.hold_created(make_hold(expires_at="soon"), None)  # the message cannot be built
    await sender.aclose()
    assert slack.seen == []
    assert sender.failed == 1
    assert any(REF in record.getMessage() and "TypeError" in record.getMessage() for record in logs.records)


# -- retries --------------------------------------------------------------------------------------


async def test_a_5xx_and_a_429_are_retried_then_succeed(
    slack: FakeSlack, logs: pytest.LogCaptureFixture
) -> None:
    slack.answer(Answer(500, b"oops"), Answer(429, b"slow down", {"Retry-After": "0"}))
    sender = webhook_sender(slack)
    assert await sender.post_hold(make_hold(), None)
    await sender.aclose()
    assert len(slack.seen) == 3
    assert slack.seen[0].body == slack.seen[2].body
    assert sender.counters() == {"sent": 1, "failed": 0, "retried": 2}
    assert_no_secret_logged(logs)


async def test_retry_after_is_honoured(slack: FakeSlack) -> None:
    slack.answer(Answer(429, b"", {"Retry-After": "0.3"}))
    sender = webhook_sender(slack)
    started = time.monotonic()
    assert await sender.post_hold(make_hold(), None)
    await sender.aclose()
    assert time.monotonic() - started >= 0.3  # the backoff alone would wait at most 0.01 s


async def test_giving_up_counts_and_logs_no_secret(slack: FakeSlack, logs: pytest.LogCaptureFixture) -> None:
    slack.answer(*[Answer(503, b"down")] * 3)
    sender = bot_sender(slack, attempts=3)
    assert not await sender.post_hold(make_hold(), None)
    await sender.aclose()
    assert len(slack.seen) == 3
    assert sender.counters() == {"sent": 0, "failed": 1, "retried": 2}
    failures = [r.getMessage() for r in logs.records if r.name == "thoth.server.slack"]
    assert any("HTTP 503" in line and REF in line and "attempt 3 of 3" in line for line in failures)
    assert any("given up" in line for line in failures)
    assert_no_secret_logged(logs)


@pytest.mark.parametrize("status", [400, 403, 404, 410, 302])
async def test_a_4xx_is_not_retried(slack: FakeSlack, logs: pytest.LogCaptureFixture, status: int) -> None:
    slack.answer(Answer(status, b"invalid_token", {"Location": "http://127.0.0.1:1/"}))
    sender = webhook_sender(slack)
    assert not await sender.post_hold(make_hold(), None)
    await sender.aclose()
    assert len(slack.seen) == 1
    assert sender.counters() == {"sent": 0, "failed": 1, "retried": 0}
    assert_no_secret_logged(logs)


async def test_ok_false_is_a_failure_not_retried(slack: FakeSlack, logs: pytest.LogCaptureFixture) -> None:
    slack.answer(Answer(200, json.dumps({"ok": False, "error": "channel_not_found"}).encode()))
    sender = bot_sender(slack)
    assert not await sender.post_hold(make_hold(), None)
    await sender.aclose()
    assert len(slack.seen) == 1
    assert sender.counters() == {"sent": 0, "failed": 1, "retried": 0}
    assert any("channel_not_found" in record.getMessage() for record in logs.records)
    assert_no_secret_logged(logs)


@pytest.mark.parametrize("error", ["ratelimited", "internal_error", "service_unavailable"])
async def test_ok_false_for_a_passing_reason_is_retried(slack: FakeSlack, error: str) -> None:
    slack.answer(Answer(200, json.dumps({"ok": False, "error": error}).encode()))
    sender = bot_sender(slack)
    assert await sender.post_hold(make_hold(), None)
    await sender.aclose()
    assert len(slack.seen) == 2
    assert sender.counters() == {"sent": 1, "failed": 0, "retried": 1}


@pytest.mark.parametrize("body", [b"ok", b"<html>", json.dumps({"error": "x"}).encode(), b"[]"])
async def test_a_web_api_answer_must_say_ok(slack: FakeSlack, body: bytes) -> None:
    slack.answer(Answer(200, body))
    sender = bot_sender(slack)
    assert not await sender.post_hold(make_hold(), None)
    await sender.aclose()
    assert sender.failed == 1


async def test_transport_errors_are_retried_and_named_by_class(logs: pytest.LogCaptureFixture) -> None:
    closed = FakeSlack()
    closed.close()  # nothing listens on its port any more
    sender = webhook_sender(closed, attempts=2)
    assert not await sender.post_hold(make_hold(), None)
    await sender.aclose()
    assert sender.counters() == {"sent": 0, "failed": 1, "retried": 1}
    assert any("ConnectError" in record.getMessage() for record in logs.records)
    assert_no_secret_logged(logs)


# -- response_url updates -------------------------------------------------------------------------


async def test_an_update_replaces_the_message(slack: FakeSlack, logs: pytest.LogCaptureFixture) -> None:
    sender = webhook_sender(slack, response_hosts=LOOPBACK_HOSTS)
    message = outcome_message(make_hold(status="approved"), "Approved by slack:alice")
    assert await sender.update(slack.url + RESPONSE_PATH, message, hold_ref=REF)
    await sender.aclose()
    (seen,) = slack.seen
    assert seen.path == RESPONSE_PATH
    body = seen.json()
    assert body["replace_original"] is True
    assert "Approved by slack:alice" in json.dumps(body)
    assert all(block["type"] != "actions" for block in body["blocks"])
    assert sender.sent == 1
    assert_no_secret_logged(logs)


async def test_an_update_is_retried_like_a_post(slack: FakeSlack) -> None:
    slack.answer(Answer(502, b"bad gateway"))
    sender = webhook_sender(slack, response_hosts=LOOPBACK_HOSTS)
    assert await sender.update(
        slack.url + RESPONSE_PATH, outcome_message(make_hold(), "Denied"), hold_ref=REF
    )
    await sender.aclose()
    assert len(slack.seen) == 2
    assert sender.retried == 1


async def test_a_response_url_off_the_allowed_hosts_is_never_contacted(
    slack: FakeSlack, logs: pytest.LogCaptureFixture
) -> None:
    sender = webhook_sender(slack)  # the default hosts: hooks.slack.com only
    assert not await sender.update(
        slack.url + RESPONSE_PATH, outcome_message(make_hold(), "Denied"), hold_ref=REF
    )
    await sender.aclose()
    assert slack.seen == []
    assert sender.counters() == {"sent": 0, "failed": 1, "retried": 0}
    assert any("refused" in record.getMessage() and REF in record.getMessage() for record in logs.records)
    assert_no_secret_logged(logs)


# -- configuration --------------------------------------------------------------------------------


def test_the_repr_holds_no_secret(slack: FakeSlack) -> None:
    assert WEBHOOK_PATH not in repr(webhook_sender(slack))
    assert BOT_TOKEN not in repr(bot_sender(slack))
    assert "C0123CHAN" in repr(bot_sender(slack))


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"webhook_url": "https://hooks.slack.com/services/x", "bot_token": BOT_TOKEN, "channel": "C1"},
        {"bot_token": BOT_TOKEN},
        {"webhook_url": "https://hooks.slack.com/services/x", "attempts": 0},
    ],
)
def test_a_sender_needs_one_destination(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="SlackSender") as raised:
        SlackSender(**options)
    assert BOT_TOKEN not in str(raised.value)
