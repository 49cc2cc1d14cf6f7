"""MCP 2.x bypass matrix: every public way a client or a server runs a tool, each driven in memory
(a real ``MCPServer`` reached by a real ``mcp.Client``) against a real `thoth serve` on 127.0.0.1.
Each path either refuses the blocked tool before its body runs, with the refusal recorded by the
enforcer, or is refused by Thoth with a clear error."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("mcp")

from mcp import Client, ClientSessionGroup, types
from test_mcp_integration import Call, build_server, text

import thoth
from tests.integrations._shared import REFUSAL_MARK, events, governed_options, make_tracer, new_agent_id
from thoth.integrations.mcp import govern_mcp_session, thoth_extension

pytestmark = pytest.mark.integration


def blocked(server: Any, agent_id: str, tool: str = "send_email") -> bool:
    """The enforcer recorded a refusal of ``tool`` for ``agent_id``, and no run of it."""
    kinds = [(k, t) for k, t, _ in events(server, agent_id)]
    return ("TOOL_CALL_BLOCK", tool) in kinds and ("TOOL_CALL_POST", tool) not in kinds


def options(server: Any, agent_id: str, scope: list[str] | None = None) -> dict[str, Any]:
    return governed_options(
        server, agent_id, ["search_docs"] if scope is None else scope, "block", on_block="return"
    )


MAIL = {"to": "x", "body": "y"}


# -- client side -------------------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["session.call_tool", "session.send_request", "client.call_tool"])
async def test_client_every_way_to_send_tools_call_is_decided(thoth_server: Any, how: str) -> None:
    agent_id = new_agent_id("mcp-bypass-client")
    ran: list[Call] = []
    client = Client(build_server(ran))
    thoth.instrument(client, **options(thoth_server, agent_id))  # before the session exists
    async with client:
        if how == "session.call_tool":
            refused = await client.session.call_tool("send_email", MAIL)
        elif how == "session.send_request":
            request = types.CallToolRequest(
                params=types.CallToolRequestParams(name="send_email", arguments=MAIL)
            )
            refused = await client.session.send_request(request, types.CallToolResult)
        else:
            refused = await client.call_tool("send_email", MAIL)
        allowed = await client.session.call_tool("search_docs", {"query": "q"})

    assert ran == [("search_docs", {"query": "q"})]
    assert refused.is_error and text(refused).startswith(REFUSAL_MARK)
    assert text(allowed) == "3 documents about q"
    assert blocked(thoth_server, agent_id)


async def test_client_session_group_sessions_are_governed(thoth_server: Any) -> None:
    agent_id = new_agent_id("mcp-bypass-group")
    ran: list[Call] = []
    group = ClientSessionGroup()
    assert thoth.instrument(group, **options(thoth_server, agent_id)) is group
    async with Client(build_server(ran)) as client:  # the group's session, connected after instrument()
        await group.connect_with_session(types.Implementation(name="docs", version="1"), client.session)
        refused = await group.call_tool("send_email", MAIL)
        also_refused = await client.session.call_tool("send_email", MAIL)

    assert ran == []
    assert refused.is_error and text(refused).startswith(REFUSAL_MARK) and also_refused.is_error
    assert blocked(thoth_server, agent_id)


async def test_reading_a_resource_is_not_a_tool_call(thoth_server: Any) -> None:
    agent_id = new_agent_id("mcp-bypass-resource")
    async with Client(build_server([])) as client:
        thoth.instrument(client, **options(thoth_server, agent_id, scope=[]))
        resource = await client.read_resource("docs://readme")
        refused = await client.call_tool("search_docs", {"query": "q"})
    assert resource.contents[0].text == "read me"  # type: ignore[union-attr]
    assert refused.is_error
    assert [(k, t) for k, t, _ in events(thoth_server, agent_id)] == [
        ("TOOL_CALL_PRE", "search_docs"),
        ("TOOL_CALL_BLOCK", "search_docs"),
    ]


async def test_client_reinstrumented_with_another_tracer_uses_the_new_one(thoth_server: Any) -> None:
    first, second = new_agent_id("mcp-bypass-first"), new_agent_id("mcp-bypass-second")
    ran: list[Call] = []
    async with Client(build_server(ran)) as client:
        thoth.instrument(client, **options(thoth_server, first, scope=["search_docs", "send_email"]))
        thoth.instrument(client, **options(thoth_server, second))
        refused = await client.call_tool("send_email", MAIL)

    assert ran == [] and refused.is_error
    assert blocked(thoth_server, second)
    assert events(thoth_server, first) == []


async def test_two_sessions_to_one_server_are_each_decided_under_their_own_agent(thoth_server: Any) -> None:
    lenient, strict = new_agent_id("mcp-bypass-lenient"), new_agent_id("mcp-bypass-strict")
    ran: list[Call] = []
    server = build_server(ran)
    async with Client(server) as one, Client(server) as two:
        thoth.instrument(one, **options(thoth_server, lenient, scope=["send_email"]))
        thoth.instrument(two, **options(thoth_server, strict))
        sent = await one.call_tool("send_email", {"to": "a", "body": "b"})
        refused = await two.call_tool("send_email", MAIL)

    assert ran == [("send_email", {"to": "a", "body": "b"})]
    assert text(sent) == "sent to a" and refused.is_error
    assert [k for k, _, _ in events(thoth_server, lenient)] == ["TOOL_CALL_PRE", "TOOL_CALL_POST"]
    assert blocked(thoth_server, strict)


# -- server side -------------------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["add_tool", "decorator"])
async def test_server_tools_added_after_instrument_are_governed(thoth_server: Any, how: str) -> None:
    agent_id = new_agent_id("mcp-bypass-late")
    ran: list[Call] = []
    server = build_server(ran)
    thoth.instrument(server, **options(thoth_server, agent_id))

    def wipe_disk(path: str) -> str:
        """Delete everything."""
        ran.append(("wipe_disk", {"path": path}))
        return "wiped"

    if how == "add_tool":
        server.add_tool(wipe_disk)
    else:
        server.tool()(wipe_disk)
    async with Client(server) as client:  # an ungoverned client: the server decides
        refused = await client.call_tool("wipe_disk", {"path": "/"})

    assert ran == [] and refused.is_error and text(refused).startswith(REFUSAL_MARK)
    assert blocked(thoth_server, agent_id, "wipe_disk")


async def test_server_call_tool_in_process_is_governed(thoth_server: Any) -> None:
    agent_id = new_agent_id("mcp-bypass-direct")
    ran: list[Call] = []
    server = build_server(ran)
    thoth.instrument(server, **options(thoth_server, agent_id))

    refused = await server.call_tool("send_email", MAIL)
    async with Client(server) as client:  # the handler path is decided once, not twice
        allowed = await client.call_tool("search_docs", {"query": "q"})

    assert ran == [("search_docs", {"query": "q"})]
    assert refused.is_error and text(refused).startswith(REFUSAL_MARK)
    assert text(allowed) == "3 documents about q"
    kinds = [(k, t) for k, t, _ in events(thoth_server, agent_id)]
    assert kinds.count(("TOOL_CALL_PRE", "search_docs")) == 1
    assert blocked(thoth_server, agent_id)


async def test_server_call_tool_in_process_raise_mode_raises(thoth_server: Any) -> None:
    ran: list[Call] = []
    server = build_server(ran)
    agent_id = new_agent_id("mcp-bypass-direct-raise")
    thoth.instrument(server, **governed_options(thoth_server, agent_id, ["search_docs"], "block"))
    with pytest.raises(thoth.ThothPolicyViolation):
        await server.call_tool("send_email", MAIL)
    assert ran == [] and blocked(thoth_server, agent_id)


async def test_server_reinstrumented_with_another_tracer_uses_the_new_one(thoth_server: Any) -> None:
    first, second = new_agent_id("mcp-bypass-srv-first"), new_agent_id("mcp-bypass-srv-second")
    ran: list[Call] = []
    tracer = make_tracer(thoth_server, first, ["search_docs", "send_email"], "block", on_block="return")
    server = build_server(ran, extensions=[thoth_extension(tracer)])
    thoth.instrument(server, **options(thoth_server, second))
    thoth.instrument(server, **options(thoth_server, second))  # idempotent for the same settings object
    async with Client(server) as client:
        refused = await client.call_tool("send_email", MAIL)

    assert ran == [] and refused.is_error
    assert blocked(thoth_server, second)
    assert events(thoth_server, first) == []


async def test_govern_mcp_session_again_with_the_same_tracer_is_idempotent(thoth_server: Any) -> None:
    agent_id = new_agent_id("mcp-bypass-idem")
    tracer = make_tracer(thoth_server, agent_id, ["search_docs"], "block", on_block="return")
    async with Client(build_server(ran := [])) as client:
        govern_mcp_session(client, tracer)
        govern_mcp_session(client, tracer)
        govern_mcp_session(client.session, tracer)
        refused = await client.call_tool("send_email", MAIL)
    assert ran == [] and refused.is_error
    assert [k for k, _, _ in events(thoth_server, agent_id)] == ["TOOL_CALL_PRE", "TOOL_CALL_BLOCK"]
