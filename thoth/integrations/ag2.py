"""ag2 1.x (``import ag2``): a middleware whose ``on_tool_execution`` authorizes each call.

``instrument(agent, tracer)`` adds the middleware to an ``ag2.Agent`` in place;
``thoth_middleware(tracer)`` is the factory to pass as ``Agent(middleware=[...])``.

A refusal becomes the call's ``ToolErrorEvent``, never running the tool: with
``on_block="return"`` its result is the refusal text the model reads; with
``on_block="raise"`` it carries the ``ThothPolicyViolation`` as its error, as ag2
does for a tool that raised (a ``TestConfig`` with ``raise_tool_errors=True``
re-raises it; a real provider reads "ThothPolicyViolation: ...").
Calls are keyed by the model's tool-call id (``ToolCallEvent.id``).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from thoth.errors import ThothPolicyViolation
from thoth.integrations._gate import acheck, finish, refusal_text, returns_refusal

if TYPE_CHECKING:
    from thoth.tracer import Tracer

__all__ = ["instrument", "thoth_middleware"]

_GOVERNED = "__thoth_instrumented__"


def thoth_middleware(tracer: Tracer) -> Any:
    """A middleware factory for ``ag2.Agent(middleware=[...])`` / ``agent.add_middleware``."""
    from ag2.middleware import Middleware

    return Middleware(_middleware_class(), tracer=tracer)


def instrument(agent: Any, tracer: Tracer) -> Any:
    """Add the Thoth middleware to an ``ag2.Agent`` (once) and return the agent."""
    if not getattr(agent, _GOVERNED, False):
        agent.add_middleware(thoth_middleware(tracer))
        setattr(agent, _GOVERNED, True)
    return agent


_CLASS: list[type[Any]] = []


def _middleware_class() -> type[Any]:
    """Built on first use so that importing this module does not import ag2."""
    if _CLASS:
        return _CLASS[0]
    from ag2.events import ToolErrorEvent, ToolResult, ToolResultEvent
    from ag2.middleware import BaseMiddleware

    class ThothMiddleware(BaseMiddleware):  # type: ignore[misc]
        def __init__(self, event: Any, context: Any, *, tracer: Tracer) -> None:
            super().__init__(event, context)
            self._tracer = tracer

        async def on_tool_execution(self, call_next: Any, event: Any, context: Any) -> Any:
            try:
                args = dict(event.serialized_arguments)
            except Exception:  # unparseable arguments: let the tool report them, ungoverned never
                args = {"arguments": str(event.arguments)}
            outcome = await acheck(self._tracer, event.name, args, event.id)
            if isinstance(outcome, ThothPolicyViolation):
                # ag2's own shape for a tool that failed; the text, not a traceback, is what the model reads
                text = refusal_text(outcome) if returns_refusal(self._tracer) else _error_text(outcome)
                return ToolErrorEvent(
                    parent_id=event.id, name=event.name, error=outcome, result=ToolResult(text)
                )
            if outcome.args != args:  # MODIFY: run with the enforcer's arguments
                event = copy.copy(event)
                event.serialized_arguments = dict(outcome.args)
            try:
                result = await call_next(event, context)
            except Exception as exc:
                finish(outcome, error=exc)
                raise
            if isinstance(result, ToolErrorEvent):
                finish(outcome, error=result.error)
            else:
                finish(
                    outcome, result=_result_text(result) if isinstance(result, ToolResultEvent) else result
                )
            return result

    _CLASS.append(ThothMiddleware)
    return ThothMiddleware


def _result_text(result: Any) -> Any:
    """The text of a ToolResultEvent, for the POST event (redacted and truncated by the tracer)."""
    try:
        parts = getattr(getattr(result, "result", None), "parts", None) or []
        return "\n".join(str(getattr(p, "content", p)) for p in parts)
    except Exception:  # an odd result shape must not break a call that already ran
        return repr(result)


def _error_text(violation: ThothPolicyViolation) -> str:
    return f"{type(violation).__name__}: {violation}"
