"""ALLOW, BLOCK, STEP_UP, MODIFY, DEFER and observe, through wrap_tool and authorize."""

from __future__ import annotations

import asyncio
import inspect
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import thoth
from tests._contract import ContractAPI, Reply, error
from thoth.errors import ReasonCode, ThothPolicyViolation
from thoth.tracer import Tracer

HOLD = "hold_token_0001"


def pending() -> Reply:
    return Reply(json={"hold_token": HOLD, "resolved": False, "resolution": None})


def resolved(resolution: str, reason: str = "by carol") -> Reply:
    return Reply(json={"hold_token": HOLD, "resolved": True, "resolution": resolution, "reason": reason})


def step_up() -> Reply:
    return Reply(json={"decision": "STEP_UP", "hold_token": HOLD, "reason": "needs approval"})


def send_email(to: str, subject: str, body: str = "") -> dict[str, str]:
    """Send an email."""
    return {"to": to, "subject": subject, "body": body}


async def asend_email(to: str, subject: str, body: str = "") -> dict[str, str]:
    """Send an email, asynchronously."""
    await asyncio.sleep(0)
    return {"to": to, "subject": subject, "body": body}


def test_allow_sends_a_conforming_request_with_both_auth_headers(
    api: ContractAPI, make_tracer: Callable[..., Tracer]
) -> None:
    tracer = make_tracer()
    assert tracer.wrap_tool("send_email", send_email)("bob@acme.com", subject="hi") == {
        "to": "bob@acme.com",
        "subject": "hi",
        "body": "",
    }
    request = api.calls("/v1/enforce")[0]
    assert request.headers["x-api-key"] == request.headers["authorization"].removeprefix("Bearer ")
    assert request.headers["user-agent"].startswith(f"thoth-sdk/{thoth.__version__}")
    body = json.loads(request.content)
    assert body["tool_name"] == "send_email"
    assert body["tool_args"] == {"to": "bob@acme.com", "subject": "hi"}
    assert body["session_tool_calls"] == ["send_email"]
    assert body["enforcement_mode"] == "block"
    assert body["enforcement_trace_id"] == tracer.session.session_id


def test_session_tool_calls_accumulate(api: ContractAPI, make_tracer: Callable[..., Tracer]) -> None:
    governed = make_tracer().wrap_tool("send_email", send_email)
    governed("a", "b")
    governed("c", "d")
    assert [b["session_tool_calls"] for b in api.enforce_bodies()] == [
        ["send_email"],
        ["send_email", "send_email"],
    ]


def test_wrap_tool_keeps_identity_and_kind(api: ContractAPI, make_tracer: Callable[..., Tracer]) -> None:
    tracer = make_tracer()
    sync_governed = tracer.wrap_tool("send_email", send_email)
    async_governed = tracer.wrap_tool("send_email", asend_email)
    assert sync_governed.__name__ == "send_email" and sync_governed.__doc__ == "Send an email."
    assert inspect.signature(sync_governed) == inspect.signature(send_email)
    assert not inspect.iscoroutinefunction(sync_governed)
    assert inspect.iscoroutinefunction(async_governed)
    assert inspect.signature(async_governed) == inspect.signature(asend_email)


def test_instrumenting_twice_does_not_wrap_twice(
    api: ContractAPI, make_tracer: Callable[..., Tracer]
) -> None:
    first, second = make_tracer(), make_tracer()
    once = first.wrap_tool("send_email", send_email)
    assert first.wrap_tool("send_email", once) is once
    regoverned = second.wrap_tool("send_email", once)
    regoverned("a", "b")
    assert len(api.enforce_bodies()) == 1  # one check per call, by the newest tracer
    assert api.enforce_bodies()[0]["session_id"] == second.session.session_id


@pytest.mark.parametrize("alias", ["BLOCK", "DENY", "deny", " Block "])
def test_block_aliases(alias: str, api: ContractAPI, make_tracer: Callable[..., Tracer]) -> None:
    api.on_enforce(
        Reply(
            json={
                "decision": alias,
                "reason": "not allowed",
                "violation_id": "vio_1",
                "decision_reason_code": "OUT_OF_SCOPE",
            }
        )
    )
    ran: list[str] = []
    with pytest.raises(ThothPolicyViolation) as info:
        make_tracer().wrap_tool("send_email", lambda to: ran.append(to))("x")
    assert ran == []
    assert (info.value.tool_name, info.value.reason, info.value.violation_id) == (
        "send_email",
        "not allowed",
        "vio_1",
    )
    assert info.value.reason_code == "OUT_OF_SCOPE"


def test_authorization_decision_and_camel_case_are_read(
    api: ContractAPI, make_tracer: Callable[..., Tracer]
) -> None:
    api.on_enforce(Reply(json={"authorization_decision": "DENY", "decisionReasonCode": "RISK"}))
    with pytest.raises(ThothPolicyViolation) as info:
        make_tracer().authorize("send_email", {})
    assert info.value.reason_code == "RISK"


@pytest.mark.parametrize("alias", ["STEP_UP", "CHALLENGE", "ESCALATE", "REVIEW"])
def test_step_up_approved_runs_the_tool(
    alias: str, api: ContractAPI, make_tracer: Callable[..., Tracer]
) -> None:
    api.on_enforce(Reply(json={"decision": alias, "hold_token": HOLD}))
    api.on_hold(pending(), pending(), resolved("ALLOW"))
    assert make_tracer().wrap_tool("send_email", send_email)("a", "b")["to"] == "a"
    assert len(api.calls("/v1/enforce/hold/")) == 3


def test_step_up_denied_raises(api: ContractAPI, make_tracer: Callable[..., Tracer]) -> None:
    api.on_enforce(step_up())
    api.on_hold(pending(), resolved("BLOCK", "not today"))
    ran: list[str] = []
    with pytest.raises(ThothPolicyViolation) as info:
        make_tracer().wrap_tool("send_email", lambda to: ran.append(to))("a")
    assert ran == []
    assert (info.value.decision, info.value.reason, info.value.reason_code) == (
        "STEP_UP",
        "not today",
        ReasonCode.STEP_UP_DENIED,
    )


def test_step_up_legacy_decision_shaped_hold(api: ContractAPI, make_tracer: Callable[..., Tracer]) -> None:
    api.on_enforce(step_up())
    api.on_hold(Reply(json={"decision": "STEP_UP"}), Reply(json={"decision": "ALLOW"}))
    assert make_tracer().authorize("send_email", {"to": "a"}).args == {"to": "a"}


def test_step_up_timeout(api: ContractAPI, make_tracer: Callable[..., Tracer]) -> None:
    api.on_enforce(step_up())
    api.on_hold(pending())
    with pytest.raises(ThothPolicyViolation) as info:
        make_tracer(step_up_timeout_minutes=0.2 / 60).authorize("send_email", {})
    assert info.value.reason == "step-up auth timeout"
    assert info.value.reason_code == ReasonCode.STEP_UP_TIMEOUT
    assert len(api.calls("/v1/enforce/hold/")) >= 2


def test_step_up_server_timeout_is_honoured(api: ContractAPI, make_tracer: Callable[..., Tracer]) -> None:
    api.on_enforce(Reply(json={"decision": "STEP_UP", "hold_token": HOLD, "step_up_timeout_seconds": 0.1}))
    api.on_hold(pending())
    with pytest.raises(ThothPolicyViolation, match="step-up auth timeout"):
        make_tracer().authorize("send_email", {})  # config says 15 minutes; the server says 0.1 s


def test_step_up_honours_retry_after(api: ContractAPI, make_tracer: Callable[..., Tracer]) -> None:
    api.on_enforce(step_up())
    api.on_hold(Reply(json={"hold_token": HOLD, "resolved": False}, headers={"Retry-After": "1"}))
    with pytest.raises(ThothPolicyViolation):
        make_tracer(step_up_timeout_minutes=0.5 / 60).authorize("send_email", {})
    # Poll interval is 10 ms, but the server asked for 1 s between polls.
    assert len(api.calls("/v1/enforce/hold/")) == 1


def test_step_up_transient_poll_errors_do_not_deny(
    api: ContractAPI, make_tracer: Callable[..., Tracer]
) -> None:
    api.on_enforce(step_up())
    api.on_hold(error(503, "unavailable", "restarting"), pending(), resolved("ALLOW"))
    assert make_tracer().authorize("send_email", {}).tool_name == "send_email"


def _gone() -> Reply:
    return Reply(raises=httpx.ConnectError("connection refused"))


@pytest.mark.parametrize("gone", [_gone(), error(503, "unavailable", "down", conforms=False)])
def test_step_up_enforcer_gone_fails_closed_after_the_grace(
    gone: Reply, api: ContractAPI, make_tracer: Callable[..., Tracer]
) -> None:
    api.on_enforce(step_up())
    api.on_hold(pending(), gone)
    started = time.monotonic()
    with pytest.raises(ThothPolicyViolation) as info:
        make_tracer(step_up_unreachable_grace_seconds=0.2).authorize("send_email", {})
    assert time.monotonic() - started < 5  # the grace, not the 15-minute step-up timeout
    assert info.value.reason_code == ReasonCode.ENFORCER_UNREACHABLE
    assert "may still be pending" in info.value.reason
    assert len(api.calls("/v1/enforce/hold/")) >= 3  # it kept polling through the grace


async def test_async_step_up_enforcer_gone_fails_closed_after_the_grace(
    api: ContractAPI, make_tracer: Callable[..., Tracer]
) -> None:
    api.on_enforce(step_up())
    api.on_hold(pending(), _gone())
    with pytest.raises(ThothPolicyViolation) as info:
        await make_tracer(step_up_unreachable_grace_seconds=0.2).aauthorize("send_email", {})
    assert info.value.reason_code == ReasonCode.ENFORCER_UNREACHABLE


def test_step_up_an_enforcer_back_within_the_grace_keeps_the_hold(
    api: ContractAPI, make_tracer: Callable[..., Tracer]
) -> None:
    # two outages of about 0.3 s, each shorter than the 0.5 s grace but longer together: an answer
    # in between must reset the clock, or the second outage exceeds the grace and the call is refused
    outage = [_gone()] * 10
    api.on_enforce(step_up())
    api.on_hold(*outage, pending(), *outage, resolved("ALLOW"))
    tracer = make_tracer(step_up_unreachable_grace_seconds=0.5, step_up_poll_interval_seconds=0.03)
    assert tracer.authorize("send_email", {}).tool_name == "send_email"


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        (error(401, "unauthorized", "bad key"), ReasonCode.AUTH_REJECTED),
        (error(404, "not_found", "no such hold"), ReasonCode.STEP_UP_DENIED),
    ],
)
def test_step_up_final_poll_errors_deny_at_once(
    reply: Reply, code: str, api: ContractAPI, make_tracer: Callable[..., Tracer]
) -> None:
    api.on_enforce(step_up())
    api.on_hold(reply)
    with pytest.raises(ThothPolicyViolation) as info:
        make_tracer().authorize("send_email", {})
    assert info.value.reason_code == code
    assert len(api.calls("/v1/enforce/hold/")) == 1


async def test_async_step_up_does_not_block_the_loop(
    api: ContractAPI, make_tracer: Callable[..., Tracer]
) -> None:
    api.on_enforce(step_up())
    api.on_hold(pending(), pending(), pending(), resolved("ALLOW"))
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.001)

    background = asyncio.create_task(ticker())
    result = await make_tracer(step_up_poll_interval_seconds=0.05).wrap_tool("send_email", asend_email)(
        "a", "b"
    )
    background.cancel()
    assert result["to"] == "a"
    assert ticks >= 10  # the loop kept running while we waited for the human


async def test_cancelling_the_task_stops_polling(
    api: ContractAPI, make_tracer: Callable[..., Tracer]
) -> None:
    api.on_enforce(step_up())
    api.on_hold(pending())
    ran: list[str] = []

    async def tool(to: str) -> None:
        ran.append(to)

    task = asyncio.create_task(
        make_tracer(step_up_poll_interval_seconds=0.02).wrap_tool("send_email", tool)("a")
    )
    await asyncio.sleep(0.15)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    polls = len(api.calls("/v1/enforce/hold/"))
    await asyncio.sleep(0.15)
    assert polls >= 1 and len(api.calls("/v1/enforce/hold/")) == polls
    assert ran == []


def test_modify_rewrites_positional_and_keyword_arguments(
    api: ContractAPI, make_tracer: Callable[..., Tracer]
) -> None:
    api.on_enforce(
        Reply(
            json={
                "decision": "MODIFY",
                "modification_reason": "external address masked",
                "modified_tool_args": {"to": "redacted@acme.com", "subject": "hi", "body": "[masked]"},
            }
        )
    )
    governed = make_tracer().wrap_tool("send_email", send_email)
    expected = {"to": "redacted@acme.com", "subject": "hi", "body": "[masked]"}
    assert governed("eve@evil.com", "hi", "secret plans") == expected
    assert governed(to="eve@evil.com", subject="hi", body="x") == expected


def test_modify_with_positional_only_and_var_kwargs(
    api: ContractAPI, make_tracer: Callable[..., Tracer]
) -> None:
    def tool(path: str, /, *, mode: str = "r", **extra: Any) -> tuple[str, str, dict[str, Any]]:
        return path, mode, extra

    api.on_enforce(
        Reply(json={"decision": "MODIFY", "modified_tool_args": {"path": "/safe", "mode": "r", "lines": 5}})
    )
    assert make_tracer().wrap_tool("read_file", tool)("/etc/shadow", mode="w") == ("/safe", "r", {"lines": 5})


async def test_modify_async(api: ContractAPI, make_tracer: Callable[..., Tracer]) -> None:
    api.on_enforce(Reply(json={"decision": "TRANSFORM", "modified_tool_args": {"to": "x", "subject": "y"}}))
    assert await make_tracer().wrap_tool("send_email", asend_email)("a", "b", "c") == {
        "to": "x",
        "subject": "y",
        "body": "",
    }


def test_modify_single_dict_call(api: ContractAPI, make_tracer: Callable[..., Tracer]) -> None:
    api.on_enforce(Reply(json={"decision": "MODIFIED", "modified_tool_args": {"to": "x", "subject": "y"}}))
    governed = make_tracer().wrap_dict_tool("send_email", send_email)
    assert governed({"to": "eve@evil.com", "subject": "y"}) == {"to": "x", "subject": "y", "body": ""}


@pytest.mark.parametrize("alias", ["DEFER", "DEFERRED", "HOLD"])
def test_defer_raises_with_the_retry_hint(
    alias: str, api: ContractAPI, make_tracer: Callable[..., Tracer]
) -> None:
    api.on_enforce(
        Reply(json={"decision": alias, "defer_reason": "awaiting ticket", "defer_timeout_seconds": 30})
    )
    with pytest.raises(ThothPolicyViolation) as info:
        make_tracer().authorize("send_email", {})
    assert (info.value.decision, info.value.reason, info.value.retry_after_seconds) == (
        "DEFER",
        "awaiting ticket",
        30,
    )
    assert "retried in 30 seconds" in thoth.refusal_text(info.value)


def test_observe_never_waits_for_the_enforcer_and_still_emits(
    api: ContractAPI, make_tracer: Callable[..., Tracer]
) -> None:
    from thoth._runtime import SHADOW_CHECK, runtime

    before = runtime().background.stats(SHADOW_CHECK)["done"]
    gate = threading.Event()
    api.on_enforce(Reply(json={"decision": "BLOCK", "shadow_decision": "BLOCK"}, gate=gate))
    governed = make_tracer(enforcement="observe").wrap_tool("delete_everything", lambda: "done")
    assert governed() == "done"  # returned while the enforcer still holds its answer
    assert thoth.flush(2.0)
    assert [e["event_type"] for e in api.events] == ["TOOL_CALL_PRE", "TOOL_CALL_POST"]
    assert api.events[0]["enforcement_mode"] == "observe"
    gate.set()
    deadline = time.monotonic() + 5
    while runtime().background.stats(SHADOW_CHECK)["done"] == before and time.monotonic() < deadline:
        time.sleep(0.01)
    (shadow,) = api.enforce_bodies()  # the background shadow check, so the enforcer records its view
    assert shadow["enforcement_mode"] == "observe" and shadow["tool_name"] == "delete_everything"


def test_observe_with_the_enforcer_down_logs_that_the_call_ran(
    api: ContractAPI, make_tracer: Callable[..., Tracer], caplog: pytest.LogCaptureFixture
) -> None:
    """Observe never blocks: a shadow check that got no decision must not be logged as a block."""
    from thoth._runtime import runtime

    api.on_enforce(Reply(raises=httpx.ConnectError("connection refused")))
    with caplog.at_level("WARNING", logger="thoth.enforcer"):
        assert make_tracer(enforcement="observe").wrap_tool("send_email", lambda: "sent")() == "sent"
        assert runtime().background.wait_idle(10.0)
    lines = [r.getMessage() for r in caplog.records if r.name == "thoth.enforcer"]
    assert lines and all("observe mode: send_email ran; its shadow check got no decision" in m for m in lines)
    assert not any("blocking" in m for m in lines)


def test_observe_without_shadow_checks_sends_no_decision_request(
    api: ContractAPI, make_tracer: Callable[..., Tracer]
) -> None:
    make_tracer(enforcement="observe", observe_shadow_checks=False).wrap_tool("x", lambda: "done")()
    assert thoth.flush(2.0)
    assert api.calls("/v1/enforce") == []


def test_on_block_return_gives_the_model_a_refusal(
    api: ContractAPI, make_tracer: Callable[..., Tracer]
) -> None:
    api.on_enforce(Reply(json={"decision": "BLOCK", "reason": "outside approved scope"}))
    ran: list[str] = []
    text = make_tracer(on_block="return").wrap_tool("send_email", lambda to: ran.append(to))("a")
    assert ran == []
    assert isinstance(text, str) and "send_email" in text and "outside approved scope" in text


async def test_on_block_return_async(api: ContractAPI, make_tracer: Callable[..., Tracer]) -> None:
    api.on_enforce(error(503))

    async def tool() -> str:
        raise AssertionError("must not run")

    text = await make_tracer(on_block="return", max_retries=0).wrap_tool("send_email", tool)()
    assert "was not run" in text
