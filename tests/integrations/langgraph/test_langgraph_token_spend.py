"""Token spend in a LangGraph graph: a model node with the scripted chat model (its messages carry
``usage_metadata``), a governed ToolNode, ``usage_callback`` in the run's config, a real `thoth serve`;
the stored LLM_INVOCATION events and the session's ``token_spend`` must hold the exact counts."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

pytest.importorskip("langgraph.prebuilt")

from langchain_core.messages import AIMessage
from langchain_core.tools import tool
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import tools_condition

from tests.integrations._langchain_model import scripted
from tests.integrations._shared import make_tracer, stored_events
from thoth.integrations.langchain import usage_callback
from thoth.integrations.langgraph import governed_tool_node

pytestmark = pytest.mark.integration


@tool
def search_database(query: str) -> str:
    """Search the internal knowledge base."""
    return f"Q4 revenue for {query}: 42"


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_graph_run_with_usage_callback_records_each_model_call(thoth_server: Any, mode: str) -> None:
    agent_id = f"lg-tok-{uuid.uuid4().hex[:8]}"
    tracer = make_tracer(thoth_server, agent_id, ["search_database"], "block")
    model = scripted(
        AIMessage(
            "",
            tool_calls=[
                {"name": "search_database", "args": {"query": "Q4"}, "id": "c1", "type": "tool_call"}
            ],
            usage_metadata={"input_tokens": 64, "output_tokens": 16, "total_tokens": 80},
        ),
        AIMessage("42", usage_metadata={"input_tokens": 90, "output_tokens": 2, "total_tokens": 92}),
    )
    graph = StateGraph(MessagesState)
    graph.add_node("model", lambda state: {"messages": [model.invoke(state["messages"])]})
    graph.add_node("tools", governed_tool_node([search_database], tracer))
    graph.add_edge(START, "model")
    graph.add_conditional_edges("model", tools_condition)
    graph.add_edge("tools", "model")
    app = graph.compile()

    request: Any = {"messages": [("user", "Q4 revenue?")]}
    config: Any = {"callbacks": [usage_callback(tracer)]}
    out = app.invoke(request, config) if mode == "sync" else await app.ainvoke(request, config)

    assert out["messages"][-1].content == "42"
    assert tracer.session.token_spend == 172
    llm = [e for e in stored_events(thoth_server, agent_id) if e["event_type"] == "LLM_INVOCATION"]
    assert [(e["metadata"]["input_tokens"], e["metadata"]["output_tokens"]) for e in llm] == [
        (64, 16),
        (90, 2),
    ]
