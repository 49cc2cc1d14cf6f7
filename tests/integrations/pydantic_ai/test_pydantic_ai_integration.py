"""pydantic-ai 2.x: real ``Agent`` runs scripted by ``FunctionModel``, governed by the Thoth capability,
against a real `thoth serve` on 127.0.0.1."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("pydantic_ai")

from pydantic_ai_support import ScriptedModel, build_agent, call

import thoth
from tests.integrations._shared import (
    REFUSAL_MARK,
    Approver,
    by_call,
    events,
    governed_options,
    make_tracer,
    modify_policy,
    new_agent_id,
    unreachable_tracer,
)
from thoth.integrations.pydantic_ai import thoth_capability

pytestmark = pytest.mark.integration


def test_run_sync_parallel_calls_refusal_read_and_usable_after(thoth_server: Any) -> None:
    agent_id = new_agent_id("pydantic-ai")
    ran: list[tuple[str, dict[str, Any]]] = []
    script = ScriptedModel(
        [call("search_docs", {"query": "a"}, "c-a"), call("send_email", {"to": "x", "body": "y"}, "c-mail")],
        [call("search_docs", {"query": "b"}, "c-b")],
        "done",
    )
    agent = build_agent(script, ran)
    options = governed_options(thoth_server, agent_id, ["search_docs"], "block", on_block="return")
    assert thoth.instrument(agent, **options) is agent

    result = agent.run_sync("go")

    assert result.output == "done"
    assert sorted(ran, key=str) == [("search_docs", {"query": "a"}), ("search_docs", {"query": "b"})]
    outcome, content = script.read["c-mail"]
    assert outcome == "failed"  # ToolFailed: a failed call, not a retry request
    assert content.startswith(REFUSAL_MARK) and "send_email" in content
    assert script.read["c-a"] == ("success", "3 documents about a")
    assert script.read["c-b"] == ("success", "3 documents about b")
    per_call = by_call(events(thoth_server, agent_id))
    assert per_call["c-mail"] == ["TOOL_CALL_PRE", "TOOL_CALL_BLOCK"]
    assert per_call["c-a"] == per_call["c-b"] == ["TOOL_CALL_PRE", "TOOL_CALL_POST"]


async def test_capability_raise_mode_ends_the_run(thoth_server: Any) -> None:
    agent_id = new_agent_id("pydantic-ai-raise")
    ran: list[tuple[str, dict[str, Any]]] = []
    tracer = make_tracer(thoth_server, agent_id, ["search_docs"], "block")
    script = ScriptedModel([call("send_email", {"to": "x", "body": "y"}, "c-1")], "no")
    agent = build_agent(script, ran, capabilities=[thoth_capability(tracer)])

    with pytest.raises(thoth.ThothPolicyViolation):
        await agent.run("go")

    assert ran == []
    assert by_call(events(thoth_server, agent_id))["c-1"] == ["TOOL_CALL_PRE", "TOOL_CALL_BLOCK"]


async def test_step_up_is_approved_while_the_run_waits(thoth_server: Any) -> None:
    agent_id = new_agent_id("pydantic-ai-stepup")
    ran: list[tuple[str, dict[str, Any]]] = []
    script = ScriptedModel([call("send_email", {"to": "boss", "body": "report"}, "c-1")], "sent")
    agent = build_agent(script, ran)
    thoth.instrument(agent, **governed_options(thoth_server, agent_id, ["search_docs"], "step_up"))

    with Approver(thoth_server, agent_id) as approver:
        result = await agent.run("mail the report")

    assert result.output == "sent"
    assert [h["tool_name"] for h in approver.approved] == ["send_email"]
    assert ran == [("send_email", {"to": "boss", "body": "report"})]
    assert script.read["c-1"] == ("success", "sent to boss")
    assert by_call(events(thoth_server, agent_id))["c-1"] == ["TOOL_CALL_PRE", "TOOL_CALL_POST"]


async def test_enforcer_failure_never_runs_the_tool() -> None:
    ran: list[tuple[str, dict[str, Any]]] = []
    tracer = unreachable_tracer(new_agent_id("pydantic-ai-down"), ["search_docs"], on_block="return")
    script = ScriptedModel([call("search_docs", {"query": "q"}, "c-1")], "ok")
    agent = build_agent(script, ran, capabilities=[thoth_capability(tracer)])

    assert (await agent.run("go")).output == "ok"
    assert ran == []
    assert script.read["c-1"][1].startswith(REFUSAL_MARK)


async def test_modify_runs_the_tool_with_rewritten_arguments(make_thoth_server: Any) -> None:
    server = make_thoth_server(policy_text=modify_policy("send_email"))
    agent_id = new_agent_id("pydantic-ai-modify")
    ran: list[tuple[str, dict[str, Any]]] = []
    script = ScriptedModel([call("send_email", {"to": "x@evil.com", "body": "hi"}, "c-1")], "ok")
    agent = build_agent(script, ran)
    thoth.instrument(agent, **governed_options(server, agent_id, ["send_email"], "block"))

    await agent.run("go")

    assert ran == [("send_email", {"to": "security@acme.com", "body": "hi"})]
    assert script.read["c-1"] == ("success", "sent to security@acme.com")
    assert by_call(events(server, agent_id))["c-1"] == ["TOOL_CALL_PRE", "TOOL_CALL_POST"]
