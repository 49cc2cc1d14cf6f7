"""AutoGen classic (ag2 0.14, ``import autogen``): instrument() on an executor agent publishes the
functions it executes (``function_map`` and ``register_for_execution``: name, docstring, input
schema from the signature without default values) to a real `thoth serve`'s tool inventory."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("autogen")

import autogen

import thoth
from tests.integrations._shared import (
    assert_no_default_values,
    governed_options,
    new_agent_id,
    recorded_tools,
)

pytestmark = pytest.mark.integration

SECRET = "sk-test-not-a-secret"


def search_docs(query: str, api_key: str = SECRET) -> str:
    """Search the knowledge base."""
    return f"3 documents about {query}"


async def asend_email(to: str, body: str) -> str:
    """Send an email."""
    return f"sent to {to}"


def test_executor_functions_are_recorded(thoth_server: Any) -> None:
    agent_id = new_agent_id("autogen-inv")
    user_proxy = autogen.UserProxyAgent(
        "executor",
        human_input_mode="NEVER",
        code_execution_config=False,
        function_map={"search_docs": search_docs},
    )
    user_proxy.register_for_execution(name="send_email")(asend_email)

    thoth.instrument(user_proxy, **governed_options(thoth_server, agent_id, ["search_docs"], "block"))

    recorded = recorded_tools(thoth_server, agent_id)
    assert set(recorded) == {"search_docs", "send_email"}
    assert recorded["search_docs"]["description"] == "Search the knowledge base."
    assert recorded["send_email"]["description"] == "Send an email."
    assert set(recorded["search_docs"]["input_schema"]["properties"]) == {"query", "api_key"}
    assert recorded["search_docs"]["input_schema"]["required"] == ["query"]
    assert set(recorded["send_email"]["input_schema"]["properties"]) == {"to", "body"}
    assert_no_default_values(recorded, SECRET)
