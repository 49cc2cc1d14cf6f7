"""pydantic-ai 2.x: no way around the check. Every public way an agent runs a tool is driven with
pydantic-ai's own offline models (``TestModel`` / ``FunctionModel``) against a real `thoth serve` on
127.0.0.1; a blocked tool's body never runs and the enforcer records the refusal."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest

pytest.importorskip("pydantic_ai")

from pydantic_ai import Agent, DeferredToolRequests, DeferredToolResults, FunctionToolset, RunContext, Tool
from pydantic_ai.agent import WrapperAgent
from pydantic_ai.models.test import TestModel
from pydantic_ai_support import Ran, ScriptedModel, build_agent, call

import thoth
from tests.integrations._shared import REFUSAL_MARK, events, governed_options, make_tracer, new_agent_id
from thoth.integrations.pydantic_ai import thoth_capability

pytestmark = pytest.mark.integration

BLOCKED = ["TOOL_CALL_PRE", "TOOL_CALL_BLOCK"]
ALLOWED = ["TOOL_CALL_PRE", "TOOL_CALL_POST"]


def recorded(server: Any, agent_id: str, tool: str) -> list[str]:
    """The event types the enforcer stored for ``tool`` under ``agent_id``, in order."""
    return [kind for kind, name, _call_id in events(server, agent_id) if name == tool]


def mailer(**options: Any) -> TestModel:
    """A model that calls ``send_email`` once, then answers with the tool results it read."""
    return TestModel(call_tools=["send_email"], **options)


def instrumented(server: Any, ran: Ran, agent_id: str, scope: list[str], **extra: Any) -> Agent[None, str]:
    agent = build_agent(mailer(), ran)
    thoth.instrument(agent, **governed_options(server, agent_id, scope, "block", on_block="return", **extra))
    return agent


async def _run(agent: Any, **kw: Any) -> str:
    return str((await agent.run("go", **kw)).output)


async def _run_stream(agent: Any, **kw: Any) -> str:
    async with agent.run_stream("go", **kw) as streamed:
        return str(await streamed.get_output())


async def _run_stream_events(agent: Any, **kw: Any) -> str:
    async with agent.run_stream_events("go", **kw) as stream:
        out = [event async for event in stream]
    return str(out[-1].result.output)


async def _iter(agent: Any, **kw: Any) -> str:
    async with agent.iter("go", **kw) as agent_run:
        async for _node in agent_run:
            pass
    assert agent_run.result is not None
    return str(agent_run.result.output)


def drive(agent: Any, how: str, **kw: Any) -> str:
    """Run ``agent`` through one public entry point; the sync ones outside any event loop."""
    if how == "run_sync":
        return str(agent.run_sync("go", **kw).output)
    if how == "run_stream_sync":
        return str(agent.run_stream_sync("go", **kw).get_output())
    runner = {"run": _run, "run_stream": _run_stream, "run_stream_events": _run_stream_events, "iter": _iter}
    return asyncio.run(runner[how](agent, **kw))


@pytest.mark.parametrize(
    "how", ["run", "run_sync", "run_stream", "run_stream_sync", "run_stream_events", "iter"]
)
def test_every_entry_point_is_governed(thoth_server: Any, how: str) -> None:
    agent_id = new_agent_id(f"pai-{how}")
    ran: Ran = []
    agent = instrumented(thoth_server, ran, agent_id, ["search_docs"])

    output = drive(agent, how)

    assert ran == []
    assert REFUSAL_MARK in output  # TestModel answers with the results it read: the refusal
    assert recorded(thoth_server, agent_id, "send_email") == BLOCKED


@pytest.mark.parametrize("how", ["run_sync", "run_stream_events"])
def test_raise_mode_surfaces_the_violation_itself(thoth_server: Any, how: str) -> None:
    agent_id = new_agent_id(f"pai-raise-{how}")
    ran: Ran = []
    agent = build_agent(mailer(), ran)
    thoth.instrument(agent, **governed_options(thoth_server, agent_id, ["search_docs"], "block"))

    with pytest.raises(thoth.ThothPolicyViolation):
        drive(agent, how)

    assert ran == []
    assert recorded(thoth_server, agent_id, "send_email") == BLOCKED


def test_wrapper_agent_is_governed(thoth_server: Any) -> None:
    agent_id = new_agent_id("pai-wrapper")
    ran: Ran = []
    wrapper = WrapperAgent(build_agent(mailer(), ran))
    thoth.instrument(
        wrapper, **governed_options(thoth_server, agent_id, ["search_docs"], "block", on_block="return")
    )

    drive(wrapper, "run")

    assert ran == []
    assert recorded(thoth_server, agent_id, "send_email") == BLOCKED


def test_tools_and_toolsets_given_by_override_are_governed(thoth_server: Any) -> None:
    agent_id = new_agent_id("pai-override")
    ran: Ran = []
    agent: Agent[None, str] = Agent(mailer())  # its tools come from the override alone
    thoth.instrument(
        agent, **governed_options(thoth_server, agent_id, ["search_docs"], "block", on_block="return")
    )

    def send_email(to: str, body: str) -> str:
        ran.append(("override send_email", {"to": to}))
        return "sent"

    with agent.override(tools=[Tool(send_email)]):
        drive(agent, "run")
    with agent.override(toolsets=[FunctionToolset([send_email])]):
        drive(agent, "run")

    assert ran == []
    assert recorded(thoth_server, agent_id, "send_email") == BLOCKED * 2


def test_override_spec_capabilities_do_not_drop_a_built_in_capability(thoth_server: Any) -> None:
    # A spec's capabilities replace the agent's own: the thoth_capability it was built with too.
    agent_id = new_agent_id("pai-spec")
    ran: Ran = []
    tracer = make_tracer(thoth_server, agent_id, ["search_docs"], "block", on_block="return")
    agent = build_agent(mailer(), ran, capabilities=[thoth_capability(tracer)])

    with agent.override(spec={"capabilities": ["Thinking"]}):
        drive(agent, "run")

    assert ran == []
    assert recorded(thoth_server, agent_id, "send_email") == BLOCKED  # decided once, not twice


def test_run_time_toolsets_and_tools_registered_later_are_governed(thoth_server: Any) -> None:
    agent_id = new_agent_id("pai-late")
    ran: Ran = []
    agent: Agent[None, str] = Agent(TestModel(call_tools=["send_email", "delete_all"]))
    thoth.instrument(
        agent, **governed_options(thoth_server, agent_id, ["search_docs"], "block", on_block="return")
    )

    @agent.tool_plain
    def delete_all() -> str:
        ran.append(("delete_all", {}))
        return "deleted"

    def send_email(to: str, body: str) -> str:
        ran.append(("send_email", {"to": to}))
        return "sent"

    drive(agent, "run", toolsets=[FunctionToolset([send_email])])

    assert ran == []
    assert recorded(thoth_server, agent_id, "delete_all") == BLOCKED
    assert recorded(thoth_server, agent_id, "send_email") == BLOCKED


def test_deferred_tool_approved_in_a_later_run_is_still_governed(thoth_server: Any) -> None:
    agent_id = new_agent_id("pai-deferred")
    ran: Ran = []
    script = ScriptedModel([call("send_email", {"to": "x", "body": "y"}, "c-1")], "asked", "done")
    agent: Agent[None, str | DeferredToolRequests] = Agent(
        script.model(), output_type=[str, DeferredToolRequests]
    )

    @agent.tool_plain(requires_approval=True)
    def send_email(to: str, body: str) -> str:
        ran.append(("send_email", {"to": to}))
        return "sent"

    thoth.instrument(
        agent, **governed_options(thoth_server, agent_id, ["search_docs"], "block", on_block="return")
    )
    first = agent.run_sync("go")
    assert isinstance(first.output, DeferredToolRequests)
    approvals = DeferredToolResults(approvals={c.tool_call_id: True for c in first.output.approvals})

    agent.run_sync(message_history=first.all_messages(), deferred_tool_results=approvals)

    assert ran == []
    assert script.read["c-1"][1].startswith(REFUSAL_MARK)
    assert recorded(thoth_server, agent_id, "send_email") == BLOCKED


def test_a_copy_of_an_agent_is_its_own_agent(thoth_server: Any) -> None:
    first_id, copy_id = new_agent_id("pai-orig"), new_agent_id("pai-copy")
    ran: Ran = []
    agent = instrumented(thoth_server, ran, first_id, ["search_docs"])
    clone = copy.copy(agent)

    drive(clone, "run")  # governed as the agent it was copied from
    thoth.instrument(
        clone, **governed_options(thoth_server, copy_id, ["search_docs"], "block", on_block="return")
    )
    drive(clone, "run")  # now under its own settings; the original keeps its own

    assert ran == []
    assert recorded(thoth_server, first_id, "send_email") == BLOCKED
    assert recorded(thoth_server, copy_id, "send_email") == BLOCKED


def test_reinstrument_with_another_tracer_takes_effect(thoth_server: Any) -> None:
    first_id, second_id = new_agent_id("pai-first"), new_agent_id("pai-second")
    ran: Ran = []
    agent = instrumented(thoth_server, ran, first_id, ["send_email"])
    options = governed_options(thoth_server, second_id, ["search_docs"], "block", on_block="return")
    thoth.instrument(agent, **options)

    drive(agent, "run")

    assert ran == []
    assert recorded(thoth_server, second_id, "send_email") == BLOCKED
    assert recorded(thoth_server, first_id, "send_email") == []


def test_same_tracer_twice_is_idempotent(thoth_server: Any) -> None:
    agent_id = new_agent_id("pai-twice")
    ran: Ran = []
    tracer = make_tracer(thoth_server, agent_id, ["search_docs"], "block", on_block="return")
    agent = build_agent(mailer(), ran)
    from thoth.integrations.pydantic_ai import instrument

    instrument(instrument(agent, tracer), tracer)
    drive(agent, "run")

    assert ran == []
    assert recorded(thoth_server, agent_id, "send_email") == BLOCKED  # one decision, not two


def test_second_policy_on_an_agent_built_with_the_capability_is_refused(thoth_server: Any) -> None:
    ran: Ran = []
    tracer = make_tracer(thoth_server, new_agent_id("pai-built"), ["search_docs"], "block")
    agent = build_agent(mailer(), ran, capabilities=[thoth_capability(tracer)])

    with pytest.raises(thoth.ThothConfigError, match="another tracer"):
        thoth.instrument(agent, **governed_options(thoth_server, new_agent_id("pai-other"), ["x"], "block"))


def test_a_sub_agent_run_from_a_tool_is_decided_under_the_calling_run(thoth_server: Any) -> None:
    agent_id = new_agent_id("pai-delegate")
    ran: Ran = []
    helper = build_agent(mailer(), ran)  # never instrumented itself
    parent: Agent[None, str] = Agent(TestModel(call_tools=["delegate"]))

    @parent.tool
    async def delegate(ctx: RunContext[None], task: str) -> str:
        ran.append(("delegate", {"task": task}))
        return str((await helper.run(task, usage=ctx.usage)).output)

    thoth.instrument(
        parent, **governed_options(thoth_server, agent_id, ["delegate"], "block", on_block="return")
    )
    drive(parent, "run")

    assert [name for name, _ in ran] == ["delegate"]
    assert recorded(thoth_server, agent_id, "delegate") == ALLOWED
    assert recorded(thoth_server, agent_id, "send_email") == BLOCKED


def test_a_sub_agent_with_its_own_settings_is_decided_under_them(thoth_server: Any) -> None:
    parent_id, helper_id = new_agent_id("pai-parent"), new_agent_id("pai-helper")
    ran: Ran = []
    helper = instrumented(thoth_server, ran, helper_id, ["search_docs"])
    parent: Agent[None, str] = Agent(TestModel(call_tools=["delegate"]))

    @parent.tool_plain
    async def delegate(task: str) -> str:
        return str((await helper.run(task)).output)

    thoth.instrument(
        parent,
        **governed_options(thoth_server, parent_id, ["delegate", "send_email"], "block", on_block="return"),
    )
    drive(parent, "run")

    assert ran == []  # the parent's scope allows send_email; the helper's own does not
    assert recorded(thoth_server, helper_id, "send_email") == BLOCKED
    assert recorded(thoth_server, parent_id, "send_email") == []


def test_a_toolset_shared_by_two_agents_is_decided_under_the_agent_that_runs_it(thoth_server: Any) -> None:
    open_id, strict_id = new_agent_id("pai-open"), new_agent_id("pai-strict")
    ran: Ran = []

    def send_email(to: str, body: str) -> str:
        ran.append(("send_email", {"to": to}))
        return "sent"

    shared = FunctionToolset([send_email])
    lenient: Agent[None, str] = Agent(mailer(), toolsets=[shared])
    strict: Agent[None, str] = Agent(mailer(), toolsets=[shared])
    thoth.instrument(
        lenient, **governed_options(thoth_server, open_id, ["send_email"], "block", on_block="return")
    )
    thoth.instrument(
        strict, **governed_options(thoth_server, strict_id, ["search_docs"], "block", on_block="return")
    )

    drive(strict, "run")
    drive(lenient, "run")

    assert ran == [("send_email", {"to": "a"})]  # only the lenient agent's call ran
    assert recorded(thoth_server, strict_id, "send_email") == BLOCKED
    assert recorded(thoth_server, open_id, "send_email") == ALLOWED


def test_a_non_agent_is_refused_at_instrument_time(thoth_server: Any) -> None:
    with pytest.raises(thoth.ThothConfigError, match="pass an Agent"):
        thoth.instrument(
            FunctionToolset([]), **governed_options(thoth_server, new_agent_id("pai-ts"), [], "block")
        )
