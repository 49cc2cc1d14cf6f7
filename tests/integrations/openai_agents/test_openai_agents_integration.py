"""OpenAI Agents SDK: real ``Runner`` loops scripted by ``agents.testing.ScriptedModel``, governed by
Thoth's tool input guardrail, against a real `thoth serve` on 127.0.0.1."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("agents")

from agents import Agent, Runner, ToolInputGuardrailTripwireTriggered, set_tracing_disabled
from agents.testing import ScriptedModel, assistant_message, function_call
from openai_agents_support import Tools, outputs_seen

import thoth
from tests.integrations._shared import (
    REFUSAL_MARK,
    Approver,
    by_call,
    events,
    governed_options,
    modify_policy,
    new_agent_id,
    unreachable_tracer,
)

pytestmark = pytest.mark.integration

set_tracing_disabled(True)  # the SDK's trace exporter would call the hosted API


def test_sync_run_parallel_calls_refusal_read_by_model_and_usable_after(thoth_server: Any) -> None:
    agent_id = new_agent_id("oai-agents")
    tools = Tools()
    model = ScriptedModel(
        [
            [
                function_call("search_docs", {"query": "a"}, call_id="c-a"),
                function_call("send_email", {"to": "x", "body": "y"}, call_id="c-mail"),
            ],
            [function_call("search_docs", {"query": "b"}, call_id="c-b")],
            [assistant_message("done")],
        ]
    )
    agent = Agent(name="assistant", model=model, tools=tools.functions())
    options = governed_options(thoth_server, agent_id, ["search_docs"], "block", on_block="return")
    assert thoth.instrument(agent, **options) is agent

    result = Runner.run_sync(agent, "go")

    assert result.final_output == "done"
    assert sorted(tools.ran, key=str) == [("search_docs", {"query": "a"}), ("search_docs", {"query": "b"})]
    seen = outputs_seen(model)
    assert seen["c-mail"].startswith(REFUSAL_MARK) and "send_email" in seen["c-mail"]
    assert seen["c-a"] == "3 documents about a" and seen["c-b"] == "3 documents about b"
    per_call = by_call(events(thoth_server, agent_id))
    assert per_call["c-mail"] == ["TOOL_CALL_PRE", "TOOL_CALL_BLOCK"]
    assert per_call["c-a"] == per_call["c-b"] == ["TOOL_CALL_PRE", "TOOL_CALL_POST"]


async def test_raise_mode_trips_the_guardrail_and_the_tool_never_runs(thoth_server: Any) -> None:
    agent_id = new_agent_id("oai-agents-raise")
    tools = Tools()
    model = ScriptedModel(
        [[function_call("send_email", {"to": "x", "body": "y"}, call_id="c-1")], [assistant_message("no")]]
    )
    agent = Agent(name="assistant", model=model, tools=tools.functions())
    thoth.instrument(agent, **governed_options(thoth_server, agent_id, ["search_docs"], "block"))

    with pytest.raises(ToolInputGuardrailTripwireTriggered) as tripped:
        await Runner.run(agent, "go")

    assert tools.ran == []
    assert tripped.value.output.output_info["decision"] == "BLOCK"


async def test_step_up_is_approved_while_the_run_waits(thoth_server: Any) -> None:
    agent_id = new_agent_id("oai-agents-stepup")
    tools = Tools()
    model = ScriptedModel(
        [
            [function_call("send_email", {"to": "boss", "body": "report"}, call_id="c-1")],
            [assistant_message("sent")],
        ]
    )
    agent = Agent(name="assistant", model=model, tools=tools.functions())
    thoth.instrument(agent, **governed_options(thoth_server, agent_id, ["search_docs"], "step_up"))

    with Approver(thoth_server, agent_id) as approver:
        result = await Runner.run(agent, "mail the report")

    assert result.final_output == "sent"
    assert [h["tool_name"] for h in approver.approved] == ["send_email"]
    assert tools.ran == [("send_email", {"to": "boss", "body": "report"})]
    assert outputs_seen(model)["c-1"] == "sent to boss"
    assert by_call(events(thoth_server, agent_id))["c-1"] == ["TOOL_CALL_PRE", "TOOL_CALL_POST"]


async def test_handoff_targets_are_governed_and_enforcer_failure_fails_closed() -> None:
    from thoth.integrations.openai_agents import instrument

    tools = Tools()
    search_docs, _ = tools.functions()
    model = ScriptedModel(
        [[function_call("search_docs", {"query": "q"}, call_id="c-1")], [assistant_message("ok")]]
    )
    helper = Agent(name="helper", model=model, tools=[search_docs])
    front = Agent(name="front", model=model, handoffs=[helper])
    instrument(front, unreachable_tracer(new_agent_id("oai-agents-down"), ["search_docs"], on_block="return"))

    result = await Runner.run(helper, "go")

    assert result.final_output == "ok"
    assert tools.ran == []  # the enforcer is down: even an approved tool does not run
    assert outputs_seen(model)["c-1"].startswith(REFUSAL_MARK)


async def test_modify_runs_the_tool_with_rewritten_arguments(make_thoth_server: Any) -> None:
    server = make_thoth_server(policy_text=modify_policy("send_email"))
    agent_id = new_agent_id("oai-agents-modify")
    tools = Tools()
    model = ScriptedModel(
        [
            [function_call("send_email", {"to": "x@evil.com", "body": "hi"}, call_id="c-1")],
            [assistant_message("ok")],
        ]
    )
    agent = Agent(name="assistant", model=model, tools=tools.functions())
    thoth.instrument(agent, **governed_options(server, agent_id, ["send_email"], "block"))

    await Runner.run(agent, "go")

    assert tools.ran == [("send_email", {"to": "security@acme.com", "body": "hi"})]
    assert outputs_seen(model)["c-1"] == "sent to security@acme.com"
    assert by_call(events(server, agent_id))["c-1"] == ["TOOL_CALL_PRE", "TOOL_CALL_POST"]
