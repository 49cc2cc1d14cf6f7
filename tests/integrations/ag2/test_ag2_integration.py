"""ag2 1.x (``import ag2``): a real ``Agent`` loop scripted by ``ag2.testing.TestConfig``, governed by
the Thoth middleware, against a real `thoth serve` on 127.0.0.1."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytest.importorskip("ag2")

from ag2 import Agent
from ag2.events import ToolCallEvent, ToolErrorEvent, ToolResultsEvent
from ag2.testing import TestConfig, TrackingConfig

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


class Tools:
    def __init__(self) -> None:
        self.ran: list[tuple[str, dict[str, Any]]] = []

    def functions(self) -> list[Any]:
        async def search_docs(query: str) -> str:
            """Search the knowledge base."""
            self.ran.append(("search_docs", {"query": query}))
            return f"3 documents about {query}"

        def send_email(to: str, body: str) -> str:
            """Send an email."""
            self.ran.append(("send_email", {"to": to, "body": body}))
            return f"sent to {to}"

        return [search_docs, send_email]


def call(name: str, args: dict[str, Any], call_id: str) -> ToolCallEvent:
    return ToolCallEvent(name, id=call_id, arguments=json.dumps(args))


def scripted(*turns: Any) -> TrackingConfig:
    return TrackingConfig(TestConfig(*turns, raise_tool_errors=False))


def results_seen(model: TrackingConfig) -> dict[str, Any]:
    """parent call id -> the ToolResultEvent the model was handed for it."""
    seen: dict[str, Any] = {}
    for invocation in model.mock.call_args_list:
        event = invocation.args[0]
        if isinstance(event, ToolResultsEvent):
            seen.update({r.parent_id: r for r in event.results})
    return seen


def text(result: Any) -> str:
    return "".join(str(getattr(p, "content", p)) for p in result.result.parts)


async def test_parallel_calls_allowed_and_refused_keyed_by_call_id(thoth_server: Any) -> None:
    agent_id = new_agent_id("ag2-mw")
    tools = Tools()
    model = scripted(
        [call("search_docs", {"query": "a"}, "c-a"), call("send_email", {"to": "x", "body": "y"}, "c-mail")],
        call("search_docs", {"query": "b"}, "c-b"),  # usable after the refusal
        "done",
    )
    agent = Agent("assistant", config=model, tools=tools.functions())
    assert (
        thoth.instrument(
            agent, **governed_options(thoth_server, agent_id, ["search_docs"], "block", on_block="return")
        )
        is agent
    )

    reply = await agent.ask("go")

    assert await reply.content() == "done"
    assert sorted(tools.ran, key=str) == [("search_docs", {"query": "a"}), ("search_docs", {"query": "b"})]
    seen = results_seen(model)
    assert isinstance(seen["c-mail"], ToolErrorEvent) and text(seen["c-mail"]).startswith(REFUSAL_MARK)
    assert text(seen["c-a"]) == "3 documents about a" and text(seen["c-b"]) == "3 documents about b"
    per_call = by_call(events(thoth_server, agent_id))
    assert per_call["c-mail"] == ["TOOL_CALL_PRE", "TOOL_CALL_BLOCK"]
    assert per_call["c-a"] == per_call["c-b"] == ["TOOL_CALL_PRE", "TOOL_CALL_POST"]


async def test_raise_mode_gives_the_model_ag2s_error_shape(thoth_server: Any) -> None:
    agent_id = new_agent_id("ag2-raise")
    tools = Tools()
    model = scripted(call("send_email", {"to": "x", "body": "y"}, "c-1"), "ok")
    agent = Agent("assistant", config=model, tools=tools.functions())
    thoth.instrument(agent, **governed_options(thoth_server, agent_id, ["search_docs"], "block"))

    await agent.ask("go")

    assert tools.ran == []
    refused = results_seen(model)["c-1"]
    assert isinstance(refused, ToolErrorEvent) and isinstance(refused.error, thoth.ThothPolicyViolation)
    assert text(refused).startswith("ThothPolicyViolation: Thoth blocked tool 'send_email'")


async def test_step_up_is_approved_while_the_turn_waits(thoth_server: Any) -> None:
    agent_id = new_agent_id("ag2-stepup")
    tools = Tools()
    model = scripted(call("send_email", {"to": "boss", "body": "report"}, "c-1"), "sent")
    agent = Agent("assistant", config=model, tools=tools.functions())
    thoth.instrument(agent, **governed_options(thoth_server, agent_id, ["search_docs"], "step_up"))

    with Approver(thoth_server, agent_id) as approver:
        await agent.ask("mail the report")

    assert [h["tool_name"] for h in approver.approved] == ["send_email"]
    assert tools.ran == [("send_email", {"to": "boss", "body": "report"})]
    assert text(results_seen(model)["c-1"]) == "sent to boss"
    assert by_call(events(thoth_server, agent_id))["c-1"] == ["TOOL_CALL_PRE", "TOOL_CALL_POST"]


async def test_middleware_factory_and_fail_closed() -> None:
    from thoth.integrations.ag2 import thoth_middleware

    tools = Tools()
    model = scripted(call("search_docs", {"query": "q"}, "c-1"), "ok")
    tracer = unreachable_tracer(new_agent_id("ag2-down"), ["search_docs"], on_block="return")
    agent = Agent("assistant", config=model, tools=tools.functions(), middleware=[thoth_middleware(tracer)])

    await agent.ask("go")

    assert tools.ran == []  # the enforcer is down: even an approved tool does not run
    assert text(results_seen(model)["c-1"]).startswith(REFUSAL_MARK)


async def test_modify_runs_the_tool_with_rewritten_arguments(make_thoth_server: Any) -> None:
    server = make_thoth_server(policy_text=modify_policy("send_email"))
    agent_id = new_agent_id("ag2-modify")
    tools = Tools()
    model = scripted(call("send_email", {"to": "x@evil.com", "body": "hi"}, "c-1"), "ok")
    agent = Agent("assistant", config=model, tools=tools.functions())
    thoth.instrument(agent, **governed_options(server, agent_id, ["send_email"], "block"))

    await agent.ask("go")

    assert tools.ran == [("send_email", {"to": "security@acme.com", "body": "hi"})]
    assert text(results_seen(model)["c-1"]) == "sent to security@acme.com"
    assert by_call(events(server, agent_id))["c-1"] == ["TOOL_CALL_PRE", "TOOL_CALL_POST"]
