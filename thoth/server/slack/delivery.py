"""Posting holds to Slack, and replacing a clicked message, with retries (I/O).

One :class:`SlackSender` posts either to an incoming webhook or, with a bot token, through
``chat.postMessage`` to one channel. A post that fails for a reason that may pass (HTTP 429
with its ``Retry-After``, a 5xx, a transport error, Slack's ``ratelimited``) is retried with
exponential backoff (:class:`thoth._retry.Backoff`); any other failure ends it at once.

The webhook URL, the bot token and every ``response_url`` are credentials, and a message holds
an agent's arguments: none of them is logged. A failure's log line names the hold's ref, the
attempt and the HTTP status or the exception's class. httpx logs each request's URL at INFO,
so its logger is set to WARNING here unless someone has configured it already.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
from collections.abc import Mapping
from typing import Any, Final

import attrs
import httpx

from thoth._retry import Backoff
from thoth.server import holds
from thoth.server.slack.actions import DEFAULT_RESPONSE_HOSTS, response_url_allowed
from thoth.server.slack.messages import hold_message

__all__ = ["DEFAULT_API_BASE", "RETRY_AFTER_CAP_SECONDS", "SlackSender"]

log = logging.getLogger("thoth.server.slack")
if logging.getLogger("httpx").level == logging.NOTSET:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its INFO line carries the URL

DEFAULT_API_BASE: Final = "https://slack.com/api"
RETRY_AFTER_CAP_SECONDS: Final = 30.0
CLOSE_WAIT_SECONDS: Final = 5.0
#: chat.postMessage errors worth another attempt; the rest (channel_not_found, invalid_auth...) are not
RETRYABLE_API_ERRORS: Final = frozenset({"ratelimited", "internal_error", "service_unavailable"})
_ERROR_CODE: Final = re.compile(r"[a-z_]{1,64}")
_REF: Final = re.compile(r"[0-9a-f]{20}")
# Slack would unfurl a link an agent put in its arguments: fetch it and preview it in the channel.
_NO_UNFURL: Final = {"unfurl_links": False, "unfurl_media": False}


@attrs.frozen
class _Verdict:
    """What one attempt came to."""

    ok: bool
    retry: bool = False
    problem: str = ""  # for the log: a status, an exception class or a Slack error code, no content
    retry_after: float | None = None


class SlackSender:
    """Posts hold messages to one Slack destination and updates clicked messages.

    Give ``webhook_url``, or ``bot_token`` and ``channel``. ``response_hosts``: the hosts a
    ``response_url`` may name (:func:`.actions.response_url_allowed`).
    """

    def __init__(
        self,
        *,
        webhook_url: str | None = None,
        bot_token: str | None = None,
        channel: str | None = None,
        api_base: str = DEFAULT_API_BASE,
        attempts: int = 4,
        backoff_seconds: float = 0.5,
        response_hosts: frozenset[str] = DEFAULT_RESPONSE_HOSTS,
    ) -> None:
        if bool(webhook_url) == bool(bot_token) or (bot_token and not channel):
            raise ValueError("SlackSender needs a webhook URL, or a bot token and a channel (not both)")
        if attempts < 1:
            raise ValueError("SlackSender needs at least one attempt")
        self._webhook_url = webhook_url
        self._bot_token = bot_token
        self._channel = channel
        self._api_base = api_base.rstrip("/")
        self._attempts = attempts
        self._backoff = Backoff(
            base=backoff_seconds,
            cap=RETRY_AFTER_CAP_SECONDS,
            max_retries=attempts - 1,
            retry_after_cap=RETRY_AFTER_CAP_SECONDS,
        )
        self._response_hosts = response_hosts
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[bool]] = set()
        self.sent = 0
        self.failed = 0
        self.retried = 0

    def __repr__(self) -> str:  # never the webhook URL or the token
        mode = "webhook" if self._webhook_url else f"bot channel={self._channel!r}"
        return f"SlackSender({mode}, sent={self.sent}, failed={self.failed}, retried={self.retried})"

    def counters(self) -> dict[str, int]:
        return {"sent": self.sent, "failed": self.failed, "retried": self.retried}

    # -- posting a hold ---------------------------------------------------------------------------

    def hold_created(self, hold: Mapping[str, Any], approval_url: str | None) -> None:
        """Post the hold's message in the background: creating a hold never waits for Slack."""
        task = asyncio.get_running_loop().create_task(self._post_quietly(dict(hold), approval_url))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _post_quietly(self, hold: Mapping[str, Any], approval_url: str | None) -> bool:
        """post_hold, with any error logged (by class) rather than left in an unawaited task."""
        try:
            return await self.post_hold(hold, approval_url)
        except Exception as exc:  # noqa: BLE001 - a background task has no caller to raise to
            self.failed += 1
            log.error("slack hold message not posted (hold %s): %s", _ref_of(hold), type(exc).__name__)
            return False

    async def post_hold(self, hold: Mapping[str, Any], approval_url: str | None) -> bool:
        """Post the hold's message, retrying as the module says; True once Slack took it."""
        message = {**hold_message(hold, approval_url), **_NO_UNFURL}
        ref = _ref_of(hold)
        if self._bot_token is not None:
            url = f"{self._api_base}/chat.postMessage"
            headers = {"Authorization": f"Bearer {self._bot_token}"}
            return await self._deliver(url, {"channel": self._channel, **message}, headers, True, ref)
        assert self._webhook_url is not None
        return await self._deliver(self._webhook_url, message, {}, False, ref)

    # -- replacing a clicked message --------------------------------------------------------------

    async def update(
        self, response_url: str, message: Mapping[str, Any], *, hold_ref: str | None = None
    ) -> bool:
        """Post ``message`` to a click's ``response_url`` (same retries), if it names an allowed
        host; one that does not is never contacted. ``hold_ref`` only names the hold in logs."""
        ref = _safe_ref(hold_ref)
        if not response_url_allowed(response_url, self._response_hosts):
            self.failed += 1
            log.warning("slack response_url refused (hold %s): not an allowed https host", ref)
            return False
        return await self._deliver(response_url, dict(message), {}, False, ref)

    # -- the retry loop ---------------------------------------------------------------------------

    async def _deliver(
        self, url: str, payload: Mapping[str, Any], headers: Mapping[str, str], api: bool, ref: str
    ) -> bool:
        body = json.dumps(payload).encode("ascii")  # ASCII escapes: no encoding can fail
        for attempt in range(1, self._attempts + 1):
            verdict = await self._attempt(url, body, headers, api)
            if verdict.ok:
                self.sent += 1
                return True
            log.warning(
                "slack post failed (hold %s, attempt %d of %d): %s",
                ref,
                attempt,
                self._attempts,
                verdict.problem,
            )
            wait = self._next_wait(verdict, attempt)
            if wait is None:
                break
            self.retried += 1
            await asyncio.sleep(wait)
        self.failed += 1
        log.error("slack post given up (hold %s)", ref)
        return False

    def _next_wait(self, verdict: _Verdict, attempt: int) -> float | None:
        """Seconds before the next attempt, or None when there is none to make."""
        if not verdict.retry:
            return None
        return self._backoff.delay(attempt - 1, retry_after=verdict.retry_after)

    async def _attempt(self, url: str, body: bytes, headers: Mapping[str, str], api: bool) -> _Verdict:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(5.0, connect=2.0), follow_redirects=False)
        try:
            response = await self._client.post(
                url, content=body, headers={"Content-Type": "application/json; charset=utf-8", **headers}
            )
        except httpx.HTTPError as exc:  # its message may quote the URL: only its class is told
            return _Verdict(ok=False, retry=True, problem=type(exc).__name__)
        return judge(response, api=api)

    async def aclose(self) -> None:
        """Let pending posts finish (up to 5 s), cancel the rest, close the client."""
        if self._tasks:
            _, late = await asyncio.wait(set(self._tasks), timeout=CLOSE_WAIT_SECONDS)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def judge(response: httpx.Response, *, api: bool) -> _Verdict:
    """Success, a failure worth retrying, or one that is not. ``api``: a Web API answer, which
    must say ``"ok": true`` (a webhook answers ``ok`` as text)."""
    status = response.status_code
    if status == 429:
        return _Verdict(ok=False, retry=True, problem="HTTP 429", retry_after=retry_after(response))
    if status >= 500:
        return _Verdict(ok=False, retry=True, problem=f"HTTP {status}")
    if not 200 <= status < 300:
        return _Verdict(ok=False, problem=f"HTTP {status}")  # redirects are not followed either
    if not api:
        return _Verdict(ok=True)
    return _api_verdict(response)


def _api_verdict(response: httpx.Response) -> _Verdict:
    try:
        answer = response.json()
    except ValueError:
        return _Verdict(ok=False, problem="answer is not JSON")
    if isinstance(answer, dict) and answer.get("ok") is True:
        return _Verdict(ok=True)
    error = answer.get("error") if isinstance(answer, dict) else None
    code = error if isinstance(error, str) and _ERROR_CODE.fullmatch(error) else "unknown"
    retry = code in RETRYABLE_API_ERRORS
    wait = retry_after(response) if retry else None
    return _Verdict(ok=False, retry=retry, problem=f"slack error {code}", retry_after=wait)


def retry_after(response: httpx.Response) -> float | None:
    """The ``Retry-After`` seconds of a response, when it gives a sensible number."""
    text = response.headers.get("Retry-After", "").strip()
    try:
        seconds = float(text)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _ref_of(hold: Mapping[str, Any]) -> str:
    ref = hold.get("hold_ref")
    if not ref and isinstance(hold.get("hold_token"), str):
        ref = holds.ref_of(hold["hold_token"])
    return _safe_ref(ref)


def _safe_ref(ref: object) -> str:
    """The ref as a log may show it: 20 hex digits, or ``unknown``."""
    return ref if isinstance(ref, str) and _REF.fullmatch(ref) else "unknown"
