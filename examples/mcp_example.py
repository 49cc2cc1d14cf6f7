"""MCP + Thoth: govern tool calls on the server (an extension) or on the client (a session).

    pip install "thoth-sdk[mcp,server]"
    python examples/mcp_example.py

Server side: `MCPServer(extensions=[thoth_extension(tracer)])` (or `thoth.instrument(server, ...)`)
governs every `tools/call`, whoever the caller is. Client side:
`govern_mcp_session(session, tracer)` (or `thoth.instrument(client, ...)`) governs what an agent
calls. Offline: the client reaches the server in memory and Thoth talks to a throwaway local
`thoth serve` (set THOTH_API_URL / THOTH_API_KEY / THOTH_TENANT_ID to use your enforcer).
"""

from __future__ import annotations

import asyncio

from _local_enforcer import enforcer, print_events  # see _local_enforcer.py: a throwaway local enforcer
from mcp import Client
from mcp.server.mcpserver import MCPServer

import thoth

server = MCPServer("docs", log_level="WARNING")


@server.tool()
def search_docs(query: str) -> str:
    """Search internal docs."""
    return f"Data retention policy: customer records are kept 90 days (query {query!r})"


@server.tool()
def delete_record(record_id: str) -> str:
    """Delete a customer record."""
    raise RuntimeError("never reached: delete_record is outside the approved scope")


async def run() -> None:
    async with Client(server) as client:  # any MCP client; the server decides
        for name, args in [("search_docs", {"query": "retention"}), ("delete_record", {"record_id": "42"})]:
            result = await client.call_tool(name, args)
            flag = " (is_error)" if result.is_error else ""
            print(f"  {name}{flag}: {result.content[0].text}")


def main() -> None:
    with enforcer() as (url, key, tenant):
        thoth.instrument(
            server,
            agent_id="mcp-docs-server",
            approved_scope=["search_docs"],
            tenant_id=tenant,
            api_url=url,
            api_key=key,
            enforcement="block",
            on_block="return",
        )
        asyncio.run(run())
        print_events(url, key, "mcp-docs-server")


if __name__ == "__main__":
    main()
