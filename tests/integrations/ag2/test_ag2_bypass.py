"""ag2 1.x bypass matrix: every way an ``Agent`` runs a tool goes through the Thoth middleware, against a
real `thoth serve` on 127.0.0.1, scripted by ``ag2.testing.TestConfig``."""

from __future__ import annotations

import copy
from typing import Any

import pytest

pytest.importorskip("ag2")

from ag2 import Agent, TaskConfig
from ag2.tools.final.function_tool import FunctionTool
from test_ag2_integration import Tools, call, results_seen, scripted, text

import thoth
from tests.integrations._shared import REFUSAL_MARK, by_call, events, governed_options, new_agent_id

pytestmark = pytest.mark.integration

MAIL = ("send_email", {"to": "x", "body": "y"})


def instrument(agent: Any, server: Any, agent_id: str, scope: list[str] | None = None) -> Any:
    options = governed_options(server, agent_id, scope or ["search_docs"], "block", on_block="return")
    return thoth.instrument(agent, **options)


def assert_refused(server: Any, agent_id: str, call_id: str) -> None:
    assert by_call(events(server, agent_id))[call_id] == ["TOOL_CALL_PRE", "TOOL_CALL_BLOCK"]


async def test_reinstrument_with_new_settings_takes_effect(thoth_server: Any) -> None:
    first_id, second_id = new_agent_id("ag2-bypass-re-1"), new_agent_id("ag2-bypass-re-2")
    tools = Tools()
    model = scripted(call(*MAIL, "c-1"), "ok")
    agent = Agent("assistant", config=model, tools=tools.functions())
    instrument(agent, thoth_server, first_id, ["send_email"])
    instrument(agent, thoth_server, second_id)  # send_email is now out of scope

    await agent.ask("go")

    assert tools.ran == []
    assert text(results_seen(model)["c-1"]).startswith(REFUSAL_MARK)
    assert_refused(thoth_server, second_id, "c-1")
    assert events(thoth_server, first_id) == []


async def test_tools_added_after_instrument_and_per_call_tools_are_governed(thoth_server: Any) -> None:
    agent_id = new_agent_id("ag2-bypass-late")
    tools = Tools()
    search_docs, send_email = tools.functions()
    model = scripted(call(*MAIL, "c-late"), call("delete_all", {}, "c-extra"), "ok")
    agent = instrument(Agent("assistant", config=model, tools=[search_docs]), thoth_server, agent_id)
    agent.tools.append(FunctionTool.ensure_tool(send_email))

    def delete_all() -> str:
        """Delete everything."""
        tools.ran.append(("delete_all", {}))
        return "deleted"

    await agent.ask("go", tools=[FunctionTool.ensure_tool(delete_all)])

    assert tools.ran == []
    assert_refused(thoth_server, agent_id, "c-late")
    assert_refused(thoth_server, agent_id, "c-extra")


async def test_copy_of_an_instrumented_agent_is_governed(thoth_server: Any) -> None:
    agent_id = new_agent_id("ag2-bypass-copy")
    tools = Tools()
    model = scripted(call(*MAIL, "c-1"), "ok")
    clone = copy.copy(
        instrument(Agent("assistant", config=model, tools=tools.functions()), thoth_server, agent_id)
    )

    await clone.ask("go")

    assert tools.ran == []
    assert_refused(thoth_server, agent_id, "c-1")


async def test_shared_tools_are_decided_under_the_agent_that_runs_them(thoth_server: Any) -> None:
    allowed_id, blocked_id = new_agent_id("ag2-bypass-share-a"), new_agent_id("ag2-bypass-share-b")
    tools = Tools()
    shared = tools.functions()
    allows_model, blocks_model = scripted(call(*MAIL, "c-a"), "ok"), scripted(call(*MAIL, "c-b"), "ok")
    allows = instrument(
        Agent("a", config=allows_model, tools=shared), thoth_server, allowed_id, ["send_email"]
    )
    blocks = instrument(Agent("b", config=blocks_model, tools=shared), thoth_server, blocked_id)

    await blocks.ask("go")
    await allows.ask("go")

    assert tools.ran == [MAIL]
    assert_refused(thoth_server, blocked_id, "c-b")
    assert by_call(events(thoth_server, allowed_id))["c-a"] == ["TOOL_CALL_PRE", "TOOL_CALL_POST"]


@pytest.mark.parametrize("added_later", [False, True])
async def test_subagent_tools_are_governed(thoth_server: Any, added_later: bool) -> None:
    agent_id = new_agent_id("ag2-bypass-subagent")
    tools = Tools()
    inner = Agent("inner", config=scripted(call(*MAIL, "c-inner"), "inner done"), tools=tools.functions())
    outer_model = scripted(call("task_inner", {"objective": "mail x"}, "c-outer"), "ok")
    outer = Agent("outer", config=outer_model, tools=[] if added_later else [inner.as_tool(description="d")])
    instrument(outer, thoth_server, agent_id, ["task_inner"])
    if added_later:
        outer.tools.append(inner.as_tool(description="delegate"))

    await outer.ask("go")

    assert tools.ran == []  # the inner agent's send_email was refused under the outer agent's settings
    assert_refused(thoth_server, agent_id, "c-inner")
    assert by_call(events(thoth_server, agent_id))["c-outer"] == ["TOOL_CALL_PRE", "TOOL_CALL_POST"]


def test_subtasks_are_refused_at_instrument_time(thoth_server: Any) -> None:
    tools = Tools()
    agent = Agent("assistant", config=scripted("ok"), tools=tools.functions(), tasks=TaskConfig())

    with pytest.raises(thoth.ThothConfigError, match="sub-tasks"):
        instrument(agent, thoth_server, new_agent_id("ag2-bypass-tasks"))
