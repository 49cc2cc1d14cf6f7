"""MCP 2.x: instrument() on an ``MCPServer`` (server side) and on an ``mcp.Client`` connected to it
in memory (client side) publishes the server's tools (name, description, input schema without
default values) to a real `thoth serve`'s tool inventory."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("mcp")

from mcp import Client
from mcp.server.mcpserver import MCPServer

import thoth
from tests.integrations._shared import (
    assert_no_default_values,
    governed_options,
    new_agent_id,
    recorded_tools,
)

pytestmark = pytest.mark.integration

SECRET = "sk-test-not-a-secret"


def build_server() -> MCPServer:
    server = MCPServer("docs")

    @server.tool()
    async def search_docs(query: str, api_key: str = SECRET) -> str:
        """Search the knowledge base."""
        return f"3 documents about {query}"

    @server.tool(name="send_email", description="Send an email.")
    def mail(to: str, body: str) -> str:
        return f"sent to {to}"

    @server.resource("docs://readme")
    def readme() -> str:
        """The readme (a resource, not a tool)."""
        return "read me"

    return server


def _assert_recorded(server: Any, agent_id: str) -> None:
    recorded = recorded_tools(server, agent_id)
    assert set(recorded) == {"search_docs", "send_email"}
    assert recorded["search_docs"]["description"] == "Search the knowledge base."
    assert recorded["send_email"]["description"] == "Send an email."
    assert set(recorded["search_docs"]["input_schema"]["properties"]) == {"query", "api_key"}
    assert recorded["search_docs"]["input_schema"]["required"] == ["query"]
    assert set(recorded["send_email"]["input_schema"]["properties"]) == {"to", "body"}
    assert_no_default_values(recorded, SECRET)


def test_server_tools_are_recorded(thoth_server: Any) -> None:
    agent_id = new_agent_id("mcp-inv-srv")
    server = build_server()

    thoth.instrument(server, **governed_options(thoth_server, agent_id, ["search_docs"], "block"))

    _assert_recorded(thoth_server, agent_id)


async def test_in_memory_client_tools_are_recorded(thoth_server: Any) -> None:
    agent_id = new_agent_id("mcp-inv-client")
    async with Client(build_server()) as client:
        thoth.instrument(client, **governed_options(thoth_server, agent_id, ["search_docs"], "block"))

        _assert_recorded(thoth_server, agent_id)
