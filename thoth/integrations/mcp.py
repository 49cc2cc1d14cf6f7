"""MCP (``mcp`` 2.x): govern tool calls on either side of the protocol.

Client side, for agents that call MCP tools: ``govern_mcp_session(obj, tracer)`` (or
``instrument``) governs every ``tools/call`` request a client sends. The hook is the
session's ``send_request``, which ``call_tool`` goes through, so
``session.call_tool(...)``, ``session.send_request(CallToolRequest(...), ...)``,
``Client.call_tool(...)`` (each input-required round is one request, decided on its own)
and ``ClientSessionGroup.call_tool(...)`` are all decided. ``obj`` may be

* a ``ClientSession``;
* an ``mcp.Client``: its current session and every session it builds later
  (instrumenting before ``async with client`` works);
* a ``ClientSessionGroup``: its sessions and every session connected later.

A refusal is ``CallToolResult(is_error=True)`` with the refusal text, which an agent
loop hands to its model like any failed tool (``on_block="return"``), or a raised
``ThothPolicyViolation`` (``on_block="raise"``). Other requests (``read_resource``,
``get_prompt``, ...) run no tool and are not decided. Not governed: a ``ClientSession``
you build yourself and never hand to Thoth (a new connection, like a new agent), and
the session's private dispatcher.

Server side, for servers that want every ``tools/call`` governed whoever calls:
``MCPServer(extensions=[thoth_extension(tracer)])`` or ``instrument(server, tracer)``.
The extension's ``intercept_tool_call`` decides each request before the tool runs,
tools added later with ``add_tool`` / ``@server.tool()`` included. A refusal is always a
``CallToolResult(is_error=True)`` (MCP reports tool failures in the result so the model
sees them); its text is the refusal text (``"return"``) or
``"ThothPolicyViolation: ..."`` (``"raise"``). Calls are keyed by the JSON-RPC request
id. ``instrument(server, ...)`` also governs the in-process ``server.call_tool(...)``,
which skips the request handler (a refusal there follows ``on_block`` like a client's).

Instrumenting again with another tracer replaces the first one: the newest settings
decide every later call (the same tracer again changes nothing).
"""

from __future__ import annotations

import contextvars
import functools
from typing import TYPE_CHECKING, Any

from thoth._governed import instrumented_by, mark_instrumented
from thoth.errors import ThothConfigError
from thoth.integrations._govern import as_args, best_effort

if TYPE_CHECKING:
    from thoth._governed import GovernedCall
    from thoth.tracer import Tracer

__all__ = ["EXTENSION_ID", "govern_mcp_session", "instrument", "thoth_extension"]

EXTENSION_ID = "dev.thoth/governance"

# True while the server's own request handler runs a call the extension already decided,
# so the governed ``server.call_tool`` does not decide it twice.
_DECIDED_BY_EXTENSION: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "thoth_mcp_decided", default=False
)


def instrument(obj: Any, tracer: Tracer) -> Any:
    """Govern an ``MCPServer`` (server side) or a ``ClientSession`` / ``Client`` /
    ``ClientSessionGroup`` (client side)."""
    from mcp import Client, ClientSession, ClientSessionGroup
    from mcp.server.mcpserver import MCPServer

    if isinstance(obj, MCPServer):
        return _govern_server(obj, tracer)
    if isinstance(obj, Client | ClientSession | ClientSessionGroup):
        return govern_mcp_session(obj, tracer)
    # e.g. a standalone FastMCP or an mcp 1.x server: patching their call_tool would not govern anything
    raise ThothConfigError(
        f"Thoth cannot govern an MCP {type(obj).__name__}: instrument an mcp 2.x MCPServer, "
        "a ClientSession, an mcp.Client or a ClientSessionGroup "
        "(govern_mcp_session works on any session with send_request or call_tool)"
    )


# -- client side ---------------------------------------------------------------------------------------
def govern_mcp_session(session: Any, tracer: Tracer) -> Any:
    """Govern every ``tools/call`` of a ``ClientSession``, ``mcp.Client`` or ``ClientSessionGroup``
    in place and return it. Again with another tracer: that tracer decides from now on."""
    from mcp import Client, ClientSessionGroup

    first_time = instrumented_by(session) is None
    mark_instrumented(session, tracer)  # read at each call: re-instrumenting takes effect
    if isinstance(session, Client):
        if session._session is not None:
            govern_mcp_session(session._session, tracer)
        if first_time:
            _govern_new_sessions(session, "_build_session")
    elif isinstance(session, ClientSessionGroup):
        for member in session.sessions:
            govern_mcp_session(member, tracer)
        if first_time:
            _govern_new_sessions(session, "connect_with_session")
    elif first_time:
        if hasattr(session, "send_request"):
            _govern_send_request(session)
        else:
            _govern_call_tool(session)
    return session


def _govern_new_sessions(owner: Any, method: str) -> None:
    """Wrap ``owner.<method>`` (an async method taking or returning a session) so that the
    session it hands on is governed by ``owner``'s tracer at that time."""
    build = getattr(owner, method)

    async def governed(*args: Any, **kwargs: Any) -> Any:
        from mcp import ClientSession

        tracer = instrumented_by(owner)
        for given in (*args, *kwargs.values()):  # connect_with_session(server_info, session)
            if isinstance(given, ClientSession) and tracer is not None:
                govern_mcp_session(given, tracer)
        session = await build(*args, **kwargs)
        if tracer is not None:
            govern_mcp_session(session, tracer)
        return session

    setattr(owner, method, governed)


def _govern_send_request(session: Any) -> None:
    send_request = session.send_request

    async def governed_send_request(request: Any, result_type: Any, *args: Any, **kwargs: Any) -> Any:
        data = request.model_dump(by_alias=True, mode="json", exclude_none=True)
        tracer = instrumented_by(session)
        if data.get("method") != "tools/call" or tracer is None:
            return await send_request(request, result_type, *args, **kwargs)
        params = data.get("params") or {}
        name = str(params.get("name"))
        governed = await tracer.agovern(name, as_args(params.get("arguments")))
        if governed.refused:
            return _error_result(governed.refuse())  # raises on on_block="raise"
        if governed.modified:
            from mcp.types import CallToolRequest

            params["arguments"] = dict(governed.args)
            request = CallToolRequest.model_validate({**data, "params": params})
        with governed:
            result = await send_request(request, result_type, *args, **kwargs)
        return _recorded(governed, result)

    session.send_request = governed_send_request


def _govern_call_tool(session: Any) -> None:
    """For a session-like object with ``call_tool`` only."""
    call_tool = session.call_tool

    async def governed_call_tool(
        name: str, arguments: dict[str, Any] | None = None, *args: Any, **kwargs: Any
    ) -> Any:
        governed = await _tracer_of(session).agovern(name, as_args(arguments))
        if governed.refused:
            return _error_result(governed.refuse())  # raises on on_block="raise"
        with governed:
            result = await call_tool(name, dict(governed.args), *args, **kwargs)
        return _recorded(governed, result)

    session.call_tool = governed_call_tool


def _tracer_of(obj: Any) -> Tracer:
    tracer = instrumented_by(obj)
    if tracer is None:  # only if someone removed our marker: refuse rather than run ungoverned
        raise ThothConfigError(f"the Thoth tracer of this {type(obj).__name__} is gone: instrument it again")
    return tracer


# -- server side ---------------------------------------------------------------------------------------
def thoth_extension(tracer: Tracer) -> Any:
    """An MCP server extension whose ``intercept_tool_call`` governs every ``tools/call``."""
    return _extension_class()(tracer)


def _govern_server(server: Any, tracer: Tracer) -> Any:
    ours = [i for i, e in enumerate(server._extensions) if getattr(e, "identifier", None) == EXTENSION_ID]
    if not ours:
        # Extensions are fixed at construction in mcp 2.x; this is what the constructor does with them.
        server._apply_extension(thoth_extension(tracer))
    elif getattr(server._extensions[ours[0]], "_tracer", None) is not tracer:
        # Re-instrumenting: a new extension object (the old one may be shared with another server).
        server._extensions[ours[0]] = thoth_extension(tracer)
    server._install_extension_interceptor()
    if instrumented_by(server) is None:
        _govern_direct_call_tool(server)
    mark_instrumented(server, tracer)
    return server


def _govern_direct_call_tool(server: Any) -> None:
    """``server.call_tool(...)`` runs a tool in process without the request handler: decide it too."""
    call_tool = server.call_tool

    async def governed_call_tool(name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        if _DECIDED_BY_EXTENSION.get():
            token = _DECIDED_BY_EXTENSION.set(False)  # a nested call from inside the tool is decided anew
            try:
                return await call_tool(name, arguments, context)
            finally:
                _DECIDED_BY_EXTENSION.reset(token)
        governed = await _tracer_of(server).agovern(name, as_args(arguments))
        if governed.refused:
            return _error_result(governed.refuse())  # raises on on_block="raise"
        with governed:
            result = await call_tool(name, dict(governed.args), context)
        return _recorded(governed, result)

    server.call_tool = governed_call_tool


@functools.cache
def _extension_class() -> type[Any]:
    from mcp.server.extension import Extension

    class ThothExtension(Extension):  # type: ignore[misc]
        identifier = EXTENSION_ID

        def __init__(self, tracer: Tracer) -> None:
            self._tracer = tracer

        async def intercept_tool_call(self, params: Any, ctx: Any, call_next: Any) -> Any:
            return await _intercept(self._tracer, params, ctx, call_next)

    return ThothExtension


async def _intercept(tracer: Tracer, params: Any, ctx: Any, call_next: Any) -> Any:
    """Decide one ``tools/call``: a refusal is always an error result (MCP reports failures in it)."""
    request_id = getattr(ctx, "request_id", None)
    call_id = None if request_id is None else str(request_id)
    governed = await tracer.agovern(params.name, as_args(params.arguments), call_id=call_id)
    if governed.refused:
        return _error_result(governed.refusal())
    if governed.modified:
        # The wrapped handler is invoked with this very params object (mcp 2.x).
        params.arguments = dict(governed.args)
    token = _DECIDED_BY_EXTENSION.set(True)
    try:
        with governed:
            result = await call_next(ctx)
    finally:
        _DECIDED_BY_EXTENSION.reset(token)
    return _recorded(governed, result)


# -- shared --------------------------------------------------------------------------------------------
def _error_result(text: str) -> Any:
    from mcp.types import CallToolResult, TextContent

    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)


def _result_text(result: Any) -> str:
    return "\n".join(str(getattr(c, "text", c)) for c in getattr(result, "content", None) or [])


def _recorded(governed: GovernedCall, result: Any) -> Any:
    """Record ``result`` and return it: a ``CallToolResult(is_error=True)`` is the tool's failure."""
    text: Any = best_effort(_result_text, result) if hasattr(result, "content") else result
    if getattr(result, "is_error", False):
        governed.finish(error=RuntimeError(str(text)))
    else:
        governed.finish(result=text)
    return result
