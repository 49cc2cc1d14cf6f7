"""autogen-agentchat 0.7: a real ``AssistantAgent`` run scripted by ``ReplayChatCompletionClient``,
its workbench governed by Thoth, against a real `thoth serve` on 127.0.0.1."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("autogen_agentchat")
pytest.importorskip("autogen_ext")

from agentchat_support import Tools, calls, model, results_seen
from autogen_agentchat.agents import AssistantAgent
from autogen_core.tools import FunctionTool, StaticWorkbench

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
from thoth.integrations.agentchat import govern_workbench

pytestmark = pytest.mark.integration


async def test_instrumented_agent_parallel_calls_and_usable_after_refusal(thoth_server: Any) -> None:
    agent_id = new_agent_id("agentchat")
    tools = Tools()
    agent = AssistantAgent(
        "assistant",
        model_client=model(
            calls(("search_docs", {"query": "a"}, "c-a"), ("send_email", {"to": "x", "body": "y"}, "c-mail")),
            calls(("search_docs", {"query": "b"}, "c-b")),
            "done",
        ),
        tools=tools.functions(),
        max_tool_iterations=3,
    )
    options = governed_options(thoth_server, agent_id, ["search_docs"], "block", on_block="return")
    assert thoth.instrument(agent, **options) is agent

    result = await agent.run(task="go")

    assert result.messages[-1].content == "done"
    assert sorted(tools.ran, key=str) == [("search_docs", {"query": "a"}), ("search_docs", {"query": "b"})]
    seen = await results_seen(agent)
    assert seen["c-mail"].is_error and seen["c-mail"].content.startswith(REFUSAL_MARK)
    assert seen["c-a"].content == "3 documents about a" and not seen["c-a"].is_error
    assert seen["c-b"].content == "3 documents about b"
    per_call = by_call(events(thoth_server, agent_id))
    assert per_call["c-mail"] == ["TOOL_CALL_PRE", "TOOL_CALL_BLOCK"]
    assert per_call["c-a"] == per_call["c-b"] == ["TOOL_CALL_PRE", "TOOL_CALL_POST"]


async def test_governed_workbench_raise_mode_never_hangs_the_agent(thoth_server: Any) -> None:
    agent_id = new_agent_id("agentchat-wb")
    tools = Tools()
    tracer = make_tracer(thoth_server, agent_id, ["search_docs"], "block")
    workbench = govern_workbench(
        StaticWorkbench([FunctionTool(f, description=f.__doc__ or "") for f in tools.functions()]), tracer
    )
    agent = AssistantAgent(
        "assistant",
        model_client=model(calls(("send_email", {"to": "x", "body": "y"}, "c-1")), "ok"),
        workbench=workbench,
        reflect_on_tool_use=True,
    )

    await agent.run(task="go")

    assert tools.ran == []
    refused = (await results_seen(agent))["c-1"]
    assert refused.is_error and refused.content.startswith(
        "ThothPolicyViolation: Thoth blocked tool 'send_email'"
    )


async def test_step_up_is_approved_while_the_run_waits(thoth_server: Any) -> None:
    agent_id = new_agent_id("agentchat-stepup")
    tools = Tools()
    agent = AssistantAgent(
        "assistant",
        model_client=model(calls(("send_email", {"to": "boss", "body": "report"}, "c-1")), "sent"),
        tools=tools.functions(),
        reflect_on_tool_use=True,
    )
    thoth.instrument(agent, **governed_options(thoth_server, agent_id, ["search_docs"], "step_up"))

    with Approver(thoth_server, agent_id) as approver:
        await agent.run(task="mail the report")

    assert [h["tool_name"] for h in approver.approved] == ["send_email"]
    assert tools.ran == [("send_email", {"to": "boss", "body": "report"})]
    assert (await results_seen(agent))["c-1"].content == "sent to boss"
    assert by_call(events(thoth_server, agent_id))["c-1"] == ["TOOL_CALL_PRE", "TOOL_CALL_POST"]


async def test_enforcer_failure_never_runs_the_tool() -> None:
    from thoth.integrations.agentchat import instrument

    tools = Tools()
    agent = AssistantAgent(
        "assistant",
        model_client=model(calls(("search_docs", {"query": "q"}, "c-1")), "ok"),
        tools=tools.functions(),
        reflect_on_tool_use=True,
    )
    instrument(agent, unreachable_tracer(new_agent_id("agentchat-down"), ["search_docs"], on_block="return"))

    await agent.run(task="go")

    assert tools.ran == []
    assert (await results_seen(agent))["c-1"].content.startswith(REFUSAL_MARK)


async def test_modify_runs_the_tool_with_rewritten_arguments(make_thoth_server: Any) -> None:
    server = make_thoth_server(policy_text=modify_policy("send_email"))
    agent_id = new_agent_id("agentchat-modify")
    tools = Tools()
    agent = AssistantAgent(
        "assistant",
        model_client=model(calls(("send_email", {"to": "x@evil.com", "body": "hi"}, "c-1")), "ok"),
        tools=tools.functions(),
        reflect_on_tool_use=True,
    )
    thoth.instrument(agent, **governed_options(server, agent_id, ["send_email"], "block"))

    await agent.run(task="go")

    assert tools.ran == [("send_email", {"to": "security@acme.com", "body": "hi"})]
    assert (await results_seen(agent))["c-1"].content == "sent to security@acme.com"
    assert by_call(events(server, agent_id))["c-1"] == ["TOOL_CALL_PRE", "TOOL_CALL_POST"]


async def test_instrumenting_a_team_governs_its_agents(thoth_server: Any) -> None:
    from autogen_agentchat.conditions import TextMentionTermination
    from autogen_agentchat.teams import RoundRobinGroupChat

    agent_id = new_agent_id("agentchat-team")
    tools = Tools()
    agent = AssistantAgent(
        "assistant",
        model_client=model(calls(("send_email", {"to": "x", "body": "y"}, "c-1")), "all done"),
        tools=tools.functions(),
        reflect_on_tool_use=True,
    )
    team = RoundRobinGroupChat([agent], termination_condition=TextMentionTermination("all done"))
    options = governed_options(thoth_server, agent_id, ["search_docs"], "block", on_block="return")
    assert thoth.instrument(team, **options) is team

    await team.run(task="go")

    assert tools.ran == []
    assert (await results_seen(agent))["c-1"].content.startswith(REFUSAL_MARK)


def test_a_bare_workbench_is_refused_with_a_clear_error(thoth_server: Any) -> None:
    workbench = StaticWorkbench([FunctionTool(f, description="x") for f in Tools().functions()])
    with pytest.raises(thoth.ThothConfigError, match="govern_workbench"):
        thoth.instrument(workbench, **governed_options(thoth_server, new_agent_id("wb"), [], "block"))
