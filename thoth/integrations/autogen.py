"""AutoGen classic (``import autogen``, ag2 0.x): govern what a ``ConversableAgent`` executes.

Two ways in:

* ``wrap_autogen_tools(function_map, tracer=tracer)`` returns a governed copy of a
  ``function_map`` to hand to ``UserProxyAgent(function_map=...)`` (the API of the
  existing SDK, unchanged).
* ``instrument(agent, tracer)`` governs a ``ConversableAgent`` in place. It gives the
  agent a governed subclass of its own class (same name, same behaviour) whose
  ``_function_map`` and ``tools`` only ever hand out functions governed by the tracer
  the agent carries. AutoGen resolves every function and tool call through them
  (``execute_function`` / ``a_execute_function``, hence ``initiate_chat``,
  ``a_initiate_chat``, ``generate_reply``, ``run``, legacy ``function_call`` and
  ``tool_calls``), so functions registered after ``instrument()`` in any way
  (``register_function``, ``@register_for_execution``, ``function_map[name] = f``) are
  governed when they run. The tracer travels with the object, so ``copy.copy(agent)``
  stays governed.

What an instrumented agent owns is instrumented with its tracer too, when found
(at ``instrument()`` and before each reply): the members of a ``GroupChatManager``'s
group chat (members who join later included), the agents of its nested chats, and
the executor ``run()`` creates. An agent already instrumented on its own keeps its
own settings: a function is decided under the agent that runs it (its agent id,
mode, ``on_block``), even when several agents share it. The tools an agent proposes
(``agent.tools``, which a group chat's internal tool executor runs) are handed out
governed by that agent's tracer.

Instrumenting again with another tracer makes the new settings take effect (same
tracer: no-op). The plain Python function the user still holds is their own: calling
it directly is not governed; the agent's execution path is.

A refusal raises ``ThothPolicyViolation`` inside the function, which AutoGen turns
into an ``"Error: ..."`` tool message the model reads (``on_block="raise"``), or
the function returns the refusal text as its result (``on_block="return"``).
Either way the tool body does not run and the conversation goes on. Calling a
governed ``agent.function_map[name]`` yourself raises ``ThothPolicyViolation``.
"""

from __future__ import annotations

import contextvars
import copy
import functools
import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from thoth._governed import GovernedCall, governed_by, instrumented_by, mark_governed, mark_instrumented
from thoth.errors import ThothConfigError, ThothPolicyViolation
from thoth.integrations._govern import is_async_callable

if TYPE_CHECKING:
    from thoth.tracer import Tracer

__all__ = ["check_tool", "govern_function", "govern_tool", "instrument", "wrap_autogen_tools"]

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


def govern_tool(tool: Any, tracer: Tracer, name: str | None = None) -> Any:
    """A copy of an AutoGen ``Tool`` whose function is governed by ``tracer``, to stand in its place
    (in a list, a dict or ``.tools``): calling it, or its ``func``, is decided first. ``name`` is
    ignored: the tool's own is used. A proxy given again is re-governed from its original tool.

    Raises:
        ThothConfigError: ``tool`` is not an AutoGen ``Tool`` (nothing to govern it by).
    """
    check_tool(tool)
    return _governed_tool(getattr(tool, _ORIGINAL_TOOL, tool), tracer)


def check_tool(tool: Any) -> None:
    """Nothing for an AutoGen ``Tool`` that :func:`govern_tool` can govern; else raise.

    Raises:
        ThothConfigError: ``tool`` is not an AutoGen ``Tool`` (nothing to govern it by).
    """
    if not callable(getattr(getattr(tool, _ORIGINAL_TOOL, tool), "func", None)):
        raise ThothConfigError(
            f"thoth: cannot govern the AutoGen {type(tool).__name__} {getattr(tool, 'name', '')!r} "
            "on its own: instrument the ConversableAgent that runs it"
        )


def instrument(agent: Any, tracer: Tracer) -> Any:
    """Govern a ``ConversableAgent`` (or subclass) in place and return it.

    Given a ``GroupChatManager``, every agent of its group chat is governed too.
    """
    previous = instrumented_by(agent)
    if previous is not tracer:
        if not getattr(type(agent), "__thoth_governed_class__", False):
            agent.__class__ = _governed_class(type(agent))  # type: ignore[arg-type]
        mark_instrumented(agent, tracer)
    _govern_owned(agent, previous)
    return agent


def _govern_owned(agent: Any, previous: Tracer | None = None) -> None:
    """Instrument the agents ``agent`` runs chats with (group members, nested chats, run executor).

    An agent with no tracer, or with the one ``agent`` had before (``previous``), takes
    ``agent``'s tracer; an agent instrumented on its own keeps its settings.
    """
    tracer = instrumented_by(agent)
    if tracer is None:
        return
    for other in _owned_agents(agent):
        current = instrumented_by(other)
        if other is not agent and (current is None or (previous is not None and current is previous)):
            instrument(other, tracer)


def _owned_agents(agent: Any) -> list[Any]:
    owned = list(getattr(getattr(agent, "groupchat", None), "agents", None) or [])
    # register_nested_chats keeps each chat queue only in its reply function's closure
    for entry in agent.__dict__.get("_reply_func_list", []):
        try:
            queue = inspect.getclosurevars(entry["reply_func"]).nonlocals.get("chat_queue")
        except (TypeError, KeyError):
            continue
        for chat in queue if isinstance(queue, list) else []:
            owned += [chat.get(k) for k in ("recipient", "sender") if isinstance(chat, dict)]
    owned.append(agent.__dict__.get("run_executor"))
    return [a for a in owned if hasattr(a, "register_function")]


@functools.cache
def _governed_class(cls: Any) -> type[Any]:  # noqa: C901 - one small override per AutoGen entry point
    """``cls`` whose function map and tools are governed by the tracer the agent carries, looked up on
    every use (so late registrations and copies are governed). Same name, so reprs and logs do not change."""

    class Governed(cls):  # type: ignore[misc]
        __thoth_governed_class__ = True

        @property
        def _function_map(self) -> dict[str, Callable[..., Any]]:
            functions: dict[str, Callable[..., Any]] = self.__dict__["_function_map"]
            tracer = instrumented_by(self)
            if tracer is not None:
                for name, fn in list(functions.items()):
                    governed = govern_function(name, fn, tracer) if callable(fn) else fn
                    if governed is not fn:  # registered after instrument(), or by another agent's tracer
                        functions[name] = governed
            return functions

        @_function_map.setter
        def _function_map(self, functions: dict[str, Callable[..., Any]]) -> None:
            self.__dict__["_function_map"] = functions

        @property
        def tools(self) -> list[Any]:
            return [_governed_tool(t, instrumented_by(self)) for t in super().tools]

        def remove_tool_for_llm(self, tool: Any) -> None:
            super().remove_tool_for_llm(getattr(tool, _ORIGINAL_TOOL, tool))

        @property
        def run_executor(self) -> Any:
            return self.__dict__.get("run_executor")

        @run_executor.setter
        def run_executor(self, executor: Any) -> None:
            self.__dict__["run_executor"] = executor  # the single-agent run()'s executor runs our tools
            _govern_owned(self)

        def execute_function(
            self, func_call: dict[str, Any], call_id: str | None = None, verbose: bool = False
        ) -> Any:
            token = _CALL_ID.set(call_id)  # the model's tool-call id, for the governed function
            try:
                return super().execute_function(func_call, call_id=call_id, verbose=verbose)
            finally:
                _CALL_ID.reset(token)

        async def a_execute_function(
            self, func_call: dict[str, Any], call_id: str | None = None, verbose: bool = False
        ) -> Any:
            token = _CALL_ID.set(call_id)
            try:
                return await super().a_execute_function(func_call, call_id=call_id, verbose=verbose)
            finally:
                _CALL_ID.reset(token)

        # Agents that join a group chat or a nested chat later are found before each reply.
        def receive(self, *args: Any, **kwargs: Any) -> Any:
            _govern_owned(self)
            return super().receive(*args, **kwargs)

        async def a_receive(self, *args: Any, **kwargs: Any) -> Any:
            _govern_owned(self)
            return await super().a_receive(*args, **kwargs)

        def generate_reply(self, *args: Any, **kwargs: Any) -> Any:
            _govern_owned(self)
            return super().generate_reply(*args, **kwargs)

        async def a_generate_reply(self, *args: Any, **kwargs: Any) -> Any:
            _govern_owned(self)
            return await super().a_generate_reply(*args, **kwargs)

    Governed.__name__, Governed.__qualname__ = cls.__name__, cls.__qualname__
    return Governed


_ORIGINAL_TOOL = "__thoth_original_tool__"


def _governed_tool(tool: Any, tracer: Tracer | None) -> Any:
    """A copy of an AutoGen ``Tool`` whose function is governed by ``tracer`` (cached on the tool)."""
    if tracer is None:
        return tool
    cached = tool.__dict__.get("__thoth_governed_tools__")
    if cached is None:
        cached = tool.__dict__["__thoth_governed_tools__"] = []
    for known, proxy in cached:
        if known is tracer:
            return proxy
    proxy = copy.copy(tool)
    proxy.__dict__.pop("__thoth_governed_tools__", None)
    proxy._func = govern_function(tool.name, tool.func, tracer)
    setattr(proxy, _ORIGINAL_TOOL, tool)
    cached.append((tracer, proxy))
    return proxy


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
