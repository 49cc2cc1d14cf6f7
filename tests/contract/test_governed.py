"""The one governed-call protocol (Tracer.govern / agovern → GovernedCall) that every integration uses."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

import thoth
from tests._contract import ContractAPI, Reply
from thoth._governed import governed_by, instrumented_by, mark_instrumented
from thoth.errors import ReasonCode, ThothPolicyViolation
from thoth.tracer import Tracer

BLOCK = Reply(json={"decision": "BLOCK", "reason": "not here", "decision_reason_code": "NOPE"})


def _posts(api: ContractAPI) -> list[dict[str, Any]]:
    thoth.flush(2.0)
    return [e for e in api.events if e["event_type"] == "TOOL_CALL_POST"]


def test_an_allowed_call_runs_and_is_recorded_once(
    api: ContractAPI, make_tracer: Callable[..., Tracer]
) -> None:
    with make_tracer().govern("search", {"q": "x"}, call_id="c-1") as call:
        assert not call.refused and call.call_id == "c-1"
        assert call.run(lambda q: q.upper(), **call.args) == "X"
        call.finish(result="ignored: already recorded")
    posts = _posts(api)
    assert [(p["metadata"]["call_id"], p["metadata"]["outcome"]) for p in posts] == [("c-1", "ok")]


@pytest.mark.parametrize("on_block", ["raise", "return"])
def test_a_refusal_has_one_shape_per_on_block(
    on_block: str, api: ContractAPI, make_tracer: Callable[..., Tracer]
) -> None:
    api.on_enforce(BLOCK)
    ran: list[str] = []
    call = make_tracer(on_block=on_block).govern("search", {"q": "x"})
    assert call.refused and call.violation is not None and call.violation.reason_code == "NOPE"
    with pytest.raises(ThothPolicyViolation):
        call.run(ran.append, "x")  # a refused call never runs
    assert ran == []
    assert call.refusal_text().startswith("[Thoth policy] The tool 'search' was not run: not here.")
    if on_block == "raise":
        with pytest.raises(ThothPolicyViolation):
            call.refuse()
        assert call.refusal().startswith("ThothPolicyViolation: Thoth blocked tool 'search': not here")
    else:
        assert call.refuse() == call.refusal()
        assert call.refusal().startswith("[Thoth policy] The tool 'search' was not run: not here.")


def test_modify_is_one_flag_and_the_rewritten_args(
    api: ContractAPI, make_tracer: Callable[..., Tracer]
) -> None:
    api.on_enforce(Reply(json={"decision": "MODIFY", "modified_tool_args": {"q": "safe"}}))
    call = make_tracer().govern("search", {"q": "secret"})
    assert call.modified and call.args == {"q": "safe"}


def test_an_internal_error_while_deciding_refuses_the_call(
    api: ContractAPI, make_tracer: Callable[..., Tracer], monkeypatch: pytest.MonkeyPatch
) -> None:
    tracer = make_tracer()

    def broken(*_: Any, **__: Any) -> Any:
        raise KeyError("bug")

    monkeypatch.setattr(tracer, "authorize", broken)
    call = tracer.govern("search", {"q": "x"})
    assert call.refused and call.violation is not None
    assert call.violation.reason_code == ReasonCode.ENFORCER_ERROR
    assert "KeyError" in call.violation.reason


def test_leaving_the_with_block_by_an_exception_records_it(
    api: ContractAPI, make_tracer: Callable[..., Tracer]
) -> None:
    with (
        pytest.raises(ValueError, match="tool broke"),
        make_tracer().govern("search", {"q": "x"}, call_id="c-2"),
    ):
        raise ValueError("tool broke")
    posts = _posts(api)
    assert [(p["metadata"]["outcome"], p["metadata"]["error_type"]) for p in posts] == [
        ("error", "ValueError")
    ]


def test_agovern_is_the_same_protocol(api: ContractAPI, make_tracer: Callable[..., Tracer]) -> None:
    tracer = make_tracer()

    async def tool(q: str) -> str:
        assert thoth.get_current_session() is tracer.session  # the tool runs in its session
        return q * 2

    async def flow() -> str:
        call = await tracer.agovern("search", {"q": "ab"})
        return await call.arun(tool, **call.args)

    assert asyncio.run(flow()) == "abab"
    api.on_enforce(BLOCK)
    refused = asyncio.run(tracer.agovern("search", {"q": "ab"}))
    assert refused.refused


def test_markers_say_which_tracer_governs(make_tracer: Callable[..., Tracer]) -> None:
    first, second = make_tracer(), make_tracer()

    def tool(q: str) -> str:
        return q

    governed = first.wrap_tool("tool", tool)
    assert governed_by(governed) == (first, tool)
    assert first.wrap_tool("tool", governed) is governed  # never twice by the same tracer
    regoverned = second.wrap_tool("tool", governed)
    assert governed_by(regoverned) == (second, tool)  # another tracer governs the original

    class Agent:
        pass

    agent = Agent()
    assert instrumented_by(agent) is None
    mark_instrumented(agent, first)
    assert instrumented_by(agent) is first
