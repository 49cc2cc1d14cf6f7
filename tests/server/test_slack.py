"""Slack approvals end to end: a real ``thoth serve`` posts each new hold to a fake Slack on
127.0.0.1 (it speaks the incoming-webhook and response_url wire format), and clicks come back
signed as Slack signs them to ``POST /integrations/slack/actions``."""

from __future__ import annotations

import http.server
import json
import secrets
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import ThothServer
from thoth.server.slack import MAX_SKEW_SECONDS, sign

#: past the allowed skew by more than the whole-second truncation and a slow request can take back
OUTSIDE_SKEW = MAX_SKEW_SECONDS + 60

pytestmark = pytest.mark.e2e

SECRET = "slack-signing-" + secrets.token_hex(8)


class FakeSlack:
    """Takes webhook and response_url posts (JSON), as Slack does, and keeps them."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = json.loads(self.rfile.read(length))
                with fake.lock:
                    fake.posts.append((self.path, body))
                self.send_response(200)
                self.send_header("content-type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_args: Any) -> None:
                return

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def wait(self, path_prefix: str, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                found = [body for path, body in self.posts if path.startswith(path_prefix)]
            if len(found) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError(f"{count} posts to {path_prefix} expected, got {self.posts}")

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    yield fake
    fake.close()


@pytest.fixture
def slack_server(
    make_thoth_server: Callable[..., ThothServer], fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., ThothServer]:
    def make(*extra: str) -> ThothServer:
        monkeypatch.setenv("THOTH_SLACK_WEBHOOK_URL", f"{fake_slack.url}/hook/T0/B0/{secrets.token_hex(8)}")
        monkeypatch.setenv("THOTH_SLACK_SIGNING_SECRET", SECRET)
        monkeypatch.setenv("THOTH_SLACK_RESPONSE_HOSTS", "127.0.0.1")
        return make_thoth_server(extra_args=["--public-url", "https://thoth.example.com", *extra])

    return make


def held(server: ThothServer, **args: Any) -> dict[str, Any]:
    answer = server.enforce(
        tool_name="issue_refund",
        session_id=f"slack-{uuid.uuid4()}",
        enforcement_mode="step_up",
        tool_args=args or {"amount": 2500},
    )
    assert answer["decision"] == "STEP_UP"
    return answer


def click(
    server: ThothServer,
    fake: FakeSlack,
    ref: str,
    action: str = "thoth_approve",
    user: str = "U1",
    username: str = "alice",
    *,
    secret: str = SECRET,
    age: float = 0.0,
    body: bytes | None = None,
) -> httpx.Response:
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": username, "team_id": "T0"},
        "team": {"id": "T0"},
        "actions": [{"action_id": action, "block_id": "thoth_hold", "value": ref, "type": "button"}],
        "response_url": f"{fake.url}/response/{uuid.uuid4().hex}",
    }
    raw = body if body is not None else urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    timestamp = str(int(time.time() - age))
    return send(server, raw, timestamp, sign(secret.encode(), timestamp, raw))


def send(server: ThothServer, raw: bytes, timestamp: str, signature: str) -> httpx.Response:
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": timestamp,
        "x-slack-signature": signature,
    }
    return httpx.post(f"{server.url}/integrations/slack/actions", content=raw, headers=headers, timeout=10)


def hold_status(server: ThothServer, token: str) -> dict[str, Any]:
    [hold] = [h for h in server.holds() if h["hold_token"] == token]
    return hold


def test_a_new_hold_is_posted_with_buttons_naming_its_ref_never_its_token(
    slack_server: Callable[..., ThothServer], fake_slack: FakeSlack
) -> None:
    server = slack_server()
    answer = held(server, amount=2500, note="<!channel> *bold* & <https://evil|click>")
    [message] = fake_slack.wait("/hook/")
    assert answer["hold_token"] not in json.dumps(message)
    [actions] = [block for block in message["blocks"] if block["type"] == "actions"]
    buttons = {element["action_id"]: element for element in actions["elements"]}
    assert buttons["thoth_approve"]["value"] == buttons["thoth_deny"]["value"] == answer["hold_ref"]
    assert buttons["thoth_open"]["url"] == answer["approval_url"]
    text = json.dumps(message)
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text and "&amp;" in text
    assert "issue_refund" in message["text"]


def test_a_signed_click_resolves_the_hold_as_the_slack_user_and_updates_the_message(
    slack_server: Callable[..., ThothServer], fake_slack: FakeSlack
) -> None:
    server = slack_server()
    answer = held(server)
    fake_slack.wait("/hook/")
    clicked = click(server, fake_slack, answer["hold_ref"])
    assert clicked.status_code == 200, clicked.text
    assert clicked.json()["resolved"] is True
    hold = hold_status(server, answer["hold_token"])
    assert (hold["status"], hold["approver"]) == ("approved", "slack:alice")
    [update] = fake_slack.wait("/response/")
    assert update["replace_original"] is True
    assert "Approved by slack:alice" in update["text"]
    assert not [block for block in update["blocks"] if block["type"] == "actions"]  # no button to click again
    with server.client() as agent:
        poll = agent.get(f"/v1/enforce/hold/{answer['hold_token']}").json()
    assert poll["decision"] == "ALLOW" and poll["approver"] == "slack:alice"
    log = server.log()
    assert SECRET not in log and "/response/" not in log and "/hook/" not in log


def test_deny_from_slack_refuses_the_agent(
    slack_server: Callable[..., ThothServer], fake_slack: FakeSlack
) -> None:
    server = slack_server()
    answer = held(server)
    assert click(server, fake_slack, answer["hold_ref"], "thoth_deny", "U2", "bob").status_code == 200
    with server.client() as agent:
        poll = agent.get(f"/v1/enforce/hold/{answer['hold_token']}").json()
    assert poll["decision"] == "BLOCK" and poll["approver"] == "slack:bob"


def test_forged_stale_replayed_and_unknown_clicks_change_nothing(
    slack_server: Callable[..., ThothServer], fake_slack: FakeSlack
) -> None:
    server = slack_server()
    answer = held(server)
    ref = answer["hold_ref"]
    assert click(server, fake_slack, ref, secret="not-the-secret").status_code == 401
    stale = click(server, fake_slack, ref, age=OUTSIDE_SKEW)
    assert stale.status_code == 401 and "timestamp" in stale.json()["text"]
    assert click(server, fake_slack, ref, age=-OUTSIDE_SKEW).status_code == 401
    raw = urllib.parse.urlencode({"payload": "{}"}).encode()
    assert send(server, raw, str(int(time.time())), "v0=" + "0" * 64).status_code == 401
    assert hold_status(server, answer["hold_token"])["status"] == "pending"
    assert click(server, fake_slack, "0" * 20).status_code == 404
    timestamp = str(int(time.time()))
    payload = {
        "type": "block_actions",
        "user": {"id": "U1", "username": "alice"},
        "team": {"id": "T0"},
        "actions": [{"action_id": "thoth_deny", "value": ref}],
        "response_url": f"{fake_slack.url}/response/replay",
    }
    body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    signature = sign(SECRET.encode(), timestamp, body)
    assert send(server, body, timestamp, signature).status_code == 200
    replay = send(server, body, timestamp, signature)
    assert replay.status_code == 409
    assert hold_status(server, answer["hold_token"])["status"] == "denied"
    assert click(server, fake_slack, ref, body=b"payload=not-json").status_code == 400


def test_a_second_click_tells_the_clicker_who_resolved_it(
    slack_server: Callable[..., ThothServer], fake_slack: FakeSlack
) -> None:
    server = slack_server()
    answer = held(server)
    assert click(server, fake_slack, answer["hold_ref"]).status_code == 200
    late = click(server, fake_slack, answer["hold_ref"], "thoth_deny", "U2", "bob")
    assert late.status_code == 200 and late.json()["resolved"] is False
    assert "already approved by slack:alice" in late.json()["text"]
    updates = fake_slack.wait("/response/", 2)
    assert any("already approved by slack:alice" in update["text"] for update in updates)
    assert hold_status(server, answer["hold_token"])["approver"] == "slack:alice"


def test_only_users_on_the_allow_list_may_approve(
    slack_server: Callable[..., ThothServer], fake_slack: FakeSlack
) -> None:
    server = slack_server("--slack-allowed-users", "U9,carol")
    answer = held(server)
    refused = click(server, fake_slack, answer["hold_ref"], user="U1", username="alice")
    assert refused.status_code == 403
    assert hold_status(server, answer["hold_token"])["status"] == "pending"
    assert click(server, fake_slack, answer["hold_ref"], user="U5", username="carol").status_code == 200
    assert hold_status(server, answer["hold_token"])["approver"] == "slack:carol"


def test_slack_without_its_signing_secret_fails_at_start_and_names_what_to_set(tmp_path: Any) -> None:
    env = {"PATH": "/usr/bin:/bin", "THOTH_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/sekrit"}
    started = subprocess.run(
        [
            sys.executable,
            "-m",
            "thoth.cli",
            "serve",
            "--port",
            "1",
            "--db",
            f"sqlite:///{tmp_path}/t.db",
            "--insecure-dev",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
    )
    assert started.returncode == 2
    assert "THOTH_SLACK_SIGNING_SECRET" in started.stderr and "sekrit" not in started.stderr
    no_route = subprocess.run(
        [
            sys.executable,
            "-m",
            "thoth.cli",
            "serve",
            "--port",
            "1",
            "--db",
            f"sqlite:///{tmp_path}/t.db",
            "--insecure-dev",
            "--slack-bot-token-file",
            str(tmp_path / "missing"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
    )
    assert no_route.returncode == 2 and "--slack-bot-token-file: cannot read" in no_route.stderr
