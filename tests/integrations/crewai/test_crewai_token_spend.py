"""Token spend in CrewAI runs: a scripted LLM that reports each call as CrewAI's providers do (the
LLMCallCompletedEvent with the provider's usage dict) and a real `thoth serve`; the stored
LLM_INVOCATION events and the session's `token_spend` must hold the exact counts, each model call
counted once and only under the agent that made it."""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace as NS
from typing import Any

import pytest

os.environ.setdefault("CREWAI_DISABLE_TELEMETRY", "true")
os.environ.setdefault("OTEL_SDK_DISABLED", "true")
pytest.importorskip("crewai.hooks")  # a submodule: never mistake this test directory for the package

from crewai import Agent, Crew, Task
from crewai_support import NO_USAGE, Tools, UsageLLM, anthropic_usage, native_calls, openai_usage

from tests.integrations._shared import make_tracer, stored_events
from thoth.integrations import crewai as thoth_crewai

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


@pytest.fixture(autouse=True)
def _forget_instrumented() -> Any:
    yield
    thoth_crewai._reset()


def _agent(role: str, llm: UsageLLM, tools: Tools) -> Agent:
    return Agent(role=role, goal="Find information", backstory="Careful.", llm=llm, tools=tools.all)


def _task(agent: Agent) -> Task:
    return Task(description="Research", expected_output="a summary", agent=agent)


def _llm_counts(server: Any, agent_id: str) -> list[tuple[Any, ...]]:
    llm = [e for e in stored_events(server, agent_id) if e["event_type"] == "LLM_INVOCATION"]
    assert all(e["content"] == "" and e["source_type"] == "agent_llm_invocation" for e in llm)
    latencies = [e["metadata"]["latency_ms"] for e in llm]
    assert all(isinstance(ms, float) and ms >= 0 for ms in latencies), latencies
    # CrewAI runs event handlers in a thread pool: the record order of two calls is not guaranteed
    return sorted(
        tuple(e["metadata"][k] for k in ("model", "input_tokens", "output_tokens", "total_tokens"))
        for e in llm
    )


@pytest.mark.parametrize("mode", ["sync", "akickoff"])
def test_each_model_call_is_counted_once(thoth_server: Any, mode: str) -> None:
    agent_id = f"crew-tok-{uuid.uuid4().hex[:8]}"
    tracer = make_tracer(thoth_server, agent_id, ["web_search"], "block")
    llm = UsageLLM(
        model="gpt-4o",
        script=[
            native_calls(("web_search", {"query": "thoth"}, "call_1")),
            native_calls(("web_search", {"query": "more"}, "call_2")),
            "Summary: 3 results.",
        ],
        usages=[openai_usage(120, 30, cached=100), NO_USAGE, anthropic_usage(40, 5, 3, 7)],
    )
    agent = _agent("Researcher", llm, Tools())
    crew = Crew(agents=[agent], tasks=[_task(agent)])
    thoth_crewai.instrument(agent, tracer)

    out = crew.kickoff() if mode == "sync" else asyncio.run(crew.akickoff())

    assert out.raw == "Summary: 3 results."
    # the call without usage records nothing; the cache tokens CrewAI folded into input count once
    assert tracer.session.token_spend == 150 + 55
    assert tracer.session.token_spend == llm.get_token_usage_summary().total_tokens  # CrewAI's own sum
    assert _llm_counts(thoth_server, agent_id) == [("gpt-4o", 50, 5, 55), ("gpt-4o", 120, 30, 150)]


def test_only_the_calling_agents_tracer_counts(thoth_server: Any) -> None:
    """Two agents share one LLM instance; only the instrumented one's calls are its spend."""
    agent_id = f"crew-tok-{uuid.uuid4().hex[:8]}"
    tracer = make_tracer(thoth_server, agent_id, ["web_search"], "block")
    llm = UsageLLM(
        model="gpt-4o-mini",
        script=[native_calls(("web_search", {"query": "a"}, "c1")), "first done", "second done"],
        usages=[openai_usage(10, 2), openai_usage(20, 3), openai_usage(1000, 500)],
    )
    tools = Tools()
    governed, other = _agent("Researcher", llm, tools), _agent("Writer", llm, tools)
    crew = Crew(agents=[governed, other], tasks=[_task(governed), _task(other)])
    thoth_crewai.instrument(governed, tracer)

    assert crew.kickoff().raw == "second done"

    assert tracer.session.token_spend == 12 + 23  # the Writer's 1,500 tokens are not this agent's
    assert _llm_counts(thoth_server, agent_id) == [("gpt-4o-mini", 10, 2, 12), ("gpt-4o-mini", 20, 3, 23)]


@pytest.mark.parametrize(
    "event",
    [
        NS(call_id="x", agent_id="a-1", model="m", usage={"prompt_tokens": "many"}, timestamp=None),
        NS(call_id=None, agent_id="a-1", model=7, usage="lots", timestamp="noon"),
        NS(),  # nothing CrewAI would send
    ],
)
def test_a_malformed_event_records_nothing_and_never_raises(thoth_server: Any, event: Any) -> None:
    tracer = make_tracer(thoth_server, f"crew-tok-{uuid.uuid4().hex[:8]}", [], "block")
    token = thoth_crewai._llm_caller.set(thoth_crewai._LLMCaller("a-1", tracer))
    try:
        thoth_crewai._on_llm_started(None, event)
        thoth_crewai._on_llm_completed(None, event)
        thoth_crewai._before_llm_call(NS(agent=NS(id=None)))  # an agent without an id: no caller
    finally:
        assert thoth_crewai._llm_caller.get() is None
        thoth_crewai._llm_caller.reset(token)
    assert tracer.session.token_spend == 0


def test_an_event_of_another_agent_is_not_the_callers(thoth_server: Any) -> None:
    """The caller a context remembers is stale for a call CrewAI ran no hook for (a direct
    ``llm.call(from_agent=...)`` of a custom LLM): the event's agent id must match it."""
    agent_id = f"crew-tok-{uuid.uuid4().hex[:8]}"
    tracer = make_tracer(thoth_server, agent_id, [], "block")
    usage = openai_usage(7, 1)
    token = thoth_crewai._llm_caller.set(thoth_crewai._LLMCaller("a-1", tracer))
    try:
        for agent in ("b-2", None, "a-1"):
            now = datetime.now(UTC)
            event = NS(call_id=f"c-{agent}", agent_id=agent, model="m", usage=usage, timestamp=now)
            thoth_crewai._on_llm_completed(None, event)
    finally:
        thoth_crewai._llm_caller.reset(token)
    assert tracer.session.token_spend == 8
    assert _llm_counts(thoth_server, agent_id) == [("m", 7, 1, 8)]
