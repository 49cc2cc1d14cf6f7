"""autogen-agentchat 0.7: instrument() on an ``AssistantAgent`` (``tools=`` or ``workbench=``) and
on a team publishes the tools (name, description, input schema without default values) to a real
`thoth serve`'s tool inventory."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("autogen_agentchat")
pytest.importorskip("autogen_ext")

from agentchat_support import model
from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.teams import RoundRobinGroupChat
from autogen_core.tools import FunctionTool, StaticWorkbench

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
    """Search the knowledge base."""
    return f"3 documents about {query}"


async def send_email(to: str, body: str) -> str:
    return f"sent to {to}"  # no docstring: the FunctionTool's description is the one recorded


def _email_tool() -> FunctionTool:
    return FunctionTool(send_email, name="send_email", description="Send an email.")


def _agent(shape: str) -> Any:
    """An AssistantAgent given a plain function and a FunctionTool, as ``tools=`` or as a
    ``workbench=``; or a team of one such agent."""
    if shape == "agent_workbench":
        workbench = StaticWorkbench(
            [FunctionTool(search_docs, description=search_docs.__doc__ or ""), _email_tool()]
        )
        return AssistantAgent("assistant", model_client=model("done"), workbench=workbench)
    agent = AssistantAgent("assistant", model_client=model("done"), tools=[search_docs, _email_tool()])
    return RoundRobinGroupChat([agent], max_turns=1) if shape == "team" else agent


@pytest.mark.parametrize("shape", ["agent_tools", "agent_workbench", "team"])
def test_agent_tools_are_recorded(thoth_server: Any, shape: str) -> None:
    agent_id = new_agent_id("agentchat-inv")
    target = _agent(shape)

    thoth.instrument(target, **governed_options(thoth_server, agent_id, ["search_docs"], "block"))

    recorded = recorded_tools(thoth_server, agent_id)
    assert set(recorded) == {"search_docs", "send_email"}
    assert recorded["search_docs"]["description"] == "Search the knowledge base."
    assert recorded["send_email"]["description"] == "Send an email."
    assert set(recorded["search_docs"]["input_schema"]["properties"]) == {"query", "api_key"}
    assert recorded["search_docs"]["input_schema"]["required"] == ["query"]
    assert set(recorded["send_email"]["input_schema"]["properties"]) == {"to", "body"}
    assert_no_default_values(recorded, SECRET)
