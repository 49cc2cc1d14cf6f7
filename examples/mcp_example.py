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
import contextlib
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

import httpx
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


# --- a throwaway local enforcer, so the example runs offline ---------------------------------
@contextlib.contextmanager
def enforcer() -> Iterator[tuple[str, str, str]]:
    """(url, api key, tenant): $THOTH_API_URL if set, else a throwaway `thoth serve` on 127.0.0.1."""
    if os.environ.get("THOTH_API_URL"):
        yield (
            os.environ["THOTH_API_URL"],
            os.environ["THOTH_API_KEY"],
            os.environ.get("THOTH_TENANT_ID", "acme-corp"),
        )
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    key, url = "thoth_demo_" + secrets.token_hex(8), f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            sys.executable,
            "-m",
            "thoth.cli",
            "serve",
            "--port",
            str(port),
            "--db",
            f"sqlite:///{tmp}/thoth.db",
            "--api-key",
            f"acme-corp:{key}",
            "--admin-key",
            f"acme-corp:{key}",
            "--log-level",
            "warning",
        ]
        server = subprocess.Popen(command)
        try:
            for _ in range(300):
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                time.sleep(0.05)
            yield url, key, "acme-corp"
        finally:
            thoth.flush()
            server.terminate()
            server.wait(10)


def print_events(url: str, key: str, agent_id: str) -> None:
    thoth.flush()
    page = httpx.get(f"{url}/v1/events", params={"agent_id": agent_id}, headers={"x-api-key": key}).json()
    for event in page["items"]:
        print(f"  event {event['event_type']:<15} {event.get('tool_name')}")


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
