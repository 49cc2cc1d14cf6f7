"""Govern one langchain-core tool call at the ToolNode level.

Shared by the LangGraph ``ToolNode(wrap_tool_call=..., awrap_tool_call=...)``
wrappers and the LangChain ``create_agent`` middleware: both hand us a
``ToolCallRequest`` (``.tool_call`` = ``{"name", "args", "id"}``) and an
``execute`` callable that runs the tool. A refusal never calls ``execute``; it
becomes a ``ToolMessage(status="error")`` the model reads, or propagates as
``ThothPolicyViolation`` (which aborts the run) when the tracer raises.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from langchain_core.messages import ToolMessage

from thoth.integrations._govern import as_args

if TYPE_CHECKING:
    from thoth._governed import GovernedCall
    from thoth.tracer import Tracer

__all__ = ["ToolCallGovernor"]

Execute = Callable[[Any], Any]
AsyncExecute = Callable[[Any], Awaitable[Any]]


class ToolCallGovernor:
    """A ``wrap_tool_call`` / ``awrap_tool_call`` pair bound to one tracer."""

    def __init__(self, tracer: Tracer) -> None:
        self.tracer = tracer

    def wrap(self, request: Any, execute: Execute) -> Any:
        call = request.tool_call
        governed = self.tracer.govern(call["name"], as_args(call.get("args")), call_id=call.get("id"))
        if governed.refused:
            return refusal_message(call, governed)
        with governed:
            result = execute(_with_args(request, governed))
        return record_tool_result(governed, result, ToolError)

    async def awrap(self, request: Any, execute: AsyncExecute) -> Any:
        call = request.tool_call
        governed = await self.tracer.agovern(call["name"], as_args(call.get("args")), call_id=call.get("id"))
        if governed.refused:
            return refusal_message(call, governed)
        with governed:
            result = await execute(_with_args(request, governed))
        return record_tool_result(governed, result, ToolError)


def refusal_message(call: Any, governed: GovernedCall) -> ToolMessage:
    """The ``ToolMessage`` that answers a refused call, so the model sees why (raises on ``"raise"``)."""
    return ToolMessage(
        content=governed.refuse(),
        name=call["name"],
        tool_call_id=call.get("id") or "",
        status="error",
    )


def _with_args(request: Any, governed: GovernedCall) -> Any:
    """The request to execute: with the enforcer's rewritten arguments after a MODIFY."""
    if not governed.modified:
        return request
    return request.override(tool_call={**request.tool_call, "args": dict(governed.args)})


def record_tool_result(governed: GovernedCall, result: Any, failure: type[Exception]) -> Any:
    """Record ``result`` and return it. A ``ToolMessage(status="error")`` is how langchain reports a
    tool's exception it handled: recorded as a ``failure``."""
    if isinstance(result, ToolMessage) and result.status == "error":
        governed.finish(error=failure(str(result.content)))
    elif isinstance(result, ToolMessage):
        governed.finish(result=result.content)
    else:
        governed.finish(result=result)
    return result


class ToolError(Exception):
    """A tool failure the framework already turned into an error message."""
