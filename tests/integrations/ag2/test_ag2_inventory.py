"""ag2 1.x (``import ag2``): instrument() on an ``Agent`` publishes its tools (plain functions and
``@tool`` ones: name, description, input schema without default values) to a real `thoth serve`'s
tool inventory."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("ag2")

from ag2 import Agent, tool
from ag2.testing import TestConfig

import thoth
from tests.integrations._shared import (
    assert_no_default_values,
    governed_options,
    new_agent_id,
    recorded_tools,
)

pytestmark = pytest.mark.integration

SECRET = "sk-test-not-a-secret"


async def search_docs(query: str, api_key: str = SECRET) -> str:
    """Search the knowledge base."""
    return f"3 documents about {query}"


@tool(name="send_email", description="Send an email to one recipient.")
def mail(to: str, body: str, cc: str = "") -> str:
    return f"sent to {to}"


def test_agent_tools_are_recorded(thoth_server: Any) -> None:
    agent_id = new_agent_id("ag2-inv")
    agent = Agent("assistant", config=TestConfig("done"), tools=[search_docs, mail])

    thoth.instrument(agent, **governed_options(thoth_server, agent_id, ["search_docs"], "block"))

    recorded = recorded_tools(thoth_server, agent_id)
    assert set(recorded) == {"search_docs", "send_email"}
    assert recorded["search_docs"]["description"] == "Search the knowledge base."
    assert recorded["send_email"]["description"] == "Send an email to one recipient."
    assert set(recorded["search_docs"]["input_schema"]["properties"]) == {"query", "api_key"}
    assert recorded["search_docs"]["input_schema"]["required"] == ["query"]
    assert set(recorded["send_email"]["input_schema"]["properties"]) == {"to", "body", "cc"}
    assert_no_default_values(recorded, SECRET)
