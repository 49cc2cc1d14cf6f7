"""pydantic-ai: instrument() on an ``Agent`` publishes its tools (``@agent.tool_plain``,
``@agent.tool``, ``tools=[Tool(...)]`` and ``toolsets=[FunctionToolset(...)]``: name, description,
input schema without default values) to a real `thoth serve`'s tool inventory."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("pydantic_ai")

from pydantic_ai import Agent, RunContext, Tool
from pydantic_ai.models.test import TestModel
from pydantic_ai.toolsets import FunctionToolset

import thoth
from tests.integrations._shared import (
    assert_no_default_values,
    governed_options,
    new_agent_id,
    recorded_tools,
)

pytestmark = pytest.mark.integration

SECRET = "sk-test-not-a-secret"


def lookup_order(order_id: int) -> str:
    """Look up an order."""
    return f"order {order_id}"


def cancel_order(order_id: int, reason: str = "customer request") -> str:
    """Cancel an order."""
    return f"cancelled {order_id}"


def test_agent_tools_are_recorded(thoth_server: Any) -> None:
    agent_id = new_agent_id("pai-inv")
    agent: Agent[None, str] = Agent(
        TestModel(), tools=[Tool(lookup_order)], toolsets=[FunctionToolset([cancel_order])]
    )

    @agent.tool_plain
    def search_docs(query: str, api_key: str = SECRET) -> str:
        """Search the knowledge base."""
        return f"3 documents about {query}"

    @agent.tool(name="send_email", description="Send an email.")
    async def mail(ctx: RunContext[None], to: str, body: str) -> str:
        return f"sent to {to}"

    thoth.instrument(agent, **governed_options(thoth_server, agent_id, ["search_docs"], "block"))

    recorded = recorded_tools(thoth_server, agent_id)
    assert set(recorded) == {"search_docs", "send_email", "lookup_order", "cancel_order"}
    assert recorded["search_docs"]["description"] == "Search the knowledge base."
    assert recorded["send_email"]["description"] == "Send an email."
    assert recorded["lookup_order"]["description"] == "Look up an order."
    assert recorded["cancel_order"]["description"] == "Cancel an order."
    assert set(recorded["search_docs"]["input_schema"]["properties"]) == {"query", "api_key"}
    assert recorded["search_docs"]["input_schema"]["required"] == ["query"]
    assert set(recorded["send_email"]["input_schema"]["properties"]) == {"to", "body"}  # no ctx
    assert recorded["lookup_order"]["input_schema"]["properties"] == {"order_id": {"type": "integer"}}
    assert set(recorded["cancel_order"]["input_schema"]["properties"]) == {"order_id", "reason"}
    assert_no_default_values(recorded, SECRET, "customer request")
