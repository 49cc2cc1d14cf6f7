"""Anthropic: instrument() on a list of beta_tool objects (what the SDK's tool runner takes), and
instrument_anthropic() on the dict of tool functions of the application's own loop, publish the
tools (name, description, input schema without default values) to a real `thoth serve`."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("anthropic.types")  # a submodule: never mistake this test directory for the package

from anthropic.lib.tools import beta_async_tool, beta_tool

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
    """Search the docs."""
    return f"policy doc for {query}"


async def delete_record(record_id: str, hard: bool = False) -> str:
    """Delete a record."""
    return "deleted"


def _assert_recorded(server: Any, agent_id: str) -> None:
    recorded = recorded_tools(server, agent_id)
    assert set(recorded) == {"search_docs", "delete_record"}
    assert recorded["search_docs"]["description"] == "Search the docs."
    assert recorded["delete_record"]["description"] == "Delete a record."
    assert set(recorded["search_docs"]["input_schema"]["properties"]) == {"query", "api_key"}
    assert recorded["search_docs"]["input_schema"]["required"] == ["query"]
    assert set(recorded["delete_record"]["input_schema"]["properties"]) == {"record_id", "hard"}
    assert_no_default_values(recorded, SECRET)


def test_beta_tools_are_recorded(thoth_server: Any) -> None:
    agent_id = new_agent_id("ant-inv")
    tools = [beta_tool(search_docs), beta_async_tool(delete_record)]

    thoth.instrument(tools, **governed_options(thoth_server, agent_id, ["search_docs"], "block"))

    _assert_recorded(thoth_server, agent_id)


def test_tool_functions_of_own_loop_are_recorded(thoth_server: Any) -> None:
    agent_id = new_agent_id("ant-inv")
    tools = {"search_docs": search_docs, "delete_record": delete_record}

    thoth.instrument_anthropic(tools, **governed_options(thoth_server, agent_id, ["search_docs"], "block"))

    _assert_recorded(thoth_server, agent_id)
