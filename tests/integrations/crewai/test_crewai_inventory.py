"""CrewAI: instrument() on an ``Agent`` and on a ``Crew`` publishes the tools (``@tool`` functions,
``BaseTool`` subclasses with an ``args_schema``, a task's own tools: name, description, input schema
without default values) to a real `thoth serve`'s tool inventory."""

from __future__ import annotations

import os
from typing import Any

import pytest

os.environ.setdefault("CREWAI_DISABLE_TELEMETRY", "true")
os.environ.setdefault("OTEL_SDK_DISABLED", "true")
pytest.importorskip("crewai.hooks")  # a submodule: never mistake this test directory for the package

from crewai import Agent, Crew, Task
from crewai.tools import BaseTool, tool
from crewai_support import ScriptedLLM
from pydantic import BaseModel, Field

import thoth
from tests.integrations._shared import (
    assert_no_default_values,
    governed_options,
    new_agent_id,
    recorded_tools,
)

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

SECRET = "sk-test-not-a-secret"


@tool("web_search")
def web_search(query: str, api_key: str = SECRET) -> str:
    """Search the web."""
    return f"3 results for {query}"


class DeleteInput(BaseModel):
    record_id: str = Field(description="The record to delete.")
    hard: bool = Field(default=False, description="Delete for good.")


class DeleteRecord(BaseTool):
    name: str = "delete_record"
    description: str = "Delete a customer record."
    args_schema: type[BaseModel] = DeleteInput

    def _run(self, record_id: str, hard: bool = False) -> str:
        return f"deleted {record_id}"


@tool("summarize")
def summarize(text: str, max_words: int = 50) -> str:
    """Summarize a text."""
    return text[:max_words]


def _agent() -> Agent:
    llm = ScriptedLLM(model="scripted", script=[])
    return Agent(
        role="Researcher",
        goal="Find information",
        backstory="Careful.",
        llm=llm,
        tools=[web_search, DeleteRecord()],
    )


def _assert_recorded(recorded: dict[str, dict[str, Any]]) -> None:
    assert recorded["web_search"]["description"] == "Search the web."
    assert recorded["delete_record"]["description"] == "Delete a customer record."
    assert set(recorded["web_search"]["input_schema"]["properties"]) == {"query", "api_key"}
    assert recorded["web_search"]["input_schema"]["required"] == ["query"]
    delete_properties = recorded["delete_record"]["input_schema"]["properties"]
    assert set(delete_properties) == {"record_id", "hard"}
    assert delete_properties["record_id"]["description"] == "The record to delete."
    assert_no_default_values(recorded, SECRET)


def test_agent_tools_are_recorded(thoth_server: Any) -> None:
    agent_id = new_agent_id("crewai-inv")
    agent = _agent()

    thoth.instrument(agent, **governed_options(thoth_server, agent_id, ["web_search"], "block"))

    recorded = recorded_tools(thoth_server, agent_id)
    assert set(recorded) == {"web_search", "delete_record"}
    _assert_recorded(recorded)


def test_crew_tools_are_recorded_with_its_tasks_tools(thoth_server: Any) -> None:
    agent_id = new_agent_id("crewai-inv")
    agent = _agent()
    task = Task(
        description="Research and sum up", expected_output="a summary", agent=agent, tools=[summarize]
    )
    crew = Crew(agents=[agent], tasks=[task])

    thoth.instrument(crew, **governed_options(thoth_server, agent_id, ["web_search"], "block"))

    recorded = recorded_tools(thoth_server, agent_id)
    assert set(recorded) == {"web_search", "delete_record", "summarize"}
    _assert_recorded(recorded)
    assert recorded["summarize"]["description"] == "Summarize a text."
    assert set(recorded["summarize"]["input_schema"]["properties"]) == {"text", "max_words"}
