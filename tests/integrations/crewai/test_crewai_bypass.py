"""CrewAI bypass matrix: every public way a crew or agent runs a tool, driven by scripted LLMs against a
real `thoth serve`. In each, delete_record is outside the approved scope (enforcement "block"): its body
must never run and the enforcer must record the refusal under the agent id that governs the call."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest

os.environ.setdefault("CREWAI_DISABLE_TELEMETRY", "true")
os.environ.setdefault("OTEL_SDK_DISABLED", "true")
pytest.importorskip("crewai.hooks")  # a submodule: never mistake this test directory for the package

from crewai import Agent, Crew, Process, Task
from crewai.flow.flow import Flow, start
from crewai.state.checkpoint_config import CheckpointConfig
from crewai_support import CallThenAnswerLLM, ScriptedLLM, Tools, native_calls

import thoth
from tests.integrations._shared import REFUSAL_MARK, events, governed_options, new_agent_id
from thoth.integrations import crewai as thoth_crewai

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

DELETE = native_calls(("delete_record", {"record_id": "42"}, "call_d"))


@pytest.fixture(autouse=True)
def _forget_instrumented() -> Any:
    yield
    thoth_crewai._reset()


def _options(server: Any, agent_id: str, scope: tuple[str, ...] = ("web_search",)) -> dict[str, Any]:
    return governed_options(server, agent_id, list(scope), "block")


def _agent(llm: ScriptedLLM, tools: list[Any], role: str = "Researcher", **extra: Any) -> Agent:
    return Agent(role=role, goal="Find information", backstory="Careful.", llm=llm, tools=tools, **extra)


def _crew(agent: Agent, **extra: Any) -> Crew:
    task = Task(description="Research and tidy up", expected_output="a summary", agent=agent)
    return Crew(agents=[agent], tasks=[task], **extra)


def _deletes_once() -> CallThenAnswerLLM:
    return CallThenAnswerLLM(model="scripted", calls=DELETE, answer="deleting was not allowed")


def _assert_refused(server: Any, agent_id: str, tools: Tools, times: int = 1) -> None:
    """delete_record never ran, and the enforcer recorded each refusal under ``agent_id``."""
    assert not [ran for ran in tools.ran if ran.startswith("delete:")]
    kinds = [(kind, name) for kind, name, _ in events(server, agent_id)]
    assert kinds.count(("TOOL_CALL_BLOCK", "delete_record")) == times
    assert ("TOOL_CALL_POST", "delete_record") not in kinds


@pytest.mark.parametrize("target", ["crew", "agent"])
def test_crew_copy_is_governed(thoth_server: Any, target: str) -> None:
    tools, agent_id = Tools(), new_agent_id("crew")
    agent = _agent(_deletes_once(), tools.all)
    crew = _crew(agent)
    thoth.instrument(crew if target == "crew" else agent, **_options(thoth_server, agent_id))

    clone = crew.copy()

    assert clone.id != crew.id and clone.agents[0].id != agent.id
    assert clone.kickoff().raw == "deleting was not allowed"
    _assert_refused(thoth_server, agent_id, tools)


@pytest.mark.parametrize("how", ["copy", "model_copy"])
def test_agent_copies_are_governed(thoth_server: Any, how: str) -> None:
    tools, agent_id = Tools(), new_agent_id("crew")
    agent = _agent(_deletes_once(), tools.all)
    thoth.instrument(agent, **_options(thoth_server, agent_id))

    clone = agent.copy() if how == "copy" else agent.model_copy()

    _crew(clone).kickoff()
    _assert_refused(thoth_server, agent_id, tools)


@pytest.mark.parametrize("mode", ["kickoff", "kickoff_async", "akickoff"])
def test_standalone_agent_kickoff_and_its_copy(thoth_server: Any, mode: str) -> None:
    tools, agent_id = Tools(), new_agent_id("crew")
    agent = _agent(_deletes_once(), tools.all)
    thoth.instrument(agent, **_options(thoth_server, agent_id))

    for runner in (agent, agent.copy()):
        run = getattr(runner, mode)
        out = run("tidy up") if mode == "kickoff" else asyncio.run(run("tidy up"))
        assert out.raw == "deleting was not allowed"

    _assert_refused(thoth_server, agent_id, tools, times=2)


@pytest.mark.parametrize("method", ["kickoff_for_each", "kickoff_for_each_async", "akickoff_for_each"])
@pytest.mark.parametrize("target", ["crew", "agent"])
def test_for_each_runs_copies_that_are_governed(thoth_server: Any, method: str, target: str) -> None:
    tools, agent_id = Tools(), new_agent_id("crew")
    agent = _agent(_deletes_once(), tools.all)
    crew = _crew(agent)
    thoth.instrument(crew if target == "crew" else agent, **_options(thoth_server, agent_id))
    inputs = [{"n": "1"}, {"n": "2"}]

    run = getattr(crew, method)
    outputs = run(inputs=inputs) if method == "kickoff_for_each" else asyncio.run(run(inputs=inputs))

    assert [out.raw for out in outputs] == ["deleting was not allowed"] * 2
    _assert_refused(thoth_server, agent_id, tools, times=2)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_streaming_kickoff_is_governed(thoth_server: Any, mode: str) -> None:
    tools, agent_id = Tools(), new_agent_id("crew")
    agent = _agent(_deletes_once(), tools.all)
    crew = _crew(agent, stream=True)
    thoth.instrument(crew, **_options(thoth_server, agent_id))

    if mode == "sync":
        streaming = crew.kickoff()
        list(streaming)
    else:

        async def consume() -> Any:
            streaming = await crew.akickoff()
            return [chunk async for chunk in streaming], streaming

        _, streaming = asyncio.run(consume())

    assert streaming.result.raw == "deleting was not allowed"
    _assert_refused(thoth_server, agent_id, tools)


def test_agent_tracer_wins_over_its_crews(thoth_server: Any) -> None:
    tools, agent_id, crew_id = Tools(), new_agent_id("agent"), new_agent_id("crew")
    agent = _agent(_deletes_once(), tools.all)
    crew = _crew(agent)
    thoth.instrument(crew, **_options(thoth_server, crew_id, ("web_search", "delete_record")))
    thoth.instrument(agent, **_options(thoth_server, agent_id))

    crew.kickoff()
    crew.copy().kickoff()  # and in a copy

    _assert_refused(thoth_server, agent_id, tools, times=2)
    assert events(thoth_server, crew_id) == []


def test_tool_added_after_instrument_is_governed(thoth_server: Any) -> None:
    tools, agent_id = Tools(), new_agent_id("crew")
    agent = _agent(_deletes_once(), [tools.web_search])
    thoth.instrument(agent, **_options(thoth_server, agent_id))

    agent.tools.append(tools.delete_record)
    _crew(agent).kickoff()

    _assert_refused(thoth_server, agent_id, tools)


def test_task_level_tools_are_governed(thoth_server: Any) -> None:
    tools, agent_id = Tools(), new_agent_id("crew")
    agent = _agent(_deletes_once(), [])
    task = Task(description="Tidy up", expected_output="a summary", agent=agent, tools=[tools.delete_record])
    thoth.instrument(agent, **_options(thoth_server, agent_id))

    Crew(agents=[agent], tasks=[task]).kickoff()

    _assert_refused(thoth_server, agent_id, tools)


def test_shared_tool_is_decided_under_the_agent_that_runs_it(thoth_server: Any) -> None:
    tools, strict_id, trusted_id = Tools(), new_agent_id("strict"), new_agent_id("trusted")
    strict = _agent(_deletes_once(), tools.all, role="Strict")
    trusted = _agent(
        CallThenAnswerLLM(model="scripted", calls=native_calls(("delete_record", {"record_id": "7"}, "c7"))),
        tools.all,  # the very same tool objects
        role="Trusted",
    )
    thoth.instrument(strict, **_options(thoth_server, strict_id))
    thoth.instrument(trusted, **_options(thoth_server, trusted_id, ("web_search", "delete_record")))
    tasks = [Task(description="Tidy up", expected_output="a summary", agent=a) for a in (strict, trusted)]

    Crew(agents=[strict, trusted], tasks=tasks).kickoff()

    assert tools.ran == ["delete:7"]  # the trusted agent's call only
    strict_kinds = [(kind, name) for kind, name, _ in events(thoth_server, strict_id)]
    trusted_kinds = [(kind, name) for kind, name, _ in events(thoth_server, trusted_id)]
    assert ("TOOL_CALL_BLOCK", "delete_record") in strict_kinds
    assert ("TOOL_CALL_POST", "delete_record") not in strict_kinds
    assert ("TOOL_CALL_POST", "delete_record") in trusted_kinds
    assert ("TOOL_CALL_BLOCK", "delete_record") not in trusted_kinds


def test_reinstrument_with_new_settings_takes_effect(thoth_server: Any) -> None:
    tools, first_id, second_id = Tools(), new_agent_id("first"), new_agent_id("second")
    agent = _agent(_deletes_once(), tools.all)
    thoth.instrument(agent, **_options(thoth_server, first_id, ("web_search", "delete_record")))
    thoth.instrument(agent, **_options(thoth_server, second_id))

    _crew(agent).kickoff()

    _assert_refused(thoth_server, second_id, tools)
    assert events(thoth_server, first_id) == []


def test_uninstrument_still_stops_governing(thoth_server: Any) -> None:
    tools, agent_id = Tools(), new_agent_id("crew")
    agent = _agent(_deletes_once(), tools.all)
    crew = _crew(agent)
    thoth.instrument(agent, **_options(thoth_server, agent_id))
    governed_copy = crew.copy()  # made while governed: stays governed

    thoth_crewai.uninstrument(agent)
    crew.kickoff()
    assert tools.ran == ["delete:42"]

    tools.ran.clear()
    governed_copy.kickoff()
    _assert_refused(thoth_server, agent_id, tools)


def test_delegation_to_an_uninstrumented_coworker_is_governed(thoth_server: Any) -> None:
    tools, agent_id = Tools(), new_agent_id("lead")
    delegate = native_calls(
        (
            "delegate_work_to_coworker",
            {"task": "delete record 42", "context": "cleanup", "coworker": "Janitor"},
            "call_w",
        )
    )
    lead = _agent(
        CallThenAnswerLLM(model="scripted", calls=delegate, answer="delegated"),
        [],
        role="Lead",
        allow_delegation=True,
    )
    janitor = _agent(_deletes_once(), [tools.delete_record], role="Janitor")
    thoth.instrument(lead, **_options(thoth_server, agent_id, ("delegate_work_to_coworker",)))
    task = Task(description="Tidy up", expected_output="a summary", agent=lead)

    assert Crew(agents=[lead, janitor], tasks=[task]).kickoff().raw == "delegated"

    _assert_refused(thoth_server, agent_id, tools)  # the coworker ran under the lead's governance


def test_hierarchical_manager_and_its_workers_are_governed(thoth_server: Any) -> None:
    tools, agent_id = Tools(), new_agent_id("worker")
    manager_llm = ScriptedLLM(
        model="scripted",
        script=[
            native_calls(("delete_record", {"record_id": "1"}, "m1")),  # a Task tool the manager runs itself
            native_calls(
                (
                    "delegate_work_to_coworker",
                    {"task": "delete record 2", "context": "cleanup", "coworker": "Researcher"},
                    "m2",
                )
            ),
            "all done",
        ],
    )
    worker = _agent(
        CallThenAnswerLLM(model="scripted", calls=native_calls(("delete_record", {"record_id": "2"}, "w1"))),
        [tools.delete_record],
    )
    thoth.instrument(worker, **_options(thoth_server, agent_id, ("web_search", "delegate_work_to_coworker")))
    task = Task(description="Tidy up", expected_output="a summary", tools=[tools.delete_record])
    crew = Crew(agents=[worker], tasks=[task], process=Process.hierarchical, manager_llm=manager_llm)

    assert crew.kickoff().raw == "all done"

    _assert_refused(thoth_server, agent_id, tools, times=2)
    answers = [m["content"] for m in manager_llm.prompts[-1] if m.get("role") == "tool"]
    assert answers[0].startswith(REFUSAL_MARK)


def test_hierarchical_manager_of_differently_governed_workers_is_refused(thoth_server: Any) -> None:
    tools, first_id, second_id = Tools(), new_agent_id("first"), new_agent_id("second")
    manager_llm = ScriptedLLM(
        model="scripted", script=[native_calls(("delete_record", {"record_id": "1"}, "m1")), "gave up"]
    )
    workers = [_agent(_deletes_once(), [], role=role) for role in ("First", "Second")]
    thoth.instrument(workers[0], **_options(thoth_server, first_id, ("web_search", "delete_record")))
    thoth.instrument(workers[1], **_options(thoth_server, second_id, ("web_search", "delete_record")))
    task = Task(description="Tidy up", expected_output="a summary", tools=[tools.delete_record])
    crew = Crew(agents=workers, tasks=[task], process=Process.hierarchical, manager_llm=manager_llm)

    assert crew.kickoff().raw == "gave up"

    assert tools.ran == []  # no tracer can speak for the manager: refused, not run ungoverned
    answers = [m["content"] for m in manager_llm.prompts[-1] if m.get("role") == "tool"]
    assert answers[0].startswith(REFUSAL_MARK)
    assert "instrument the crew" in answers[0]


def test_flow_running_an_instrumented_crew(thoth_server: Any) -> None:
    tools, agent_id = Tools(), new_agent_id("flow")
    agent = _agent(_deletes_once(), tools.all)
    crew = _crew(agent)
    thoth.instrument(crew, **_options(thoth_server, agent_id))

    class Cleanup(Flow[dict[str, Any]]):
        @start()
        def tidy(self) -> str:
            return str(crew.kickoff().raw)

    assert Cleanup().kickoff() == "deleting was not allowed"
    _assert_refused(thoth_server, agent_id, tools)


@pytest.mark.parametrize("target", ["crew", "agent"])
def test_kickoff_restoring_a_checkpoint_is_refused(thoth_server: Any, tmp_path: Any, target: str) -> None:
    tools, agent_id = Tools(), new_agent_id("crew")
    agent = _agent(_deletes_once(), tools.all)
    crew = _crew(agent)
    thoth.instrument(crew if target == "crew" else agent, **_options(thoth_server, agent_id))
    restore = CheckpointConfig(restore_from=str(tmp_path / "checkpoint.json"))

    with pytest.raises(thoth.ThothConfigError, match="restored from the checkpoint"):
        crew.kickoff(from_checkpoint=restore)
    with pytest.raises(thoth.ThothConfigError, match="restored from the checkpoint"):
        asyncio.run(crew.akickoff(from_checkpoint=restore))
    if target == "agent":
        with pytest.raises(thoth.ThothConfigError, match="restored from the checkpoint"):
            agent.kickoff("tidy up", from_checkpoint=restore)

    assert tools.ran == []
