"""MCP (``mcp`` 2.x): govern tool calls on either side of the protocol.

Client side, for agents that call MCP tools: ``govern_mcp_session(session, tracer)``
(or ``instrument``) governs ``call_tool`` of a ``ClientSession`` or a ``mcp.Client``
in place. A refusal is ``CallToolResult(is_error=True)`` with the refusal text,
which an agent loop hands to its model like any failed tool (``on_block="return"``),
or a raised ``ThothPolicyViolation`` (``on_block="raise"``).

Server side, for servers that want every ``tools/call`` governed whoever calls:
``MCPServer(extensions=[thoth_extension(tracer)])`` (or ``instrument(server, tracer)``).
The extension's ``intercept_tool_call`` decides before the tool runs. A refusal is
always a ``CallToolResult(is_error=True)`` (MCP reports tool failures in the result
so the model sees them); its text is the refusal text (``"return"``) or
``"ThothPolicyViolation: ..."`` (``"raise"``). Calls are keyed by the JSON-RPC request id.
"""

from __future__ import annotations

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


def instrument(obj: Any, tracer: Tracer) -> Any:
    """Govern an ``MCPServer`` (server side) or a ``ClientSession`` / ``Client`` (client side)."""
    from mcp import Client, ClientSession
    from mcp.server.mcpserver import MCPServer

    if isinstance(obj, MCPServer):
        return _govern_server(obj, tracer)
    if isinstance(obj, Client | ClientSession):
        return govern_mcp_session(obj, tracer)
    # e.g. a standalone FastMCP or an mcp 1.x server: patching their call_tool would not govern anything
    raise ThothConfigError(
        f"Thoth cannot govern an MCP {type(obj).__name__}: instrument an mcp 2.x MCPServer, "
        "a ClientSession or an mcp.Client (govern_mcp_session works on any session with call_tool)"
    )


# -- client side ---------------------------------------------------------------------------------------
def govern_mcp_session(session: Any, tracer: Tracer) -> Any:
    """Govern ``session.call_tool`` in place (a ``ClientSession`` or ``mcp.Client``) and return it."""
    if instrumented_by(session) is not None:
        return session
    call_tool = session.call_tool

    async def governed_call_tool(
        name: str, arguments: dict[str, Any] | None = None, *args: Any, **kwargs: Any
    ) -> Any:
        governed = await tracer.agovern(name, as_args(arguments))
        if governed.refused:
            return _error_result(governed.refuse())  # raises on on_block="raise"
        with governed:
            result = await call_tool(name, dict(governed.args), *args, **kwargs)
        return _recorded(governed, result)

    session.call_tool = governed_call_tool
    mark_instrumented(session, tracer)
    return session


# -- server side ---------------------------------------------------------------------------------------
def thoth_extension(tracer: Tracer) -> Any:
    """An MCP server extension whose ``intercept_tool_call`` governs every ``tools/call``."""
    return _extension_class()(tracer)


def _govern_server(server: Any, tracer: Tracer) -> Any:
    if any(getattr(e, "identifier", None) == EXTENSION_ID for e in server._extensions):
        return server
    # Extensions are fixed at construction in mcp 2.x; this is what the constructor does with them.
    server._apply_extension(thoth_extension(tracer))
    server._install_extension_interceptor()
    return server


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
    with governed:
        result = await call_next(ctx)
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
