"""Token spend in pydantic-ai runs: a ``FunctionModel`` whose responses carry ``RequestUsage`` (as
pydantic-ai's provider models fill it), a real `thoth serve`; the stored LLM_INVOCATION events and the
session's ``token_spend`` must hold the exact counts, each model request counted once."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("pydantic_ai")

from pydantic_ai import Agent
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel
from pydantic_ai.usage import RequestUsage

import thoth
from tests.integrations._shared import governed_options, make_tracer, new_agent_id, stored_events
from thoth.integrations.pydantic_ai import thoth_capability

pytestmark = pytest.mark.integration


def _model() -> FunctionModel:
    turns = [
        ModelResponse(
            parts=[ToolCallPart(tool_name="search_docs", args={"query": "a"}, tool_call_id="c-a")],
            usage=RequestUsage(input_tokens=40, output_tokens=8),
            model_name="gpt-4o",
        ),
        ModelResponse(
            parts=[TextPart("done")],
            usage=RequestUsage(input_tokens=70, output_tokens=3),
            model_name="gpt-4o",
        ),
    ]

    def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        return turns.pop(0)

    return FunctionModel(respond)


def _agent(**options: Any) -> Agent[None, str]:
    agent: Agent[None, str] = Agent(_model(), **options)

    @agent.tool_plain
    def search_docs(query: str) -> str:
        """Search the knowledge base."""
        return f"3 documents about {query}"

    return agent


def _llm_counts(server: Any, agent_id: str) -> list[tuple[Any, ...]]:
    llm = [e for e in stored_events(server, agent_id) if e["event_type"] == "LLM_INVOCATION"]
    assert all(e["content"] == "" and e["source_type"] == "agent_llm_invocation" for e in llm)
    return [
        tuple(e["metadata"][k] for k in ("model", "input_tokens", "output_tokens", "total_tokens"))
        for e in llm
    ]


# FunctionModel names itself in the response (a provider model gives its model id there)
EXPECTED = [("function:respond:", 40, 8, 48), ("function:respond:", 70, 3, 73)]


def test_instrumented_agent_records_each_model_request(thoth_server: Any) -> None:
    agent_id = new_agent_id("pai-tok")
    agent = _agent()
    thoth.instrument(agent, **governed_options(thoth_server, agent_id, ["search_docs"], "block"))

    assert agent.run_sync("go").output == "done"

    assert _llm_counts(thoth_server, agent_id) == EXPECTED


async def test_capability_agent_counts_each_request_once(thoth_server: Any) -> None:
    agent_id = new_agent_id("pai-tok")
    tracer = make_tracer(thoth_server, agent_id, ["search_docs"], "block")
    agent = _agent(capabilities=[thoth_capability(tracer)])  # a run adds the per-run capability too

    assert (await agent.run("go")).output == "done"

    assert tracer.session.token_spend == 121
    assert _llm_counts(thoth_server, agent_id) == EXPECTED
