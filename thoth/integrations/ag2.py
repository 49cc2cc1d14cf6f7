"""ag2 1.x (``import ag2``): a middleware whose ``on_tool_execution`` authorizes each call.

``instrument(agent, tracer)`` adds the middleware to an ``ag2.Agent`` in place;
``thoth_middleware(tracer)`` is the factory to pass as ``Agent(middleware=[...])``.

A refusal becomes the call's ``ToolErrorEvent``, never running the tool: with
``on_block="return"`` its result is the refusal text the model reads; with
``on_block="raise"`` it carries the ``ThothPolicyViolation`` as its error, as ag2
does for a tool that raised (a ``TestConfig`` with ``raise_tool_errors=True``
re-raises it; a real provider reads "ThothPolicyViolation: ...").
Calls are keyed by the model's tool-call id (``ToolCallEvent.id``).

The middleware sees every tool call of the agent's turns (``ask``, ``run``, ``resume``),
whatever the tool (``tools=``, tools appended to ``agent.tools`` later, ``ask(tools=...)``,
plugins, MCP toolkits), and ``copy.copy(agent)`` shares it. Agents the agent delegates
to through ``agent.as_tool()`` / ``subagent_tool`` run their tools with their own
middleware: ``instrument()`` instruments those without one (also those added later,
found at the start of each turn); one instrumented on its own keeps its settings, so a
tool is decided under the agent that runs it. Sub-tasks (``Agent(tasks=TaskConfig(...))``)
spawn a bare agent with the parent's tools and no middleware: ``instrument()`` refuses
such an agent with ``ThothConfigError``. Instrumenting again with another tracer replaces
the middleware (the new settings take effect); the same tracer again is a no-op.
Server-side tools a provider runs itself (web search etc.) never reach a middleware.
"""

from __future__ import annotations

import copy
import functools
import weakref
from typing import TYPE_CHECKING, Any

from thoth._governed import instrumented_by, mark_instrumented
from thoth.errors import ThothConfigError
from thoth.integrations._govern import best_effort

if TYPE_CHECKING:
    from thoth._governed import GovernedCall
    from thoth.tracer import Tracer

__all__ = ["instrument", "thoth_middleware"]


def thoth_middleware(tracer: Tracer, *, owner: Any = None) -> Any:
    """A middleware factory for ``ag2.Agent(middleware=[...])`` / ``agent.add_middleware``."""
    from ag2.middleware import Middleware

    return Middleware(_middleware_class(), tracer=tracer, owner=None if owner is None else weakref.ref(owner))


def instrument(agent: Any, tracer: Tracer) -> Any:
    """Add the Thoth middleware to an ``ag2.Agent`` (or replace it with ``tracer``'s) and return it."""
    previous = instrumented_by(agent)
    if previous is tracer:
        return agent
    if getattr(agent, "tasks", None) is not None:
        raise ThothConfigError(
            f"agent {getattr(agent, 'name', '?')!r} has sub-tasks enabled (tasks=TaskConfig(...)): ag2 runs "
            "sub-tasks as a new agent without any middleware, so Thoth cannot govern their tool calls; "
            "create the agent without tasks=, or delegate to an instrumented agent with agent.as_tool()"
        )
    ours = [i for i, m in enumerate(agent._middleware) if getattr(m, "cls", None) is _middleware_class()]
    if ours:  # instrumented before: the new settings replace the old ones, in the same place
        agent._middleware[ours[0]] = thoth_middleware(tracer, owner=agent)
        for i in reversed(ours[1:]):
            del agent._middleware[i]
    else:
        agent.add_middleware(thoth_middleware(tracer, owner=agent))
    mark_instrumented(agent, tracer)
    _govern_subagents(agent, tracer, previous)
    return agent


def _govern_subagents(agent: Any, tracer: Tracer, previous: Tracer | None = None) -> None:
    """Instrument the agents behind ``agent``'s delegation tools that have no tracer (or ``previous``)."""
    for tool in list(getattr(agent, "tools", ())):
        sub = getattr(tool, "agent", None)
        if sub is None or sub is agent or not hasattr(sub, "add_middleware"):
            continue
        current = instrumented_by(sub)
        if current is None or (previous is not None and current is previous):
            instrument(sub, tracer)


@functools.cache
def _middleware_class() -> type[Any]:
    """Built on first use so that importing this module does not import ag2."""
    from ag2.middleware import BaseMiddleware

    class ThothMiddleware(BaseMiddleware):  # type: ignore[misc]
        def __init__(self, event: Any, context: Any, *, tracer: Tracer, owner: Any = None) -> None:
            super().__init__(event, context)
            self._tracer = tracer
            self._owner = owner

        async def on_turn(self, call_next: Any, event: Any, context: Any) -> Any:
            agent = self._owner() if self._owner is not None else None
            if agent is not None:  # delegation tools added since instrument()
                _govern_subagents(agent, self._tracer)
            return await call_next(event, context)

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
