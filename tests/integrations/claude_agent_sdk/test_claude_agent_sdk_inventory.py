"""Claude Agent SDK: what instrument() on ``ClaudeAgentOptions`` publishes to a real `thoth serve`'s
tool inventory.

The agent's own tools are in-process SDK MCP tools (``@tool`` + ``create_sdk_mcp_server``), which
the CLI calls ``mcp__<server>__<tool>``. ``create_sdk_mcp_server`` keeps them only inside the
request handlers of the low-level ``mcp`` ``Server`` it builds (closures, no attribute), so the
options hold no tool list Thoth can read at instrument time: nothing is published yet. The test
states the inventory the options should publish and is a strict xfail until the integration can
list them (it then fails as XPASS, and the marker goes)."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytest.importorskip("claude_agent_sdk")

from claude_agent_sdk import ClaudeAgentOptions, create_sdk_mcp_server, tool

import thoth
from tests.integrations._shared import governed_options, new_agent_id, recorded_tools

pytestmark = pytest.mark.integration

SECRET = "sk-test-not-a-secret"
SEARCH, EMAIL = "mcp__docs__search_docs", "mcp__docs__send_email"


def _options() -> ClaudeAgentOptions:
    @tool("search_docs", "Search the knowledge base", {"query": str})
    async def search_docs(args: dict[str, Any]) -> dict[str, Any]:
        return {"content": [{"type": "text", "text": f"3 documents about {args['query']}"}]}

    email_schema = {
        "type": "object",
        "properties": {
            "to": {"type": "string"},
            "body": {"type": "string"},
            "api_key": {"type": "string", "default": SECRET},
        },
        "required": ["to", "body"],
    }

    @tool("send_email", "Send an email", email_schema)
    async def send_email(args: dict[str, Any]) -> dict[str, Any]:
        return {"content": [{"type": "text", "text": f"sent to {args['to']}"}]}

    return ClaudeAgentOptions(
        mcp_servers={"docs": create_sdk_mcp_server("docs", tools=[search_docs, send_email])},
        tools=[],  # no built-in tools: the agent only has the SDK MCP ones
        setting_sources=[],
    )


@pytest.mark.xfail(
    strict=True,
    reason="create_sdk_mcp_server keeps its tools in handler closures: ClaudeAgentOptions publish none",
)
def test_sdk_mcp_tools_are_recorded(thoth_server: Any) -> None:
    agent_id = new_agent_id("claude-sdk-inv")
    opts = _options()

    thoth.instrument(opts, **governed_options(thoth_server, agent_id, [SEARCH], "block"))

    recorded = recorded_tools(thoth_server, agent_id)
    assert set(recorded) == {SEARCH, EMAIL}
    assert recorded[SEARCH]["description"] == "Search the knowledge base"
    assert recorded[EMAIL]["description"] == "Send an email"
    assert set(recorded[SEARCH]["input_schema"]["properties"]) == {"query"}
    assert set(recorded[EMAIL]["input_schema"]["properties"]) == {"to", "body", "api_key"}
    for entry in recorded.values():
        assert SECRET not in json.dumps(entry["input_schema"])
