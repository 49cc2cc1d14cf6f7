"""AutoGen classic (``import autogen``, ag2 0.x): govern an agent's ``function_map``.

Two ways in:

* ``wrap_autogen_tools(function_map, tracer=tracer)`` returns a governed copy of a
  ``function_map`` to hand to ``UserProxyAgent(function_map=...)`` (the API of the
  existing SDK, unchanged).
* ``instrument(agent, tracer)`` governs a ``ConversableAgent`` in place: it
  re-registers every function of its ``function_map`` (and any registered later),
  and records the model's tool-call id so parallel calls are keyed by it.

A refusal raises ``ThothPolicyViolation`` inside the function, which AutoGen turns
into an ``"Error: ..."`` tool message the model reads (``on_block="raise"``), or
the function returns the refusal text as its result (``on_block="return"``).
Either way the tool body does not run and the conversation goes on.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from thoth._governed import GovernedCall, governed_by, instrumented_by, mark_governed, mark_instrumented
from thoth.errors import ThothPolicyViolation
from thoth.integrations._govern import is_async_callable

if TYPE_CHECKING:
    from thoth.tracer import Tracer

__all__ = ["govern_function", "instrument", "wrap_autogen_tools"]

# The model's id for the tool call being executed, set around AutoGen's execute_function.
_CALL_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("thoth_autogen_call_id", default=None)

Arguments = tuple[tuple[Any, ...], dict[str, Any]]


def wrap_autogen_tools(
    function_map: Mapping[str, Callable[..., Any]], tracer: Tracer
) -> dict[str, Callable[..., Any]]:
    """A governed copy of ``function_map``: same names, same sync/async functions."""
    return {name: govern_function(name, fn, tracer) for name, fn in function_map.items()}


def govern_function(name: str, fn: Callable[..., Any], tracer: Tracer) -> Callable[..., Any]:
    """Wrap one function so every call is authorized first (keeps sync/async and signature)."""
    governor = governed_by(fn)
    if governor is not None:
        if governor[0] is tracer:
            return fn
        fn = governor[1]  # governed by another tracer: govern the original, never twice
    signature = _signature(fn)

    if is_async_callable(fn):

        @functools.wraps(fn)
        async def governed_async(*args: Any, **kwargs: Any) -> Any:
            call = await tracer.agovern(name, _named(signature, args, kwargs), call_id=_CALL_ID.get())
            run = _permitted(call, signature, args, kwargs)
            if isinstance(run, GovernedCall):
                return run.refuse()
            return await call.arun(fn, *run[0], **run[1])

        mark_governed(governed_async, tracer, fn)
        return governed_async

    @functools.wraps(fn)
    def governed(*args: Any, **kwargs: Any) -> Any:
        call = tracer.govern(name, _named(signature, args, kwargs), call_id=_CALL_ID.get())
        run = _permitted(call, signature, args, kwargs)
        if isinstance(run, GovernedCall):
            return run.refuse()
        return call.run(fn, *run[0], **run[1])

    mark_governed(governed, tracer, fn)
    return governed


def instrument(agent: Any, tracer: Tracer) -> Any:
    """Govern a ``ConversableAgent`` (or subclass) in place and return it.

    Given a ``GroupChatManager``, every agent of its group chat is governed too.
    """
    groupchat = getattr(agent, "groupchat", None)
    for member in getattr(groupchat, "agents", None) or []:
        if member is not agent and hasattr(member, "function_map"):
            instrument(member, tracer)
    if instrumented_by(agent) is not None:
        return agent
    register = agent.register_function  # the bound original
    register(wrap_autogen_tools(dict(agent.function_map), tracer), silent_override=True)

    def register_function(function_map: dict[str, Callable[..., Any]], silent_override: bool = False) -> None:
        governed = {
            n: (None if f is None else govern_function(n, f, tracer)) for n, f in function_map.items()
        }
        register(governed, silent_override=silent_override)

    agent.register_function = register_function
    _record_call_ids(agent)
    mark_instrumented(agent, tracer)
    return agent


def _record_call_ids(agent: Any) -> None:
    """Make the model's tool-call id visible to the governed functions (a contextvar per call)."""
    execute, a_execute = agent.execute_function, agent.a_execute_function

    def execute_function(func_call: dict[str, Any], call_id: str | None = None, verbose: bool = False) -> Any:
        token = _CALL_ID.set(call_id)
        try:
            return execute(func_call, call_id=call_id, verbose=verbose)
        finally:
            _CALL_ID.reset(token)

    async def a_execute_function(
        func_call: dict[str, Any], call_id: str | None = None, verbose: bool = False
    ) -> Any:
        token = _CALL_ID.set(call_id)
        try:
            return await a_execute(func_call, call_id=call_id, verbose=verbose)
        finally:
            _CALL_ID.reset(token)

    agent.execute_function = execute_function
    agent.a_execute_function = a_execute_function


def _signature(fn: Callable[..., Any]) -> inspect.Signature | None:
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):
        return None


def _named(
    signature: inspect.Signature | None, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[str, Any]:
    """The call's arguments by parameter name, as the enforcer sees them."""
    if not args:
        return dict(kwargs)
    if signature is not None:
        try:
            return dict(signature.bind_partial(*args, **kwargs).arguments)
        except TypeError:
            pass
    return {"args": list(args), **kwargs}


def _permitted(
    call: GovernedCall, signature: inspect.Signature | None, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Arguments | GovernedCall:
    """The arguments to run with (MODIFY may have rewritten them), or the refused call to answer with."""
    if call.refused:
        return call
    if not args:
        return (), dict(call.args)
    if not call.modified:
        return args, kwargs
    if signature is not None and all(
        p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) for p in signature.parameters.values()
    ):
        return (), dict(call.args)
    # Never run with the arguments the enforcer rewrote away: refuse instead.
    violation = ThothPolicyViolation(
        call.tool_name, "the enforcer rewrote the arguments of a positional call, which cannot be applied"
    )
    call.finish(error=violation)
    return GovernedCall(call.tracer, call.tool_name, violation=violation)
