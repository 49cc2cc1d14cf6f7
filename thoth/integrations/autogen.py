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

from thoth.errors import ThothPolicyViolation
from thoth.integrations._gate import acheck, check, finish, is_async_callable, refusal_text, returns_refusal

if TYPE_CHECKING:
    from thoth.tracer import Tracer

__all__ = ["govern_function", "instrument", "wrap_autogen_tools"]

_GOVERNED = "__thoth_governed__"  # on governed functions: (tracer, original), as Tracer.wrap_tool marks them
_INSTRUMENTED = "__thoth_instrumented__"  # on agents
# The model's id for the tool call being executed, set around AutoGen's execute_function.
_CALL_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("thoth_autogen_call_id", default=None)


def wrap_autogen_tools(
    function_map: Mapping[str, Callable[..., Any]], tracer: Tracer
) -> dict[str, Callable[..., Any]]:
    """A governed copy of ``function_map``: same names, same sync/async functions."""
    return {name: govern_function(name, fn, tracer) for name, fn in function_map.items()}


def govern_function(name: str, fn: Callable[..., Any], tracer: Tracer) -> Callable[..., Any]:
    """Wrap one function so every call is authorized first (keeps sync/async and signature)."""
    marker = getattr(fn, _GOVERNED, None)
    if isinstance(marker, tuple) and len(marker) == 2:
        if marker[0] is tracer:
            return fn
        fn = marker[1]  # governed by another tracer: govern the original, never twice
    signature = _signature(fn)

    if is_async_callable(fn):

        @functools.wraps(fn)
        async def governed_async(*args: Any, **kwargs: Any) -> Any:
            named = _named(signature, args, kwargs)
            outcome = await acheck(tracer, name, named, _CALL_ID.get())
            if isinstance(outcome, ThothPolicyViolation):
                return _refuse(tracer, outcome)
            rebuilt = _rebuild(signature, args, kwargs, named, outcome.args)
            if rebuilt is None:
                return _refuse(tracer, _unappliable(name, outcome))
            try:
                result = await fn(*rebuilt[0], **rebuilt[1])
            except Exception as exc:
                finish(outcome, error=exc)
                raise
            finish(outcome, result=result)
            return result

        setattr(governed_async, _GOVERNED, (tracer, fn))
        return governed_async

    @functools.wraps(fn)
    def governed(*args: Any, **kwargs: Any) -> Any:
        named = _named(signature, args, kwargs)
        outcome = check(tracer, name, named, _CALL_ID.get())
        if isinstance(outcome, ThothPolicyViolation):
            return _refuse(tracer, outcome)
        rebuilt = _rebuild(signature, args, kwargs, named, outcome.args)
        if rebuilt is None:
            return _refuse(tracer, _unappliable(name, outcome))
        try:
            result = fn(*rebuilt[0], **rebuilt[1])
        except Exception as exc:
            finish(outcome, error=exc)
            raise
        finish(outcome, result=result)
        return result

    setattr(governed, _GOVERNED, (tracer, fn))
    return governed


def instrument(agent: Any, tracer: Tracer) -> Any:
    """Govern a ``ConversableAgent`` (or subclass) in place and return it.

    Given a ``GroupChatManager``, every agent of its group chat is governed too.
    """
    groupchat = getattr(agent, "groupchat", None)
    for member in getattr(groupchat, "agents", None) or []:
        if member is not agent and hasattr(member, "function_map"):
            instrument(member, tracer)
    if getattr(agent, _INSTRUMENTED, False):
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
    setattr(agent, _INSTRUMENTED, True)
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


def _refuse(tracer: Tracer, violation: ThothPolicyViolation) -> str:
    if returns_refusal(tracer):
        return refusal_text(violation)
    raise violation


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


def _rebuild(
    signature: inspect.Signature | None,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    checked: dict[str, Any],
    permitted: dict[str, Any],
) -> tuple[tuple[Any, ...], dict[str, Any]] | None:
    """The arguments to run with: the permitted ones (MODIFY may have rewritten them), or None."""
    if not args:
        return (), dict(permitted)
    if permitted == checked:
        return args, kwargs
    if signature is not None and all(
        p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) for p in signature.parameters.values()
    ):
        return (), dict(permitted)
    return None  # rewritten arguments that cannot be passed back by name


def _unappliable(name: str, permit: Any) -> ThothPolicyViolation:
    """Never run with the arguments the enforcer rewrote away: refuse instead."""
    violation = ThothPolicyViolation(
        name, "the enforcer rewrote the arguments of a positional call, which cannot be applied"
    )
    finish(permit, error=violation)
    return violation
