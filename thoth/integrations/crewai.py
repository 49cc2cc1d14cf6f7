"""CrewAI: govern the tool calls of an instrumented ``Agent`` or ``Crew``.

The hook is CrewAI's own ``before_tool_call`` / ``after_tool_call`` pair. It
fires for ReAct text tool calls and native function calling, with sync and
async kickoff. Thoth registers one pair per process; each call is governed by
the tracer of the agent that makes it (or of its crew), and calls of agents
nobody instrumented pass untouched.

* ``before_tool_call`` authorizes the call. A MODIFY rewrites the arguments in
  place (CrewAI runs the dict it handed to the hook). A refusal returns
  ``False``: CrewAI does not run the tool.
* ``after_tool_call`` records the result, and for a refused call replaces
  CrewAI's generic "Tool execution blocked by hook" with the refusal text, so
  the model reads why and the agent goes on.

CrewAI swallows exceptions raised by hooks (the tool then runs), so the hooks
decide inside and never raise: an internal error refuses the call. For the same
reason a refusal always reaches the model as text, whatever ``tracer.on_block``
says. The hooks are synchronous (CrewAI's design): under ``akickoff`` a step-up
wait blocks the event loop thread until a human answers.
"""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING, Any

from thoth.errors import ThothConfigError
from thoth.integrations._govern import as_args, log

if TYPE_CHECKING:
    from thoth._governed import GovernedCall
    from thoth.tracer import Tracer

__all__ = ["instrument", "uninstrument"]

_lock = threading.Lock()
# Instrumented agents and crews, by their CrewAI id (stable, hashable; the models are not hashable).
_tracers: dict[Any, Tracer] = {}
# Calls between the two hooks, keyed by the identity of the argument dict CrewAI passes to both;
# the dict is kept so its id cannot be reused while the call is open.
_open_calls: dict[int, tuple[dict[str, Any], GovernedCall]] = {}
_hooks_registered = False
_MAX_OPEN_CALLS = 10_000
# What CrewAI returns when some hook (another library's, after ours allowed it) blocked the call.
_BLOCKED_BY_OTHER_HOOK = "Tool execution blocked by hook"


class ToolNotRun(Exception):
    """Thoth allowed the call but another CrewAI hook blocked it."""


def instrument(obj: Any, tracer: Tracer) -> Any:
    """Govern every tool call of a CrewAI ``Agent`` or ``Crew`` (in place; returns ``obj``)."""
    key = _key(obj)
    if key is None:
        raise ThothConfigError(f"thoth: cannot govern a {type(obj).__name__}: pass a CrewAI Agent or Crew")
    _register_hooks()
    with _lock:
        _tracers[key] = tracer
    weakref.finalize(obj, _forget, key, tracer)
    return obj


def uninstrument(obj: Any) -> Any:
    """Stop governing ``obj`` (its later tool calls run ungoverned)."""
    key = _key(obj)
    with _lock:
        _tracers.pop(key, None)
    return obj


def _forget(key: Any, tracer: Tracer) -> None:
    with _lock:
        if _tracers.get(key) is tracer:
            del _tracers[key]


def _key(obj: Any) -> Any:
    """An Agent's or Crew's UUID ``id``: unique across both, and hashable where the models are not."""
    return getattr(obj, "id", None)


def _register_hooks() -> None:
    global _hooks_registered
    with _lock:
        if _hooks_registered:
            return
        from crewai.hooks import register_after_tool_call_hook, register_before_tool_call_hook

        register_before_tool_call_hook(_before_tool_call)
        register_after_tool_call_hook(_after_tool_call)
        _hooks_registered = True


def _tracer_for(context: Any) -> Tracer | None:
    """The agent's own tracer first, then its crew's."""
    with _lock:
        for owner in (getattr(context, "agent", None), getattr(context, "crew", None)):
            key = _key(owner) if owner is not None else None
            if key is not None and key in _tracers:
                return _tracers[key]
    return None


def _before_tool_call(context: Any) -> bool | None:
    """``False`` blocks the call. Never raises: CrewAI would run the tool on an exception."""
    try:
        tracer = _tracer_for(context)
        if tracer is None:
            return None
        arguments = context.tool_input
        governed = tracer.govern(str(context.tool_name), as_args(arguments))
        with _lock:
            _open_calls[id(arguments)] = (arguments, governed)
            if len(_open_calls) > _MAX_OPEN_CALLS:  # a call whose after-hook never came (the tool crashed)
                del _open_calls[next(iter(_open_calls))]
        if governed.refused:
            return False
        if governed.modified and isinstance(arguments, dict):
            arguments.clear()  # CrewAI runs this very dict: rewrite it in place (MODIFY)
            arguments.update(governed.args)
        return None
    except BaseException as exc:  # noqa: BLE001 - fail closed: CrewAI runs the tool when a hook raises
        log.warning("thoth: crewai before_tool_call failed, refusing the call: %s", type(exc).__name__)
        return False


def _after_tool_call(context: Any) -> str | None:
    """The refusal text for a refused call; otherwise record the result and change nothing."""
    try:
        with _lock:
            entry = _open_calls.pop(id(context.tool_input), None)
        if entry is None or entry[0] is not context.tool_input:
            return None
        governed = entry[1]
        if governed.refused:
            return governed.refusal_text()  # text whatever on_block: CrewAI swallows what a hook raises
        result = context.raw_tool_result
        if isinstance(result, str) and result.startswith(_BLOCKED_BY_OTHER_HOOK):
            governed.finish(error=ToolNotRun(result))
        else:
            governed.finish(result=result)
        return None
    except BaseException as exc:  # noqa: BLE001 - it only reports: its failure must not disturb the run
        log.warning("thoth: crewai after_tool_call failed: %s", type(exc).__name__)
        return None
