"""Wait for a human to resolve a step-up hold (``GET /v1/enforce/hold/{token}``).

Polls every ``step_up_poll_interval_seconds`` (or as the server's Retry-After
says) until the hold is approved or denied, or ``step_up_timeout_minutes``
pass: then the call is refused with reason ``"step-up auth timeout"``. A
transient failure while polling does not deny the call (the human may still
approve); a rejected key or an unknown hold does, at once. An enforcer that
stays unreachable (no answer at all, or 502/503/504) for
``step_up_unreachable_grace_seconds`` fails the call closed with
``enforcer_unreachable``, rather than waiting out the whole step-up timeout. The async path
sleeps with ``asyncio.sleep``, so the event loop keeps running and cancelling
the awaiting task stops the polling.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

import httpx

from thoth import _failures
from thoth._decisions import PENDING, HoldOutcome, normalize_hold_payload
from thoth._transport import Transport
from thoth._wire import GET_HOLD
from thoth.enforcer_client import transport_for
from thoth.errors import ReasonCode
from thoth.models import ThothConfig

__all__ = ["STEP_UP_TIMEOUT_REASON", "StepUpClient"]

logger = logging.getLogger("thoth.step_up")

STEP_UP_TIMEOUT_REASON = "step-up auth timeout"
_MIN_POLL = 0.01
_MAX_POLL = 60.0


class StepUpClient:
    """Polls step-up holds for one agent configuration."""

    def __init__(self, config: ThothConfig, *, transport: Transport | None = None) -> None:
        self._config = config
        self._transport = transport or transport_for(config)

    def __repr__(self) -> str:
        return f"StepUpClient(url={self._transport.base_url!r})"

    def _budget(self, timeout_seconds: float | None) -> float:
        budget = self._config.step_up_timeout_minutes * 60
        return min(budget, timeout_seconds) if timeout_seconds else budget

    def _delay(self, retry_after: float | None, deadline: float) -> float:
        wanted = retry_after if retry_after is not None else self._config.step_up_poll_interval_seconds
        return max(_MIN_POLL, min(wanted, _MAX_POLL, deadline - time.monotonic()))

    def wait(self, hold_token: str, *, timeout_seconds: float | None = None) -> HoldOutcome:
        """Block until the hold is resolved or the step-up timeout passes."""
        deadline = time.monotonic() + self._budget(timeout_seconds)
        url = GET_HOLD.url(hold_token=hold_token)
        client = self._transport.sync_client
        reach = _Reachability(self._config.step_up_unreachable_grace_seconds)
        while time.monotonic() < deadline:
            try:
                response = client.request(GET_HOLD.method, url)
                outcome, retry_after = _read(response)
                reach.answered(response.status_code)
            except httpx.HTTPError as exc:
                outcome, retry_after = _transient(exc), None
                reach.unanswered()
            if outcome is PENDING and reach.given_up():
                return _unreachable(hold_token, reach.grace)
            if outcome is not PENDING:
                return outcome
            time.sleep(self._delay(retry_after, min(deadline, reach.deadline)))
        return _timed_out(hold_token)

    async def await_decision(self, hold_token: str, *, timeout_seconds: float | None = None) -> HoldOutcome:
        """Async :meth:`wait`; cancel the awaiting task to stop polling."""
        deadline = time.monotonic() + self._budget(timeout_seconds)
        url = GET_HOLD.url(hold_token=hold_token)
        client = self._transport.async_client()
        reach = _Reachability(self._config.step_up_unreachable_grace_seconds)
        while time.monotonic() < deadline:
            try:
                response = await client.request(GET_HOLD.method, url)
                outcome, retry_after = _read(response)
                reach.answered(response.status_code)
            except httpx.HTTPError as exc:
                outcome, retry_after = _transient(exc), None
                reach.unanswered()
            if outcome is PENDING and reach.given_up():
                return _unreachable(hold_token, reach.grace)
            if outcome is not PENDING:
                return outcome
            await asyncio.sleep(self._delay(retry_after, min(deadline, reach.deadline)))
        return _timed_out(hold_token)


class _Reachability:
    """How long the enforcer has been out of reach while a hold waits (pure bookkeeping)."""

    __slots__ = ("grace", "since")

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self.since: float | None = None

    @property
    def deadline(self) -> float:
        """When polling gives up if the enforcer stays unreachable (infinity while it answers)."""
        return float("inf") if self.since is None else self.since + self.grace

    def answered(self, status: int) -> None:
        if status in _failures.GATEWAY_STATUSES:  # a gateway saying the enforcer is not there
            self.unanswered()
        else:
            self.since = None

    def unanswered(self) -> None:
        if self.since is None:
            self.since = time.monotonic()

    def given_up(self) -> bool:
        return time.monotonic() >= self.deadline


def _read(response: httpx.Response) -> tuple[HoldOutcome, float | None]:
    retry_after = _failures.retry_after_seconds(response.headers)
    status = response.status_code
    if status == 200:
        try:
            return normalize_hold_payload(json.loads(response.content)), retry_after
        except (ValueError, UnicodeDecodeError):
            return HoldOutcome(False, "hold status was not JSON", ReasonCode.MALFORMED_RESPONSE), None
    failure = _failures.from_status(status, response.headers, response.content)
    if status == 404:
        return HoldOutcome(
            False, "the enforcer does not know this hold (HTTP 404)", ReasonCode.STEP_UP_DENIED
        ), None
    if failure.reason_code in (ReasonCode.AUTH_REJECTED, ReasonCode.REQUEST_REJECTED):
        return HoldOutcome(False, failure.reason, failure.reason_code), None
    logger.warning("thoth: hold poll failed, will retry: %s", failure.reason)
    return PENDING, retry_after


def _transient(exc: httpx.HTTPError) -> HoldOutcome:
    logger.warning("thoth: hold poll failed, will retry: %s", _failures.from_exception(exc).reason)
    return PENDING


def _unreachable(hold_token: str, grace: float) -> HoldOutcome:
    logger.warning("thoth: enforcer unreachable for %gs while hold %s... was pending", grace, hold_token[:8])
    return HoldOutcome(
        False,
        f"the enforcer became unreachable while the call waited for approval (no answer for {grace:g}s); "
        "the call was refused, and the hold may still be pending on the enforcer",
        ReasonCode.ENFORCER_UNREACHABLE,
    )


def _timed_out(hold_token: str) -> HoldOutcome:
    logger.warning("thoth: step-up approval timed out for hold %s...", hold_token[:8])
    return HoldOutcome(False, STEP_UP_TIMEOUT_REASON, ReasonCode.STEP_UP_TIMEOUT)
