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
import functools
from typing import TYPE_CHECKING, Any

from thoth._governed import instrumented_by, mark_instrumented
from thoth.integrations._govern import best_effort

if TYPE_CHECKING:
    from thoth._governed import GovernedCall
    from thoth.tracer import Tracer

__all__ = ["instrument", "thoth_middleware"]


def thoth_middleware(tracer: Tracer) -> Any:
    """A middleware factory for ``ag2.Agent(middleware=[...])`` / ``agent.add_middleware``."""
    from ag2.middleware import Middleware

    return Middleware(_middleware_class(), tracer=tracer)


def instrument(agent: Any, tracer: Tracer) -> Any:
    """Add the Thoth middleware to an ``ag2.Agent`` (once) and return the agent."""
    if instrumented_by(agent) is None:
        agent.add_middleware(thoth_middleware(tracer))
        mark_instrumented(agent, tracer)
    return agent


@functools.cache
def _middleware_class() -> type[Any]:
    """Built on first use so that importing this module does not import ag2."""
    from ag2.middleware import BaseMiddleware

    class ThothMiddleware(BaseMiddleware):  # type: ignore[misc]
        def __init__(self, event: Any, context: Any, *, tracer: Tracer) -> None:
            super().__init__(event, context)
            self._tracer = tracer

        async def on_tool_execution(self, call_next: Any, event: Any, context: Any) -> Any:
            return await _execute(self._tracer, call_next, event, context)

    return ThothMiddleware


async def _execute(tracer: Tracer, call_next: Any, event: Any, context: Any) -> Any:
    """Decide one ``ToolCallEvent``: a refusal is answered without running the tool."""
    from ag2.events import ToolErrorEvent, ToolResult

    try:
        args = dict(event.serialized_arguments)
    except (TypeError, ValueError):  # unparseable arguments: let the tool report them, ungoverned never
        args = {"arguments": str(event.arguments)}
    governed = await tracer.agovern(event.name, args, call_id=event.id)
    if governed.refused:
        # ag2's own shape for a tool that failed; the text, not a traceback, is what the model reads
        return ToolErrorEvent(
            parent_id=event.id,
            name=event.name,
            error=governed.violation,
            result=ToolResult(governed.refusal()),
        )
    if governed.modified:  # run with the enforcer's arguments
        event = copy.copy(event)
        event.serialized_arguments = dict(governed.args)
    with governed:
        result = await call_next(event, context)
    _record(governed, result)
    return result


def _record(governed: GovernedCall, result: Any) -> None:
    from ag2.events import ToolErrorEvent, ToolResultEvent

    if isinstance(result, ToolErrorEvent):
        governed.finish(error=result.error)
    elif isinstance(result, ToolResultEvent):
        governed.finish(result=best_effort(_result_text, result))
    else:
        governed.finish(result=result)


def _result_text(result: Any) -> str:
    """The text of a ToolResultEvent, for the POST event (redacted and truncated by the tracer)."""
    parts = getattr(getattr(result, "result", None), "parts", None) or []
    return "\n".join(str(getattr(p, "content", p)) for p in parts)
