"""OpenAI Agents SDK: no public way around the check (issue 15).

Every path the SDK runs a tool through is driven with ``agents.testing.ScriptedModel`` against a
real `thoth serve` on 127.0.0.1. Each test shows that a BLOCKed tool's body never ran and that the
enforcer recorded the refusal (TOOL_CALL_PRE, TOOL_CALL_BLOCK for that call id)."""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

import pytest

pytest.importorskip("agents")

from agents import (
    Agent,
    Handoff,
    LocalShellTool,
    Runner,
    ToolInputGuardrailTripwireTriggered,
    handoff,
    set_tracing_disabled,
)
from agents.testing import ScriptedModel, assistant_message, function_call
from agents.tool_context import ToolContext
from openai_agents_support import MemoryMCPServer, Tools, outputs_seen

import thoth
from tests.integrations._shared import (
    REFUSAL_MARK,
    by_call,
    events,
    governed_options,
    modify_policy,
    new_agent_id,
    unreachable_tracer,
)

pytestmark = pytest.mark.integration

set_tracing_disabled(True)  # the SDK's trace exporter would call the hosted API

BLOCKED = ["TOOL_CALL_PRE", "TOOL_CALL_BLOCK"]
ALLOWED = ["TOOL_CALL_PRE", "TOOL_CALL_POST"]


def mail(call_id: str, name: str = "send_email") -> Any:
    return function_call(name, {"to": "x", "body": "y"}, call_id=call_id)


def one_call_then_done(call: Any) -> ScriptedModel:
    return ScriptedModel([[call], [assistant_message("done")]])


def govern(agent: Any, server: Any, agent_id: str, scope: list[str], **extra: Any) -> Any:
    extra.setdefault("on_block", "return")
    return thoth.instrument(agent, **governed_options(server, agent_id, scope, "block", **extra))


def assert_refused(server: Any, agent_id: str, model: ScriptedModel, call_id: str) -> None:
    """The model read a refusal for ``call_id`` and the enforcer recorded it under ``agent_id``."""
    assert outputs_seen(model)[call_id].startswith(REFUSAL_MARK)
    assert by_call(events(server, agent_id))[call_id] == BLOCKED


# -- the Runner entry points -------------------------------------------------------------------------
@pytest.mark.parametrize("entry", ["run_sync", "run", "run_streamed"])
async def test_every_runner_entry_point_is_governed(thoth_server: Any, entry: str) -> None:
    agent_id = new_agent_id(f"oai-bypass-{entry}")
    tools = Tools()
    model = one_call_then_done(mail("c-1"))
    agent = govern(Agent(name="a", model=model, tools=tools.functions()), thoth_server, agent_id, [])

    if entry == "run_sync":
        result: Any = await asyncio.to_thread(Runner.run_sync, agent, "go")
    elif entry == "run":
        result = await Runner.run(agent, "go")
    else:
        result = Runner.run_streamed(agent, "go")
        async for _event in result.stream_events():
            pass

    assert result.final_output == "done"
    assert tools.ran == []
    assert_refused(thoth_server, agent_id, model, "c-1")


@pytest.mark.parametrize("streamed", [False, True])
async def test_raise_mode_lets_the_user_catch_thoth_policy_violation(
    thoth_server: Any, streamed: bool
) -> None:
    agent_id = new_agent_id("oai-bypass-raise")
    tools = Tools()
    agent = Agent(name="a", model=one_call_then_done(mail("c-1")), tools=tools.functions())
    govern(agent, thoth_server, agent_id, ["search_docs"], on_block="raise")

    async def run() -> None:
        if streamed:
            async for _event in Runner.run_streamed(agent, "go").stream_events():
                pass
        else:
            await Runner.run(agent, "go")

    with pytest.raises(thoth.ThothPolicyViolation) as refused:
        await run()

    violation = refused.value
    assert violation.tool_name == "send_email" and violation.decision == "BLOCK"
    assert not violation.failed_closed
    # Still the SDK's own tripwire, so code written against the SDK keeps working.
    assert isinstance(violation, ToolInputGuardrailTripwireTriggered)
    assert violation.output.output_info["decision"] == "BLOCK"
    assert tools.ran == []
    assert by_call(events(thoth_server, agent_id))["c-1"] == BLOCKED


async def test_raise_mode_with_the_enforcer_down_says_it_failed_closed() -> None:
    tools = Tools()
    agent = Agent(name="a", model=one_call_then_done(mail("c-1")), tools=tools.functions())
    from thoth.integrations.openai_agents import instrument

    instrument(agent, unreachable_tracer(new_agent_id("oai-bypass-down"), ["send_email"], on_block="raise"))

    with pytest.raises(thoth.ThothPolicyViolation) as refused:
        await Runner.run(agent, "go")

    assert refused.value.failed_closed
    assert "failed closed" in str(refused.value)
    assert tools.ran == []


# -- tools added, replaced or shared after instrument() ----------------------------------------------
@pytest.mark.parametrize("how", ["append", "assign"])
async def test_tools_added_after_instrument_are_governed(thoth_server: Any, how: str) -> None:
    agent_id = new_agent_id(f"oai-bypass-late-{how}")
    tools = Tools()
    model = one_call_then_done(mail("c-1", "delete_all"))
    agent = govern(
        Agent(name="a", model=model, tools=tools.functions()), thoth_server, agent_id, ["search_docs"]
    )

    late = tools.tool("delete_all")
    if how == "append":
        agent.tools.append(late)
    else:
        agent.tools = [*agent.tools, late]
    await Runner.run(agent, "go")

    assert tools.ran == []
    assert_refused(thoth_server, agent_id, model, "c-1")


async def test_a_shared_tool_is_decided_under_the_agent_that_runs_it(thoth_server: Any) -> None:
    tools = Tools()
    shared = tools.tool("send_email")
    id_a, id_b = new_agent_id("oai-bypass-share-a"), new_agent_id("oai-bypass-share-b")
    model_a, model_b = one_call_then_done(mail("c-1")), one_call_then_done(mail("c-1"))  # same call id
    agent_a = govern(Agent(name="a", model=model_a, tools=[shared]), thoth_server, id_a, ["send_email"])
    agent_b = govern(Agent(name="b", model=model_b, tools=[shared]), thoth_server, id_b, ["search_docs"])

    # At the same time: B may not mail (refused under B's id, though A governed the tool first), A may.
    await asyncio.gather(Runner.run(agent_b, "go"), Runner.run(agent_a, "go"))

    assert tools.ran == [("send_email", {"to": "x", "body": "y"})]
    assert_refused(thoth_server, id_b, model_b, "c-1")
    assert outputs_seen(model_a)["c-1"] == "sent to x"
    assert by_call(events(thoth_server, id_a)) == {"c-1": ALLOWED}


async def test_an_agent_never_instrumented_is_decided_under_the_tools_governor(thoth_server: Any) -> None:
    agent_id = new_agent_id("oai-bypass-stranger")
    tools = Tools()
    governed = govern(Agent(name="a", tools=tools.functions()), thoth_server, agent_id, ["search_docs"])
    model = one_call_then_done(mail("c-1"))
    stranger = Agent(name="stranger", model=model, tools=list(governed.tools))

    await Runner.run(stranger, "go")

    assert tools.ran == []
    assert_refused(thoth_server, agent_id, model, "c-1")


async def test_instrumenting_again_with_other_settings_takes_effect(thoth_server: Any) -> None:
    first, second = new_agent_id("oai-bypass-again-1"), new_agent_id("oai-bypass-again-2")
    tools = Tools()
    model = one_call_then_done(mail("c-1"))
    agent = Agent(name="a", model=model, tools=tools.functions())
    govern(agent, thoth_server, first, ["send_email"])
    govern(agent, thoth_server, second, ["search_docs"])

    await Runner.run(agent, "go")

    assert tools.ran == []
    assert_refused(thoth_server, second, model, "c-1")
    assert events(thoth_server, first) == []


@pytest.mark.parametrize("how", ["clone", "copy"])
async def test_copies_of_an_agent_stay_governed_with_their_own_tools(thoth_server: Any, how: str) -> None:
    agent_id = new_agent_id(f"oai-bypass-{how}")
    tools = Tools()
    model = one_call_then_done(mail("c-1", "delete_all"))
    agent = govern(
        Agent(name="a", model=model, tools=tools.functions()), thoth_server, agent_id, ["search_docs"]
    )

    extra = [*agent.tools, tools.tool("delete_all")]
    if how == "clone":
        twin = agent.clone(name="twin", tools=extra)
    else:
        twin = copy.copy(agent)
        twin.tools = extra
    await Runner.run(twin, "go")

    assert tools.ran == []
    assert_refused(thoth_server, agent_id, model, "c-1")


@pytest.mark.parametrize("how", ["guardrails_cleared", "invoke_replaced"])
async def test_undoing_the_governance_on_a_tool_does_not_ungovern_it(thoth_server: Any, how: str) -> None:
    agent_id = new_agent_id(f"oai-bypass-{how}")
    tools = Tools()
    model = one_call_then_done(mail("c-1"))
    agent = govern(
        Agent(name="a", model=model, tools=tools.functions()), thoth_server, agent_id, ["search_docs"]
    )

    send_email = agent.tools[1]
    if how == "guardrails_cleared":
        send_email.tool_input_guardrails = []
    else:
        inner = send_email.on_invoke_tool

        async def own_wrapper(ctx, input_json):  # type: ignore[no-untyped-def]
            return await inner(ctx, input_json)

        send_email.on_invoke_tool = own_wrapper
    await Runner.run(agent, "go")

    assert tools.ran == []
    assert_refused(thoth_server, agent_id, model, "c-1")


async def test_a_user_wrapper_around_the_governed_invoke_is_decided_once(thoth_server: Any) -> None:
    agent_id = new_agent_id("oai-bypass-rewrapped")
    tools = Tools()
    model = one_call_then_done(mail("c-1"))
    agent = govern(
        Agent(name="a", model=model, tools=tools.functions()), thoth_server, agent_id, ["send_email"]
    )
    send_email = agent.tools[1]
    inner = send_email.on_invoke_tool

    async def own_wrapper(ctx, input_json):  # type: ignore[no-untyped-def]
        return await inner(ctx, input_json)

    send_email.on_invoke_tool = own_wrapper
    await Runner.run(agent, "go")

    assert tools.ran == [("send_email", {"to": "x", "body": "y"})]
    assert by_call(events(thoth_server, agent_id)) == {"c-1": ALLOWED}


async def test_the_original_tool_object_called_directly_is_governed(thoth_server: Any) -> None:
    agent_id = new_agent_id("oai-bypass-direct")
    tools = Tools()
    search_docs, send_email = tools.functions()
    govern(Agent(name="a", tools=[search_docs, send_email]), thoth_server, agent_id, ["search_docs"])

    arguments = json.dumps({"to": "x", "body": "y"})
    ctx = ToolContext(context=None, tool_name="send_email", tool_call_id="d-1", tool_arguments=arguments)
    answer = await send_email.on_invoke_tool(ctx, arguments)

    assert answer.startswith(REFUSAL_MARK)
    assert tools.ran == []
    assert by_call(events(thoth_server, agent_id))["d-1"] == BLOCKED


# -- other agents taking part in the run ---------------------------------------------------------------
@pytest.mark.parametrize("how", ["agent", "handoff_object", "chosen_when_run", "added_later"])
async def test_a_handoff_target_that_was_not_instrumented_inherits_governance(
    thoth_server: Any, how: str
) -> None:
    agent_id = new_agent_id(f"oai-bypass-handoff-{how}")
    tools = Tools()
    model = ScriptedModel(
        [
            [function_call("transfer_to_helper", {}, call_id="h-1")],
            [mail("c-1")],
            [assistant_message("done")],
        ]
    )
    helper = Agent(name="helper", model=model, tools=tools.functions())

    async def choose_helper(ctx: Any, input_json: str) -> Any:  # the target is only known now
        return helper

    handoffs: dict[str, list[Any]] = {
        "agent": [helper],
        "handoff_object": [handoff(helper)],
        "chosen_when_run": [
            Handoff(
                tool_name="transfer_to_helper",
                tool_description="Hand off to the helper.",
                input_json_schema={},
                on_invoke_handoff=choose_helper,
                agent_name="helper",
            )
        ],
        "added_later": [],
    }
    front = govern(Agent(name="front", model=model, handoffs=handoffs[how]), thoth_server, agent_id, [])
    if how == "added_later":
        front.handoffs.append(helper)

    result = await Runner.run(front, "go")

    assert result.last_agent is helper and result.final_output == "done"
    assert tools.ran == []
    assert_refused(thoth_server, agent_id, model, "c-1")


async def test_the_tools_of_an_agent_used_as_a_tool_are_governed(thoth_server: Any) -> None:
    agent_id = new_agent_id("oai-bypass-as-tool")
    tools = Tools()
    inner_model = one_call_then_done(mail("i-1"))
    outer_model = one_call_then_done(function_call("ask_inner", {"input": "mail x"}, call_id="o-1"))
    inner = Agent(name="inner", model=inner_model, tools=tools.functions())
    outer = Agent(name="outer", model=outer_model, tools=[inner.as_tool("ask_inner", "Ask the inner agent.")])
    govern(outer, thoth_server, agent_id, ["ask_inner", "search_docs"])

    await Runner.run(outer, "go")

    assert tools.ran == []
    assert_refused(thoth_server, agent_id, inner_model, "i-1")
    assert by_call(events(thoth_server, agent_id))["o-1"] == ALLOWED


@pytest.mark.parametrize("late", [False, True])
async def test_mcp_server_tools_are_governed(thoth_server: Any, late: bool) -> None:
    agent_id = new_agent_id("oai-bypass-mcp")
    server = MemoryMCPServer("lookup", "wipe_disk")
    model = ScriptedModel(
        [
            [
                function_call("lookup", {"to": "a"}, call_id="m-ok"),
                function_call("wipe_disk", {"to": "b"}, call_id="m-bad"),
            ],
            [assistant_message("done")],
        ]
    )
    agent = Agent(name="a", model=model, mcp_servers=[] if late else [server])
    govern(agent, thoth_server, agent_id, ["lookup"])
    if late:
        agent.mcp_servers.append(server)

    await Runner.run(agent, "go")

    assert server.ran == [("lookup", {"to": "a"})]
    assert_refused(thoth_server, agent_id, model, "m-bad")
    assert by_call(events(thoth_server, agent_id))["m-ok"] == ALLOWED


async def test_mcp_tools_take_rewritten_arguments(make_thoth_server: Any) -> None:
    server = make_thoth_server(policy_text=modify_policy("send_mail"))
    agent_id = new_agent_id("oai-bypass-mcp-modify")
    mcp_server = MemoryMCPServer("send_mail")
    model = ScriptedModel(
        [
            [function_call("send_mail", {"to": "x@evil.com"}, call_id="m-1")],
            [assistant_message("done")],
            [function_call("send_mail", {"to": "x@evil.com"}, call_id="m-2")],
            [assistant_message("done")],
        ]
    )
    agent = govern(Agent(name="a", model=model, mcp_servers=[mcp_server]), server, agent_id, ["send_mail"])
    stranger = Agent(name="stranger", model=model, mcp_servers=[mcp_server])  # never instrumented

    await Runner.run(agent, "go")
    await Runner.run(stranger, "go")

    assert mcp_server.ran == [("send_mail", {"to": "security@acme.com"})]
    assert by_call(events(server, agent_id))["m-1"] == ALLOWED
    # The stranger's call goes through the server's guardrail only: a rewrite it cannot apply is refused.
    assert outputs_seen(model)["m-2"].startswith(REFUSAL_MARK)


# -- tools Thoth cannot see ----------------------------------------------------------------------------
async def test_a_tool_thoth_cannot_govern_is_refused_at_instrument_and_at_run_time(thoth_server: Any) -> None:
    shell_ran: list[Any] = []
    shell = LocalShellTool(executor=lambda request: shell_ran.append(request) or "ok")
    agent_id = new_agent_id("oai-bypass-shell")

    with pytest.raises(thoth.ThothConfigError, match="local_shell"):
        govern(Agent(name="a", tools=[shell]), thoth_server, agent_id, ["local_shell"])

    agent = govern(Agent(name="a", model=one_call_then_done(mail("c-1"))), thoth_server, agent_id, [])
    agent.tools.append(shell)
    with pytest.raises(thoth.ThothConfigError, match="local_shell"):
        await Runner.run(agent, "go")
    assert shell_ran == []
