"""CrewAI: before/after tool-call hooks scoped to an instrumented Agent or Crew, driven by a
scripted LLM (native function calling and ReAct text) against a real `thoth serve`."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from typing import Any

import pytest

os.environ.setdefault("CREWAI_DISABLE_TELEMETRY", "true")
os.environ.setdefault("OTEL_SDK_DISABLED", "true")
pytest.importorskip("crewai.hooks")  # a submodule: never mistake this test directory for the package

from crewai import Agent, Crew, Task
from crewai_support import ScriptedLLM, Tools, last_prompt_text, native_calls, react_call, react_final

import thoth
from tests.integrations._shared import REFUSAL_MARK, Approver, events, governed_options
from thoth.integrations import crewai as thoth_crewai

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


def _crew(llm: ScriptedLLM, tools: Tools) -> tuple[Agent, Crew]:
    agent = Agent(role="Researcher", goal="Find information", backstory="Careful.", llm=llm, tools=tools.all)
    task = Task(description="Research and tidy up", expected_output="a summary", agent=agent)
    return agent, Crew(agents=[agent], tasks=[task])


def _kickoff(crew: Crew, mode: str) -> Any:
    """Sync kickoff, or one of CrewAI's two async ones, each from a context it accepts."""
    if mode == "sync":
        return crew.kickoff()
    return asyncio.run(crew.kickoff_async() if mode == "kickoff_async" else crew.akickoff())


def _agent_id() -> str:
    return f"crew-{uuid.uuid4().hex[:8]}"


def _options(server: Any, agent_id: str, enforcement: str, **extra: Any) -> dict[str, Any]:
    return governed_options(server, agent_id, ["web_search"], enforcement, **extra)


@pytest.fixture(autouse=True)
def _forget_instrumented() -> Any:
    yield
    thoth_crewai._reset()


@pytest.mark.parametrize("mode", ["sync", "kickoff_async", "akickoff"])
def test_native_tool_calls_allowed_and_refused(thoth_server: Any, mode: str) -> None:
    tools, agent_id = Tools(), _agent_id()
    llm = ScriptedLLM(
        model="scripted",
        script=[
            native_calls(
                ("web_search", {"query": "thoth"}, "call_s"), ("delete_record", {"record_id": "42"}, "call_d")
            ),
            "Summary: found 3 results; deleting was not allowed.",
        ],
    )
    agent, crew = _crew(llm, tools)
    assert thoth.instrument(agent, **_options(thoth_server, agent_id, "block")) is agent

    out = _kickoff(crew, mode)

    assert out.raw == "Summary: found 3 results; deleting was not allowed."
    assert tools.ran == ["search:thoth"]  # delete_record's body never ran
    answers = {m["tool_call_id"]: m["content"] for m in llm.prompts[-1] if m.get("role") == "tool"}
    assert answers["call_s"] == "3 results for thoth"
    assert answers["call_d"].startswith(REFUSAL_MARK)
    assert "delete_record" in answers["call_d"]
    kinds = [(kind, name) for kind, name, _ in events(thoth_server, agent_id)]
    assert ("TOOL_CALL_PRE", "web_search") in kinds
    assert ("TOOL_CALL_POST", "web_search") in kinds
    assert ("TOOL_CALL_BLOCK", "delete_record") in kinds
    assert ("TOOL_CALL_POST", "delete_record") not in kinds


def test_react_text_tool_calls_allowed_and_refused(thoth_server: Any) -> None:
    tools, agent_id = Tools(), _agent_id()
    llm = ScriptedLLM(
        model="scripted",
        native=False,
        script=[
            react_call("web_search", {"query": "thoth"}),
            react_call("delete_record", {"record_id": "42"}),
            react_final("done"),
        ],
    )
    _, crew = _crew(llm, tools)
    thoth.instrument(crew, **_options(thoth_server, agent_id, "block"))  # crew-wide this time

    assert crew.kickoff().raw == "done"

    assert tools.ran == ["search:thoth"]
    assert f"Observation: {REFUSAL_MARK}" in last_prompt_text(llm)
    kinds = [(kind, name) for kind, name, _ in events(thoth_server, agent_id)]
    assert ("TOOL_CALL_BLOCK", "delete_record") in kinds


def test_step_up_approved_while_the_crew_waits(thoth_server: Any) -> None:
    tools, agent_id = Tools(), _agent_id()
    llm = ScriptedLLM(
        model="scripted",
        script=[
            native_calls(("delete_record", {"record_id": "7"}, "call_d")),
            "Deleted record 7.",
        ],
    )
    agent, crew = _crew(llm, tools)
    thoth.instrument(agent, **_options(thoth_server, agent_id, "step_up"))

    with Approver(thoth_server, agent_id) as approver:
        out = crew.kickoff()

    assert len(approver.approved) == 1
    assert out.raw == "Deleted record 7."
    assert tools.ran == ["delete:7"]
    kinds = [(kind, name) for kind, name, _ in events(thoth_server, agent_id)]
    assert ("TOOL_CALL_POST", "delete_record") in kinds


def test_only_instrumented_agents_are_governed(thoth_server: Any) -> None:
    tools, agent_id = Tools(), _agent_id()
    governed_llm = ScriptedLLM(
        model="scripted",
        script=[
            native_calls(("delete_record", {"record_id": "1"}, "c1")),
            "refused",
        ],
    )
    other_llm = ScriptedLLM(
        model="scripted",
        script=[
            native_calls(("delete_record", {"record_id": "2"}, "c2")),
            "deleted",
        ],
    )
    governed_agent, governed_crew = _crew(governed_llm, tools)
    _, other_crew = _crew(other_llm, tools)
    thoth.instrument(governed_agent, **_options(thoth_server, agent_id, "block"))

    governed_crew.kickoff()
    other_crew.kickoff()

    assert tools.ran == ["delete:2"]  # the other crew is none of Thoth's business
    assert {name for _, name, _ in events(thoth_server, agent_id)} == {"delete_record"}


def test_unreachable_enforcer_fails_closed_inside_the_hook(thoth_server: Any) -> None:
    with socket.socket() as probe:  # a local port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead_url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    tools = Tools()
    llm = ScriptedLLM(
        model="scripted",
        script=[
            native_calls(("web_search", {"query": "x"}, "c1")),
            "could not search",
        ],
    )
    agent, crew = _crew(llm, tools)
    options = _options(thoth_server, _agent_id(), "block", decision_timeout_seconds=1.0)
    thoth.instrument(agent, **{**options, "api_url": dead_url})

    assert crew.kickoff().raw == "could not search"

    assert tools.ran == []  # even the in-scope tool did not run
    answers = [m["content"] for m in llm.prompts[-1] if m.get("role") == "tool"]
    assert answers
    assert answers[0].startswith(REFUSAL_MARK)


def test_instrument_rejects_other_objects() -> None:
    with pytest.raises(thoth.ThothConfigError, match="Agent or Crew"):
        thoth_crewai.instrument(object(), tracer=None)  # type: ignore[arg-type]


def test_modify_rewrites_the_arguments_crewai_runs(make_thoth_server: Any) -> None:
    server = make_thoth_server(
        "version: 1\nrules:\n  - id: safe-search\n    tools: [web_search]\n    decision: MODIFY\n"
        "    modify: {set: {query: public}}\n"
    )
    tools, agent_id = Tools(), _agent_id()
    llm = ScriptedLLM(
        model="scripted", script=[native_calls(("web_search", {"query": "secret"}, "c1")), "ok"]
    )
    agent, crew = _crew(llm, tools)
    thoth.instrument(agent, **governed_options(server, agent_id, ["web_search"], "block"))

    crew.kickoff()

    assert tools.ran == ["search:public"]
