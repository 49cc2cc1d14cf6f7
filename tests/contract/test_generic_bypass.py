"""Issue 15, "No way around the check", for the generic shapes (an object with ``.tools``, a list, a
dict; ``ThothClient.wrap``) against a real `thoth serve` on 127.0.0.1: a tool object governed in place
is decided under one agent, or instrumenting it for a second agent fails and says why."""

from __future__ import annotations

from typing import Any

import pytest

import thoth
from tests.integrations._shared import events, governed_options, new_agent_id


class DeleteTool:
    name = "delete_record"

    def __init__(self) -> None:
        self.ran: list[str] = []

    def run(self, record_id: str) -> str:
        self.ran.append(record_id)
        return "deleted"


class Agent:
    def __init__(self, *tools: Any) -> None:
        self.tools = list(tools)


def _blocked(server: Any, agent_id: str, tool: str) -> bool:
    recorded = events(server, agent_id)
    return any(e[:2] == ("TOOL_CALL_BLOCK", tool) for e in recorded) and not any(
        e[:2] == ("TOOL_CALL_POST", tool) for e in recorded
    )


def test_a_tool_object_shared_by_two_agents_is_refused_at_the_second_instrument(thoth_server: Any) -> None:
    tool = DeleteTool()
    strict, lenient = new_agent_id("gen"), new_agent_id("gen")
    thoth.instrument(Agent(tool), **governed_options(thoth_server, strict, ["search"], "block"))

    with pytest.raises(thoth.ThothConfigError, match="already governed in place for agent"):
        thoth.instrument(Agent(tool), **governed_options(thoth_server, lenient, ["delete_record"], "block"))

    with pytest.raises(thoth.ThothPolicyViolation):
        tool.run("1")  # still decided under the first agent, not silently moved to the second
    assert tool.ran == []
    assert _blocked(thoth_server, strict, "delete_record")
    assert events(thoth_server, lenient) == []


def test_reinstrumenting_the_same_agent_with_another_tracer_takes_effect(thoth_server: Any) -> None:
    tool = DeleteTool()
    agent = Agent(tool)
    first, second = new_agent_id("gen"), new_agent_id("gen")
    thoth.instrument(agent, **governed_options(thoth_server, first, ["delete_record"], "block"))
    thoth.ThothClient(**governed_options(thoth_server, second, ["search"], "block")).wrap(agent)

    with pytest.raises(thoth.ThothPolicyViolation):
        agent.tools[0].run("1")
    assert tool.ran == []
    assert _blocked(thoth_server, second, "delete_record")
    assert events(thoth_server, first) == []


def test_callables_in_a_list_are_governed_in_the_list(thoth_server: Any) -> None:
    ran: list[str] = []

    def delete_record(record_id: str) -> str:
        ran.append(record_id)
        return "deleted"

    agent_id = new_agent_id("gen")
    tools: list[Any] = [delete_record]
    thoth.instrument(
        tools, **governed_options(thoth_server, agent_id, ["search"], "block", on_block="return")
    )

    assert tools[0] is not delete_record  # the list holds the governed callable; the original is yours
    assert tools[0]("1").startswith("[Thoth policy]")
    assert ran == []
    assert _blocked(thoth_server, agent_id, "delete_record")
