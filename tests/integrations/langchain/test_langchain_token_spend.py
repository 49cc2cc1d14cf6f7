"""Token spend in LangChain loops: a scripted chat model whose messages carry ``usage_metadata`` (as
LangChain's provider models report it), a real `thoth serve`; the stored LLM_INVOCATION events and
the session's ``token_spend`` must hold the exact counts."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

pytest.importorskip("langchain_core")
pytest.importorskip("langchain_classic")
pytest.importorskip("langchain.agents")

from langchain.agents import create_agent
from langchain_classic.agents import AgentExecutor, create_tool_calling_agent
from langchain_core.messages import AIMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.tools import tool

from tests.integrations._langchain_model import scripted
from tests.integrations._shared import make_tracer, stored_events
from thoth.integrations.langchain import middleware, usage_callback

pytestmark = pytest.mark.integration

PROMPT = ChatPromptTemplate.from_messages([("human", "{input}"), ("placeholder", "{agent_scratchpad}")])


@tool
def web_search(query: str) -> str:
    """Search the web for current information."""
    return f"results for {query}"


def _turns() -> list[AIMessage]:
    """A tool call turn (100 in, 20 out) then the answer (150 in, 5 out); model name as providers set it."""
    return [
        AIMessage(
            "",
            tool_calls=[
                {"name": "web_search", "args": {"query": "AAPL"}, "id": "call_s", "type": "tool_call"}
            ],
            usage_metadata={"input_tokens": 100, "output_tokens": 20, "total_tokens": 120},
            response_metadata={"model_name": "gpt-4o-mini"},
        ),
        AIMessage(
            "Here is what I found.",
            usage_metadata={"input_tokens": 150, "output_tokens": 5, "total_tokens": 155},
            response_metadata={"model_name": "gpt-4o-mini"},
        ),
    ]


def _llm_counts(server: Any, agent_id: str) -> list[tuple[Any, ...]]:
    llm = [e for e in stored_events(server, agent_id) if e["event_type"] == "LLM_INVOCATION"]
    assert all(e["content"] == "" and e["source_type"] == "agent_llm_invocation" for e in llm)
    assert all(isinstance(e["metadata"]["latency_ms"], float) for e in llm)
    return [
        tuple(e["metadata"][k] for k in ("model", "input_tokens", "output_tokens", "total_tokens"))
        for e in llm
    ]


EXPECTED = [("gpt-4o-mini", 100, 20, 120), ("gpt-4o-mini", 150, 5, 155)]


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_create_agent_middleware_records_each_model_call(thoth_server: Any, mode: str) -> None:
    agent_id = f"lc-tok-{uuid.uuid4().hex[:8]}"
    tracer = make_tracer(thoth_server, agent_id, ["web_search"], "block")
    agent = create_agent(scripted(*_turns()), [web_search], middleware=[middleware(tracer)])

    request = {"messages": [("user", "search")]}
    out = agent.invoke(request) if mode == "sync" else await agent.ainvoke(request)

    assert out["messages"][-1].content == "Here is what I found."
    assert tracer.session.token_spend == 275
    assert _llm_counts(thoth_server, agent_id) == EXPECTED


def test_agent_executor_usage_callback_records_on_llm_end(thoth_server: Any) -> None:
    agent_id = f"lc-tok-{uuid.uuid4().hex[:8]}"
    tracer = make_tracer(thoth_server, agent_id, ["web_search"], "block")
    model = scripted(*_turns())
    executor = AgentExecutor(agent=create_tool_calling_agent(model, [web_search], PROMPT), tools=[web_search])

    out = executor.invoke({"input": "search"}, config={"callbacks": [usage_callback(tracer)]})

    assert out["output"] == "Here is what I found."
    assert tracer.session.token_spend == 275
    assert _llm_counts(thoth_server, agent_id) == EXPECTED
