"""OpenAI Agents SDK: instrument() on an ``Agent`` publishes its tools (``@function_tool`` ones and
an agent as a tool: name, description, input schema without default values) to a real
`thoth serve`'s tool inventory."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("agents")

from agents import Agent, function_tool, set_tracing_disabled

import thoth
from tests.integrations._shared import (
    assert_no_default_values,
    governed_options,
    new_agent_id,
    recorded_tools,
)

pytestmark = pytest.mark.integration

set_tracing_disabled(True)  # the SDK's trace exporter would call the hosted API

SECRET = "sk-test-not-a-secret"


def _tools() -> list[Any]:
    @function_tool
    def search_docs(query: str, api_key: str = SECRET) -> str:
        """Search the knowledge base.

        Args:
            query: what to look for.
        """
        return f"3 documents about {query}"

    @function_tool(name_override="send_email", description_override="Send an email.")
    async def mail(to: str, body: str) -> str:
        return f"sent to {to}"

    helper = Agent(name="helper", instructions="Answer briefly.")
    return [search_docs, mail, helper.as_tool(tool_name="ask_helper", tool_description="Ask the helper.")]


def test_agent_tools_are_recorded(thoth_server: Any) -> None:
    agent_id = new_agent_id("oai-agents-inv")
    agent = Agent(name="assistant", tools=_tools())

    thoth.instrument(agent, **governed_options(thoth_server, agent_id, ["search_docs"], "block"))

    recorded = recorded_tools(thoth_server, agent_id)
    assert set(recorded) == {"search_docs", "send_email", "ask_helper"}
    assert recorded["search_docs"]["description"] == "Search the knowledge base."
    assert recorded["send_email"]["description"] == "Send an email."
    assert recorded["ask_helper"]["description"] == "Ask the helper."
    search_properties = recorded["search_docs"]["input_schema"]["properties"]
    assert set(search_properties) == {"query", "api_key"}
    assert search_properties["query"]["description"] == "what to look for."
    assert set(recorded["send_email"]["input_schema"]["properties"]) == {"to", "body"}
    assert set(recorded["ask_helper"]["input_schema"]["properties"]) == {"input"}
    assert_no_default_values(recorded, SECRET)
