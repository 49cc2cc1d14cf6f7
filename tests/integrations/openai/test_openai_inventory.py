"""OpenAI: the tools of an OpenAI tool loop are the application's own functions (the `openai`
client holds no tools, only the JSON it sends). instrument_openai() and instrument() on the dict
of tool functions publish them (name, docstring, input schema from the signature, without default
values) to a real `thoth serve`'s tool inventory."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("openai.types.chat")  # a submodule: never mistake this test directory for the package

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
    """Search the internal docs."""
    return f"2 docs about {query}"


def send_email(to: str, subject: str, body: str) -> str:
    """Send an email."""
    return "sent"


@pytest.mark.parametrize("entry_point", ["instrument_openai", "instrument"])
def test_tool_functions_are_recorded(thoth_server: Any, entry_point: str) -> None:
    agent_id = new_agent_id("oai-inv")
    tools = {"search_docs": search_docs, "send_email": send_email}
    options = governed_options(thoth_server, agent_id, ["search_docs"], "block")
    if entry_point == "instrument_openai":
        thoth.instrument_openai(tools, **options)
    else:
        thoth.instrument(tools, **options)

    recorded = recorded_tools(thoth_server, agent_id)
    assert set(recorded) == {"search_docs", "send_email"}
    assert recorded["search_docs"]["description"] == "Search the internal docs."
    assert recorded["send_email"]["description"] == "Send an email."
    search_schema = recorded["search_docs"]["input_schema"]
    assert set(search_schema["properties"]) == {"query", "api_key"}
    assert search_schema["properties"]["query"]["type"] == "string"
    assert search_schema["required"] == ["query"]
    assert set(recorded["send_email"]["input_schema"]["properties"]) == {"to", "subject", "body"}
    assert recorded["send_email"]["input_schema"]["required"] == ["to", "subject", "body"]
    assert_no_default_values(recorded, SECRET)
