"""LangChain: instrument() publishes an AgentExecutor's and a create_agent graph's tools (name,
description, input schema without default values) to a real `thoth serve`'s tool inventory."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("langchain_core")
pytest.importorskip("langchain_classic")
pytest.importorskip("langchain.agents")

from langchain.agents import create_agent
from langchain_classic.agents import AgentExecutor, create_tool_calling_agent
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.tools import StructuredTool, tool

import thoth
from tests.integrations._langchain_model import scripted
from tests.integrations._shared import (
    assert_no_default_values,
    governed_options,
    new_agent_id,
    recorded_tools,
)

pytestmark = pytest.mark.integration

SECRET = "sk-test-not-a-secret"
PROMPT = ChatPromptTemplate.from_messages([("human", "{input}"), ("placeholder", "{agent_scratchpad}")])


def _tools() -> list[Any]:
    @tool
    def web_search(query: str, api_key: str = SECRET) -> str:
        """Search the web for current information."""
        return f"results for {query}"

    def delete_file(path: str, force: bool = False) -> str:
        """Delete a file from the workspace."""
        return f"deleted {path}"

    return [web_search, StructuredTool.from_function(func=delete_file)]


def _assert_recorded(server: Any, agent_id: str) -> None:
    recorded = recorded_tools(server, agent_id)
    assert set(recorded) == {"web_search", "delete_file"}
    assert recorded["web_search"]["description"] == "Search the web for current information."
    assert recorded["delete_file"]["description"] == "Delete a file from the workspace."
    assert set(recorded["web_search"]["input_schema"]["properties"]) == {"query", "api_key"}
    assert set(recorded["delete_file"]["input_schema"]["properties"]) == {"path", "force"}
    assert_no_default_values(recorded, SECRET)


def test_agent_executor_tools_are_recorded(thoth_server: Any) -> None:
    tools, agent_id = _tools(), new_agent_id("lc-inv")
    executor = AgentExecutor(agent=create_tool_calling_agent(scripted(), tools, PROMPT), tools=tools)

    thoth.instrument(executor, **governed_options(thoth_server, agent_id, ["web_search"], "block"))

    _assert_recorded(thoth_server, agent_id)


def test_create_agent_graph_tools_are_recorded(thoth_server: Any) -> None:
    agent_id = new_agent_id("lc-inv")
    agent = create_agent(scripted(), _tools())

    thoth.instrument(agent, **governed_options(thoth_server, agent_id, ["web_search"], "block"))

    _assert_recorded(thoth_server, agent_id)
