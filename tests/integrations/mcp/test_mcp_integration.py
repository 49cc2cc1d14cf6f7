"""MCP 2.x: a real ``MCPServer`` reached in memory by a real ``mcp.Client``, driven by a scripted
agent loop (MCP has no loop of its own), governed on the client side and on the server side,
against a real `thoth serve` on 127.0.0.1."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

pytest.importorskip("mcp")

from mcp import Client
from mcp.server.mcpserver import MCPServer

import thoth
from tests.integrations._shared import (
    REFUSAL_MARK,
    Approver,
    by_call,
    events,
    governed_options,
    make_tracer,
    modify_policy,
    new_agent_id,
    unreachable_tracer,
)
from thoth.integrations.mcp import govern_mcp_session, thoth_extension

pytestmark = pytest.mark.integration

Call = tuple[str, dict[str, Any]]


def build_server(ran: list[Call], **options: Any) -> MCPServer:
    server = MCPServer("docs", **options)

    @server.tool()
    async def search_docs(query: str) -> str:
        """Search the knowledge base."""
        ran.append(("search_docs", {"query": query}))
        return f"3 documents about {query}"

    @server.tool()
    def send_email(to: str, body: str) -> str:
        """Send an email."""
        ran.append(("send_email", {"to": to, "body": body}))
        return f"sent to {to}"

    @server.resource("docs://readme")
    def readme() -> str:
        """The readme."""
        return "read me"

    return server


def text(result: Any) -> str:
    return "\n".join(c.text for c in result.content)


async def agent_loop(client: Any, script: list[list[Call]]) -> list[list[tuple[str, Any]]]:
    """A minimal tool loop: each scripted model turn's calls run concurrently; the 'model' then reads
    every result (returned here, turn by turn), including refusals, and goes on to its next turn."""
    seen: list[list[tuple[str, Any]]] = []
    for turn in script:
        results = await asyncio.gather(*(client.call_tool(name, args) for name, args in turn))
        seen.append([(name, result) for (name, _), result in zip(turn, results, strict=True)])
    return seen


async def test_client_session_governed_allow_refuse_and_go_on(thoth_server: Any) -> None:
    agent_id = new_agent_id("mcp-client")
    ran: list[Call] = []
    async with Client(build_server(ran)) as client:
        options = governed_options(thoth_server, agent_id, ["search_docs"], "block", on_block="return")
        assert thoth.instrument(client, **options) is client
        seen = await agent_loop(
            client,
            [
                [("search_docs", {"query": "a"}), ("send_email", {"to": "x", "body": "y"})],
                [("search_docs", {"query": "b"})],
            ],
        )

    assert sorted(ran, key=str) == [("search_docs", {"query": "a"}), ("search_docs", {"query": "b"})]
    (_, found_a), (_, refused) = seen[0]
    assert text(found_a) == "3 documents about a" and not found_a.is_error
    assert refused.is_error and text(refused).startswith(REFUSAL_MARK)
    assert text(seen[1][0][1]) == "3 documents about b"
    kinds = [(k, t) for k, t, _ in events(thoth_server, agent_id)]
    assert kinds.count(("TOOL_CALL_POST", "search_docs")) == 2
    assert ("TOOL_CALL_BLOCK", "send_email") in kinds and ("TOOL_CALL_POST", "send_email") not in kinds


async def test_client_session_raise_mode_and_step_up(thoth_server: Any) -> None:
    agent_id = new_agent_id("mcp-client-stepup")
    ran: list[Call] = []
    async with Client(build_server(ran)) as client:
        govern_mcp_session(client.session, make_tracer(thoth_server, agent_id, ["search_docs"], "step_up"))
        with Approver(thoth_server, agent_id) as approver:
            approved = await client.session.call_tool("send_email", {"to": "boss", "body": "report"})

    assert [h["tool_name"] for h in approver.approved] == ["send_email"]
    assert text(approved) == "sent to boss" and ran == [("send_email", {"to": "boss", "body": "report"})]

    blocked_id = new_agent_id("mcp-client-raise")
    async with Client(build_server(ran := [])) as client:
        govern_mcp_session(client, make_tracer(thoth_server, blocked_id, ["search_docs"], "block"))
        with pytest.raises(thoth.ThothPolicyViolation):
            await client.call_tool("send_email", {"to": "x", "body": "y"})
        assert text(await client.call_tool("search_docs", {"query": "q"})) == "3 documents about q"
    assert ran == [("search_docs", {"query": "q"})]


async def test_server_extension_governs_every_caller_keyed_by_request_id(thoth_server: Any) -> None:
    agent_id = new_agent_id("mcp-server")
    ran: list[Call] = []
    tracer = make_tracer(thoth_server, agent_id, ["search_docs"], "block", on_block="return")
    server = build_server(ran, extensions=[thoth_extension(tracer)])
    async with Client(server) as client:  # an ungoverned client: the server decides
        seen = await agent_loop(
            client,
            [
                [("send_email", {"to": "x", "body": "y"}), ("search_docs", {"query": "a"})],
                [("search_docs", {"query": "b"})],
            ],
        )

    assert sorted(ran, key=str) == [("search_docs", {"query": "a"}), ("search_docs", {"query": "b"})]
    (_, refused), (_, found) = seen[0]
    assert refused.is_error and text(refused).startswith(REFUSAL_MARK)
    assert text(found) == "3 documents about a"
    per_call = by_call(events(thoth_server, agent_id))
    assert sorted(per_call.values()) == sorted(
        [
            ["TOOL_CALL_PRE", "TOOL_CALL_BLOCK"],
            ["TOOL_CALL_PRE", "TOOL_CALL_POST"],
            ["TOOL_CALL_PRE", "TOOL_CALL_POST"],
        ]
    )
    assert all(call_id is not None for call_id in per_call)  # the JSON-RPC request ids


async def test_instrument_a_built_server_step_up_and_raise_text(thoth_server: Any) -> None:
    agent_id = new_agent_id("mcp-server-stepup")
    ran: list[Call] = []
    server = build_server(ran)
    assert (
        thoth.instrument(server, **governed_options(thoth_server, agent_id, ["search_docs"], "step_up"))
        is server
    )
    async with Client(server) as client:
        with Approver(thoth_server, agent_id):
            approved = await client.call_tool("send_email", {"to": "boss", "body": "report"})
    assert text(approved) == "sent to boss" and ran == [("send_email", {"to": "boss", "body": "report"})]

    blocked = build_server(ran := [])
    thoth.instrument(blocked, **governed_options(thoth_server, new_agent_id("mcp-srv-block"), [], "block"))
    async with Client(blocked) as client:
        refused = await client.call_tool("send_email", {"to": "x", "body": "y"})
    assert ran == [] and refused.is_error
    assert text(refused).startswith("ThothPolicyViolation: Thoth blocked tool 'send_email'")


async def test_enforcer_failure_never_runs_the_tool() -> None:
    ran: list[Call] = []
    tracer = unreachable_tracer(new_agent_id("mcp-down"), ["search_docs"], on_block="return")
    async with Client(build_server(ran, extensions=[thoth_extension(tracer)])) as client:
        refused = await client.call_tool("search_docs", {"query": "q"})
    assert ran == [] and refused.is_error and text(refused).startswith(REFUSAL_MARK)


@pytest.mark.parametrize("side", ["client", "server"])
async def test_modify_runs_the_tool_with_rewritten_arguments(make_thoth_server: Any, side: str) -> None:
    server = make_thoth_server(policy_text=modify_policy("send_email"))
    agent_id = new_agent_id(f"mcp-modify-{side}")
    ran: list[Call] = []
    mcp_server = build_server(ran)
    options = governed_options(server, agent_id, ["send_email"], "block")
    if side == "server":
        thoth.instrument(mcp_server, **options)
    async with Client(mcp_server) as client:
        if side == "client":
            thoth.instrument(client, **options)
        result = await client.call_tool("send_email", {"to": "x@evil.com", "body": "hi"})

    assert ran == [("send_email", {"to": "security@acme.com", "body": "hi"})]
    assert text(result) == "sent to security@acme.com"
    assert [k for k, _, _ in events(server, agent_id)] == ["TOOL_CALL_PRE", "TOOL_CALL_POST"]


def test_servers_it_cannot_govern_are_refused_with_a_clear_error(thoth_server: Any) -> None:
    from mcp.server.lowlevel import Server

    with pytest.raises(thoth.ThothConfigError, match="MCPServer"):
        thoth.instrument(
            Server("raw"), **governed_options(thoth_server, new_agent_id("mcp-raw"), [], "block")
        )


async def test_a_failing_policy_check_is_a_refusal_not_a_run(thoth_server: Any) -> None:
    """Fault injection: the tracer itself breaks (not a policy answer). The hook must refuse."""

    class BrokenTracer(thoth.Tracer):
        async def aauthorize(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("bug in the policy check")

    healthy = make_tracer(
        thoth_server, new_agent_id("mcp-broken"), ["search_docs"], "block", on_block="return"
    )
    broken = BrokenTracer(
        healthy.config, healthy.session, healthy._emitter, healthy._enforcer, healthy._step_up
    )
    ran: list[Call] = []
    async with Client(build_server(ran, extensions=[thoth_extension(broken)])) as client:
        refused = await client.call_tool("search_docs", {"query": "q"})
        govern_mcp_session(client, broken)
        refused_client_side = await client.call_tool("search_docs", {"query": "q"})

    assert ran == []
    assert refused.is_error and "policy check failed (RuntimeError)" in text(refused)
    assert refused_client_side.is_error and "policy check failed (RuntimeError)" in text(refused_client_side)
