"""LangGraph: instrument() publishes the tools of a prebuilt agent's and a hand-built graph's
ToolNode (name, description, input schema without default values) to a real `thoth serve`."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

pytest.importorskip("langgraph.prebuilt")

from langchain_core.tools import StructuredTool, tool
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

import thoth
from tests.integrations._langchain_model import scripted
from tests.integrations._shared import (
    assert_no_default_values,
    governed_options,
    new_agent_id,
    recorded_tools,
)

with warnings.catch_warnings():  # create_react_agent is deprecated in favour of langchain's create_agent
    warnings.simplefilter("ignore")
    from langgraph.prebuilt import create_react_agent

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:create_react_agent has been moved"),
]

SECRET = "sk-test-not-a-secret"


def _tools() -> list[Any]:
    @tool
    def search_database(query: str, api_key: str = SECRET) -> str:
        """Search the internal knowledge base."""
        return f"Q4 revenue for {query}: 42"

    def send_slack_message(channel: str, message: str) -> str:
        """Post a message to Slack."""
        return "posted"

    return [search_database, StructuredTool.from_function(func=send_slack_message)]


def _own_graph(tool_node: Any) -> Any:
    model = scripted()

    def call_model(state: MessagesState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("model", call_model)
    builder.add_node("tools", tool_node)
    builder.add_edge(START, "model")
    builder.add_conditional_edges("model", tools_condition)
    builder.add_edge("tools", "model")
    return builder.compile()


@pytest.mark.parametrize("shape", ["create_react_agent", "own_graph", "tool_node"])
def test_graph_tools_are_recorded(thoth_server: Any, shape: str) -> None:
    agent_id = new_agent_id("lg-inv")
    if shape == "create_react_agent":
        agent = create_react_agent(scripted(), _tools())
    elif shape == "own_graph":
        agent = _own_graph(ToolNode(_tools()))
    else:
        agent = ToolNode(_tools())

    thoth.instrument(agent, **governed_options(thoth_server, agent_id, ["search_database"], "block"))

    recorded = recorded_tools(thoth_server, agent_id)
    assert set(recorded) == {"search_database", "send_slack_message"}
    assert recorded["search_database"]["description"] == "Search the internal knowledge base."
    assert recorded["send_slack_message"]["description"] == "Post a message to Slack."
    assert set(recorded["search_database"]["input_schema"]["properties"]) == {"query", "api_key"}
    assert set(recorded["send_slack_message"]["input_schema"]["properties"]) == {"channel", "message"}
    assert_no_default_values(recorded, SECRET)
