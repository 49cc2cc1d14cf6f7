"""Every way the enforcer can fail blocks the call, sync and async, and says which it was."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests._contract import ContractAPI, Reply, allow, error
from thoth.errors import ReasonCode, ThothPolicyViolation, refusal_text
from thoth.tracer import Tracer

_DNS = httpx.ConnectError("[Errno -2] Name or service not known")
_DNS.__cause__ = socket.gaierror(-2, "Name or service not known")

FAILURES: dict[str, tuple[list[Reply], str]] = {
    "connection refused": (
        [Reply(raises=httpx.ConnectError("[Errno 111] Connection refused"))],
        ReasonCode.ENFORCER_UNREACHABLE,
    ),
    "dns failure": ([Reply(raises=_DNS)], ReasonCode.ENFORCER_UNREACHABLE),
    "connect timeout": ([Reply(raises=httpx.ConnectTimeout("timed out"))], ReasonCode.ENFORCER_TIMEOUT),
    "read timeout": ([Reply(raises=httpx.ReadTimeout("timed out"))], ReasonCode.ENFORCER_TIMEOUT),
    "http 500": ([error(500, "internal_error", "boom")], ReasonCode.ENFORCER_ERROR),
    "http 503 every time": ([error(503, "unavailable", "down")], ReasonCode.ENFORCER_ERROR),
    "http 429 without retry-after": ([error(429, "rate_limited", "slow down")], ReasonCode.RATE_LIMITED),
    "http 401": ([error(401, "unauthorized", "bad key")], ReasonCode.AUTH_REJECTED),
    "http 403": ([error(403, "forbidden", "no")], ReasonCode.AUTH_REJECTED),
    "http 422": ([error(422, "validation_error", "tool_name is required")], ReasonCode.REQUEST_REJECTED),
    "http 413": ([error(413, "payload_too_large", "too big")], ReasonCode.REQUEST_REJECTED),
    "body not json": ([Reply(content=b"<html>ok</html>", conforms=False)], ReasonCode.MALFORMED_RESPONSE),
    "json array": ([Reply(json=["ALLOW"], conforms=False)], ReasonCode.MALFORMED_RESPONSE),
    "missing decision": ([Reply(json={"reason": "fine"})], ReasonCode.UNKNOWN_DECISION),
    "unknown decision": ([Reply(json={"decision": "MAYBE"})], ReasonCode.UNKNOWN_DECISION),
    "non-string decision": ([Reply(json={"decision": 1}, conforms=False)], ReasonCode.UNKNOWN_DECISION),
    "step-up without hold token": ([Reply(json={"decision": "STEP_UP"})], ReasonCode.MISSING_HOLD_TOKEN),
    "modify without args": ([Reply(json={"decision": "MODIFY"})], ReasonCode.MALFORMED_RESPONSE),
    "unexpected 204": ([Reply(status=204, content=b"", conforms=False)], ReasonCode.MALFORMED_RESPONSE),
}


def _tool(ran: list[Any]) -> Callable[[str], str]:
    def read_file(path: str) -> str:
        ran.append(path)
        return "contents"

    return read_file


def _async_tool(ran: list[Any]) -> Callable[[str], Any]:
    async def read_file(path: str) -> str:
        ran.append(path)
        return "contents"

    return read_file


@pytest.mark.parametrize("name", list(FAILURES))
def test_sync_failure_blocks_and_names_the_cause(
    name: str, api: ContractAPI, make_tracer: Callable[..., Tracer], caplog: pytest.LogCaptureFixture
) -> None:
    replies, code = FAILURES[name]
    api.on_enforce(*replies)
    ran: list[Any] = []
    governed = make_tracer().wrap_tool("read_file", _tool(ran))
    with pytest.raises(ThothPolicyViolation) as info:
        governed("/etc/passwd")
    assert ran == [], "the tool body ran although the enforcer failed"
    assert info.value.reason_code == code
    assert info.value.decision == "BLOCK"
    assert info.value.failed_closed, "an enforcer failure must not read like a policy block"
    assert "failed closed, no policy decision" in str(info.value)
    assert "failed closed; no policy refused it" in refusal_text(info.value)
    if code != ReasonCode.POLICY_BLOCK:
        assert any("fail closed" in r.getMessage() for r in caplog.records if r.levelname == "WARNING")


@pytest.mark.parametrize("name", list(FAILURES))
async def test_async_failure_blocks_and_names_the_cause(
    name: str, api: ContractAPI, make_tracer: Callable[..., Tracer]
) -> None:
    replies, code = FAILURES[name]
    api.on_enforce(*replies)
    ran: list[Any] = []
    governed = make_tracer().wrap_tool("read_file", _async_tool(ran))
    with pytest.raises(ThothPolicyViolation) as info:
        await governed("/etc/passwd")
    assert ran == []
    assert info.value.reason_code == code


def test_a_policy_block_does_not_read_like_a_failure(
    api: ContractAPI, make_tracer: Callable[..., Tracer]
) -> None:
    api.on_enforce(
        Reply(json={"decision": "BLOCK", "reason": "outside scope", "decision_reason_code": "policy_block"})
    )
    with pytest.raises(ThothPolicyViolation) as info:
        make_tracer().authorize("read_file", {"path": "a"})
    assert not info.value.failed_closed
    assert str(info.value) == "Thoth blocked tool 'read_file': outside scope"
    assert "failed closed" not in refusal_text(info.value)


def test_rejected_key_does_not_read_like_an_outage(
    api: ContractAPI, make_tracer: Callable[..., Tracer]
) -> None:
    api.on_enforce(error(401, "unauthorized", "missing or invalid API key"))
    with pytest.raises(ThothPolicyViolation) as info:
        make_tracer().authorize("read_file", {"path": "a"})
    assert "API key" in info.value.reason and "unreachable" not in info.value.reason


@pytest.mark.parametrize(
    "first",
    [
        Reply(raises=httpx.ConnectError("[Errno 111] Connection refused")),
        Reply(raises=httpx.RemoteProtocolError("Server disconnected without sending a response.")),
        error(502, "bad_gateway", "proxy", conforms=False),  # from a proxy in front of the enforcer
        error(503, "unavailable", "restarting"),
        error(504, "timeout", "upstream", conforms=False),
        Reply(429, json={"code": "rate_limited", "message": "slow"}, headers={"Retry-After": "0"}),
    ],
    ids=["refused", "reset", "502", "503", "504", "429-retry-after"],
)
def test_transient_failure_is_retried_then_allowed(
    first: Reply, api: ContractAPI, make_tracer: Callable[..., Tracer]
) -> None:
    api.on_enforce(first, allow())
    ran: list[Any] = []
    assert make_tracer().wrap_tool("read_file", _tool(ran))("a") == "contents"
    assert ran == ["a"]
    assert len(api.enforce_bodies()) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413, 422])
def test_no_retry_on_other_4xx(status: int, api: ContractAPI, make_tracer: Callable[..., Tracer]) -> None:
    api.on_enforce(error(status, conforms=status not in (404, 409)), allow())
    with pytest.raises(ThothPolicyViolation):
        make_tracer().authorize("read_file", {"path": "a"})
    assert len(api.enforce_bodies()) == 1


def test_retries_are_bounded(api: ContractAPI, make_tracer: Callable[..., Tracer]) -> None:
    api.on_enforce(error(503))
    with pytest.raises(ThothPolicyViolation):
        make_tracer(max_retries=3).authorize("read_file", {"path": "a"})
    assert len(api.enforce_bodies()) == 4


def test_retry_after_beyond_the_deadline_is_not_waited_for(
    api: ContractAPI, make_tracer: Callable[..., Tracer]
) -> None:
    api.on_enforce(
        Reply(429, json={"code": "rate_limited", "message": "slow"}, headers={"Retry-After": "60"}), allow()
    )
    with pytest.raises(ThothPolicyViolation) as info:
        make_tracer(decision_timeout_seconds=0.5).authorize("read_file", {"path": "a"})
    assert info.value.reason_code == ReasonCode.RATE_LIMITED
    assert len(api.enforce_bodies()) == 1


def test_decision_deadline_bounds_a_slow_enforcer(
    api: ContractAPI, make_tracer: Callable[..., Tracer]
) -> None:
    api.on_enforce(Reply(raises=httpx.ConnectError("refused")))
    tracer = make_tracer(decision_timeout_seconds=0.3, max_retries=10)
    started = time.monotonic()
    with pytest.raises(ThothPolicyViolation):
        tracer.authorize("read_file", {"path": "a"})
    # Ten jittered retries (50 ms doubling, 1 s cap) take ~3 s unbounded; the deadline stops them.
    assert time.monotonic() - started < 1.2
    assert len(api.enforce_bodies()) >= 2
