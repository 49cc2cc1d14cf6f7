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

from thoth.errors import ThothPolicyViolation
from thoth.integrations._gate import acheck, as_args, check, finish, refusal_text, returns_refusal

if TYPE_CHECKING:
    from thoth.tracer import Permit, Tracer

__all__ = ["ToolCallGovernor"]

Execute = Callable[[Any], Any]
AsyncExecute = Callable[[Any], Awaitable[Any]]


class ToolCallGovernor:
    """A ``wrap_tool_call`` / ``awrap_tool_call`` pair bound to one tracer."""

    def __init__(self, tracer: Tracer) -> None:
        self.tracer = tracer

    def wrap(self, request: Any, execute: Execute) -> Any:
        call = request.tool_call
        outcome = check(self.tracer, call["name"], as_args(call.get("args")), call.get("id"))
        if isinstance(outcome, ThothPolicyViolation):
            return self._refuse(call, outcome)
        request = _with_args(request, outcome)
        try:
            result = execute(request)
        except BaseException as exc:
            finish(outcome, error=exc)
            raise
        _finish(outcome, result)
        return result

    async def awrap(self, request: Any, execute: AsyncExecute) -> Any:
        call = request.tool_call
        outcome = await acheck(self.tracer, call["name"], as_args(call.get("args")), call.get("id"))
        if isinstance(outcome, ThothPolicyViolation):
            return self._refuse(call, outcome)
        request = _with_args(request, outcome)
        try:
            result = await execute(request)
        except BaseException as exc:
            finish(outcome, error=exc)
            raise
        _finish(outcome, result)
        return result

    def _refuse(self, call: Any, violation: ThothPolicyViolation) -> ToolMessage:
        if not returns_refusal(self.tracer):
            raise violation
        return refusal_message(call, violation)


def refusal_message(call: Any, violation: ThothPolicyViolation) -> ToolMessage:
    """The ``ToolMessage`` that answers a refused call, so the model sees why."""
    return ToolMessage(
        content=refusal_text(violation),
        name=call["name"],
        tool_call_id=call.get("id") or "",
        status="error",
    )


def _with_args(request: Any, permit: Permit) -> Any:
    """The request to execute: with the enforcer's rewritten arguments after a MODIFY."""
    call = request.tool_call
    if permit.args == as_args(call.get("args")):
        return request
    return request.override(tool_call={**call, "args": dict(permit.args)})


def _finish(permit: Permit, result: Any) -> None:
    # ToolNode turns a tool's exception into ToolMessage(status="error"): record it as a failure.
    if isinstance(result, ToolMessage) and result.status == "error":
        finish(permit, error=ToolError(str(result.content)))
    elif isinstance(result, ToolMessage):
        finish(permit, result=result.content)
    else:
        finish(permit, result=result)


class ToolError(Exception):
    """A tool failure the framework already turned into an error message."""
