"""Govern langchain-core tools: in place on the tool objects, and at the ToolNode level.

Shared by :mod:`thoth.integrations.langchain` and :mod:`thoth.integrations.langgraph`
(both need langchain-core only).

* In place: :func:`govern_in_place` swaps a tool's class for a governed subclass of
  it (made once per tool class), so the user's own object is governed: ``run`` /
  ``arun`` (what ``invoke``, ``ainvoke``, ``batch``, ``abatch``, ``stream``,
  ``astream``, ``AgentExecutor`` and ``ToolNode`` all go through) decide the call
  first; ``_run`` / ``_arun`` and the ``func`` / ``coroutine`` a ``StructuredTool``
  holds decide it when reached any other way. The tool keeps its name, schema,
  callbacks, ``config`` handling and ``ToolMessage`` formatting. Its governance
  (tracer, policy name) lives on the instance, so copies (``model_copy``,
  ``copy.deepcopy``) stay governed by the same tracer.
* Scope: a hook that knows which agent is running (a ToolNode wrapper, the
  ``create_agent`` middleware, an instrumented ``AgentExecutor``) puts its tracer
  in a context variable for the duration of the call. A tool shared by several
  agents is decided under the one that runs it; its own tracer (the first
  instrument() that reached it) decides direct calls only. A call the hook has
  already decided is not decided twice.
* ``ToolCallGovernor``: the ``wrap_tool_call`` / ``awrap_tool_call`` pair. It sees
  a ``ToolCallRequest`` (``.tool_call`` = ``{"name", "args", "id"}``) and an
  ``execute`` callable; a refusal never calls ``execute`` and becomes a
  ``ToolMessage(status="error")`` the model reads, or propagates as
  ``ThothPolicyViolation`` (which aborts the run) when the tracer raises.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool

from thoth.errors import ThothConfigError
from thoth.integrations._govern import as_args, log

if TYPE_CHECKING:
    from thoth._governed import GovernedCall
    from thoth.tracer import Tracer

__all__ = ["GovernedTool", "ToolCallGovernor", "govern_in_place", "is_governed", "tracer_of"]

Execute = Callable[[Any], Any]
AsyncExecute = Callable[[Any], Awaitable[Any]]


# ---- the scope: which agent runs this call ----------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Scope:
    tracer: Tracer
    decided: Any = None  # the tool whose current call the hook has already decided
    call_id: str | None = None  # the framework's id for the next call (AgentExecutor does not pass it)


_SCOPE: ContextVar[_Scope | None] = ContextVar("thoth_langchain_scope", default=None)
_RUNNING: ContextVar[Any] = ContextVar("thoth_langchain_running", default=None)  # tool whose body runs


@contextmanager
def agent_scope(tracer: Tracer, *, decided: Any = None, call_id: str | None = None) -> Iterator[None]:
    """Tool calls made inside are decided under ``tracer`` (``decided``: this tool's call already was)."""
    token = _SCOPE.set(_Scope(tracer, decided, call_id))
    try:
        yield
    finally:
        _SCOPE.reset(token)


@contextmanager
def _body(tool: Any, tracer: Tracer) -> Iterator[None]:
    """The tool's body runs: its ``_run`` and ``func`` pass; tools it calls are decided under ``tracer``."""
    scope, running = _SCOPE.set(_Scope(tracer)), _RUNNING.set(tool)
    try:
        yield
    finally:
        _RUNNING.reset(running)
        _SCOPE.reset(scope)


# ---- governance carried by the tool object ----------------------------------------------------
class _Governance:
    """A tool's own tracer and policy name. Copies of the tool share it (a tracer is not copied)."""

    __slots__ = ("policy_name", "tracer")

    def __init__(self, tracer: Tracer, policy_name: str | None) -> None:
        self.tracer = tracer
        self.policy_name = policy_name

    def __copy__(self) -> _Governance:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> _Governance:
        return self


_STATE = "_thoth_governance"  # the instance attribute (in the pydantic model's __dict__, not a field)


def _governance(tool: Any) -> _Governance | None:
    state = tool.__dict__.get(_STATE)
    return state if isinstance(state, _Governance) else None


def is_governed(tool: Any) -> bool:
    return isinstance(tool, GovernedTool) and _governance(tool) is not None


def tracer_of(tool: Any) -> Tracer | None:
    """The tracer that decides ``tool``'s direct calls, if it is governed in place."""
    state = _governance(tool)
    return state.tracer if state is not None else None


def same_settings(a: Tracer, b: Tracer) -> bool:
    """Two tracers that decide alike (``instrument()`` twice with the same options)."""
    return a is b or a.config == b.config


def govern_in_place(
    tool: BaseTool,
    tracer: Tracer,
    *,
    policy_name: str | None = None,
    shared: bool = False,
    replaces: Tracer | None = None,
) -> BaseTool:
    """Govern ``tool`` itself, for every way it can be run. Returns ``tool``.

    ``shared=False`` (the tool, or a list of tools, was instrumented): a tool already governed
    under other settings is a ThothConfigError, since nothing would say which agent decides.
    ``shared=True`` (an agent that carries its own tracer to each call was instrumented): the
    tool keeps its own tracer, unless it has none or had ``replaces`` (the agent's previous one).
    """
    state = _governance(tool)
    if state is not None:
        if same_settings(state.tracer, tracer) or (replaces is not None and state.tracer is replaces):
            object.__setattr__(tool, _STATE, _Governance(tracer, policy_name or state.policy_name))
        elif not shared:
            raise ThothConfigError(
                f"thoth: tool {tool.name!r} is already governed for agent "
                f"{state.tracer.config.agent_id!r}; governing it again for agent {tracer.config.agent_id!r} "
                "would change how that agent's calls are decided. Give each agent its own tool object, or "
                "instrument the agents themselves (AgentExecutor, create_agent or LangGraph graph, "
                "ToolNode): a tool shared by instrumented agents is decided under the agent that runs it"
            )
        return tool
    cls = type(tool)
    try:
        governed_cls = cls if issubclass(cls, GovernedTool) else _governed_class(cls)
        object.__setattr__(tool, "__class__", governed_cls)
    except Exception as exc:  # an odd tool class: say so rather than leave it ungoverned
        raise ThothConfigError(
            f"thoth: cannot govern tool {tool.name!r} ({cls.__name__}) in place: {type(exc).__name__}"
        ) from exc
    object.__setattr__(tool, _STATE, _Governance(tracer, policy_name))
    for field in ("func", "coroutine"):  # StructuredTool / Tool: the plain functions they hold
        fn = tool.__dict__.get(field)
        if callable(fn):
            object.__setattr__(tool, field, _guard_function(tool, fn))
    return tool


_GOVERNED_CLASSES: dict[type, type] = {}  # one governed subclass per tool class


def _governed_class(cls: type[BaseTool]) -> type[BaseTool]:
    """``cls`` with governed ``run`` / ``arun`` and guarded ``_run`` / ``_arun`` (same name, so a
    repr, a serialized id or a log line reads as before)."""
    if cls in _GOVERNED_CLASSES:
        return _GOVERNED_CLASSES[cls]
    namespace: dict[str, Any] = {"__module__": cls.__module__, "__qualname__": cls.__qualname__}
    namespace["_run"] = _guard_method(cls._run)
    # BaseTool.arun looks at whether _arun is BaseTool's own: guard it only where the class has its own.
    if cls._arun is not BaseTool._arun:
        namespace["_arun"] = _guard_method(cls._arun)
    governed = _GOVERNED_CLASSES[cls] = type(cls.__name__, (GovernedTool, cls), namespace)
    return governed


def _deciding_tracer(tool: Any) -> Tracer:
    scope = _SCOPE.get()
    if scope is not None:
        return scope.tracer
    tracer = tracer_of(tool)
    if tracer is None:  # e.g. model_construct() of a governed class: refuse rather than run ungoverned
        raise ThothConfigError(f"thoth: tool {tool.name!r} has lost its governance; instrument it again")
    return tracer


def _policy_name(tool: Any) -> str:
    state = _governance(tool)
    return (state.policy_name if state is not None else None) or str(tool.name)


class GovernedTool(BaseTool):  # type: ignore[misc]  # langchain is untyped for mypy here
    """The base of every tool class governed in place: ``isinstance(tool, GovernedTool)``.

    ``run`` / ``arun`` decide each call before the tool's own ``run`` / ``arun`` runs it.
    """

    def run(self, tool_input: str | dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        scope = _SCOPE.get()
        if scope is not None and scope.decided is self:  # the hook that runs it decided this call
            with _body(self, scope.tracer):
                return super().run(tool_input, *args, **kwargs)
        tracer = _deciding_tracer(self)
        call_id = kwargs.get("tool_call_id") or (scope.call_id if scope is not None else None)
        policy_args = self._policy_args(tool_input)
        governed = tracer.govern(_policy_name(self), policy_args, call_id=call_id)
        if governed.refused:
            return self._refuse(governed, kwargs.get("tool_call_id"))
        with governed, _body(self, tracer):
            result = super().run(self._input_for(tool_input, policy_args, governed), *args, **kwargs)
        return record_tool_result(governed, result, ToolFailed)

    async def arun(self, tool_input: str | dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        scope = _SCOPE.get()
        if scope is not None and scope.decided is self:
            with _body(self, scope.tracer):
                return await super().arun(tool_input, *args, **kwargs)
        tracer = _deciding_tracer(self)
        call_id = kwargs.get("tool_call_id") or (scope.call_id if scope is not None else None)
        policy_args = self._policy_args(tool_input)
        governed = await tracer.agovern(_policy_name(self), policy_args, call_id=call_id)
        if governed.refused:
            return self._refuse(governed, kwargs.get("tool_call_id"))
        with governed, _body(self, tracer):
            result = await super().arun(self._input_for(tool_input, policy_args, governed), *args, **kwargs)
        return record_tool_result(governed, result, ToolFailed)

    def _policy_args(self, tool_input: Any) -> dict[str, Any]:
        """The arguments the model chose: injected ones (state, runtime, call id, config) stay local."""
        visible = self._visible_args()
        if isinstance(tool_input, dict):
            return {k: v for k, v in tool_input.items() if visible is None or k in visible}
        if visible is not None and len(visible) == 1:
            return {next(iter(visible)): tool_input}
        return {"input": tool_input}

    def _visible_args(self) -> set[str] | None:
        try:
            return set(self.args)
        except (AttributeError, KeyError, TypeError, ValueError):
            return None  # e.g. a hand-written JSON schema without "properties": keep every argument

    def _input_for(
        self, tool_input: str | dict[str, Any], policy_args: dict[str, Any], governed: GovernedCall
    ) -> str | dict[str, Any]:
        """The input to run with: the original, or the enforcer's rewrite after a MODIFY."""
        if not governed.modified:
            return tool_input
        injected = (
            {k: v for k, v in tool_input.items() if k not in policy_args}
            if isinstance(tool_input, dict)
            else {}
        )
        return {**injected, **governed.args}

    def _refuse(self, governed: GovernedCall, call_id: str | None) -> Any:
        text = governed.refuse()  # raises on on_block="raise"
        if call_id is None:
            return text
        return ToolMessage(content=text, name=self.name, tool_call_id=call_id, status="error")


# ---- guards: the tool's body reached without run()/arun() is decided there --------------------
_LOCAL_KWARGS = frozenset({"config", "run_manager", "callbacks"})


def _guard_method(method: Callable[..., Any]) -> Callable[..., Any]:
    """``_run`` / ``_arun``: pass inside the tool's governed run, else decide the call first (a
    subclass whose ``invoke`` skips ``run()``, a direct ``tool._run(...)``)."""
    if inspect.iscoroutinefunction(method):

        @functools.wraps(method)
        async def aguarded(self: Any, *args: Any, **kwargs: Any) -> Any:
            if _RUNNING.get() is self:
                return await method(self, *args, **kwargs)
            tracer = _deciding_tracer(self)
            governed = await tracer.agovern(_policy_name(self), _direct_args(self, args, kwargs))
            if governed.refused:
                return governed.refuse()
            with governed, _body(self, tracer):
                args, kwargs = _rewritten(self, governed, args, kwargs)
                return await governed.arun(method, self, *args, **kwargs)

        return aguarded

    @functools.wraps(method)
    def guarded(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _RUNNING.get() is self:
            return method(self, *args, **kwargs)
        tracer = _deciding_tracer(self)
        governed = tracer.govern(_policy_name(self), _direct_args(self, args, kwargs))
        if governed.refused:
            return governed.refuse()
        with governed, _body(self, tracer):
            args, kwargs = _rewritten(self, governed, args, kwargs)
            return governed.run(method, self, *args, **kwargs)

    return guarded


def _direct_args(tool: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    values = {k: v for k, v in kwargs.items() if k not in _LOCAL_KWARGS}
    if len(args) == 1 and not values:
        return dict(tool._policy_args(args[0]))
    if args:
        values["args"] = list(args)
    return dict(tool._policy_args(values))


def _rewritten(
    tool: Any, governed: GovernedCall, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """``(args, kwargs)`` with a MODIFY's rewritten arguments."""
    if not governed.modified:
        return args, kwargs
    if len(args) == 1 and len(governed.args) == 1:
        return (next(iter(governed.args.values())),), kwargs
    return args, {**kwargs, **governed.args}


def _guard_function(tool: Any, fn: Callable[..., Any]) -> Callable[..., Any]:
    """The ``func`` / ``coroutine`` a tool holds: it passes inside that tool's governed run; a direct
    ``tool.func(...)`` is decided like any governed function (the name of the tool, its tracer)."""

    def inside() -> bool:
        running = _RUNNING.get()
        return running is not None and guard in (
            running.__dict__.get("func"),
            running.__dict__.get("coroutine"),
        )

    def direct() -> Callable[..., Any]:
        return _deciding_tracer(tool).wrap_tool(_policy_name(tool), fn)

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def guard(*args: Any, **kwargs: Any) -> Any:
            if inside():
                return await fn(*args, **kwargs)
            return await direct()(*args, **kwargs)

    else:

        @functools.wraps(fn)
        def guard(*args: Any, **kwargs: Any) -> Any:
            if inside():
                return fn(*args, **kwargs)
            return direct()(*args, **kwargs)

    return guard


# ---- the ToolNode / middleware hook -----------------------------------------------------------
class ToolCallGovernor:
    """A ``wrap_tool_call`` / ``awrap_tool_call`` pair bound to one tracer.

    It decides each call, then runs it with the tracer in scope, so the tool (governed in place
    or not) is not decided a second time, and tools it calls in turn are decided under this agent.
    A tool it runs that is not governed in place yet (added after instrument()) becomes governed,
    so the object the user holds is governed too.
    """

    def __init__(self, tracer: Tracer) -> None:
        self.tracer = tracer

    def wrap(self, request: Any, execute: Execute) -> Any:
        self._adopt(request)
        call = request.tool_call
        governed = self.tracer.govern(call["name"], as_args(call.get("args")), call_id=call.get("id"))
        if governed.refused:
            return refusal_message(call, governed)
        request = _with_args(request, governed)
        with governed, agent_scope(self.tracer, decided=request.tool):
            result = execute(request)
        return record_tool_result(governed, result, ToolError)

    async def awrap(self, request: Any, execute: AsyncExecute) -> Any:
        self._adopt(request)
        call = request.tool_call
        governed = await self.tracer.agovern(call["name"], as_args(call.get("args")), call_id=call.get("id"))
        if governed.refused:
            return refusal_message(call, governed)
        request = _with_args(request, governed)
        with governed, agent_scope(self.tracer, decided=request.tool):
            result = await execute(request)
        return record_tool_result(governed, result, ToolError)

    def _adopt(self, request: Any) -> None:
        tool = getattr(request, "tool", None)
        if isinstance(tool, BaseTool) and not is_governed(tool):
            try:
                govern_in_place(tool, self.tracer, shared=True)
            except ThothConfigError:
                log.warning("thoth: tool %r is governed through its agent only", tool.name)


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


class ToolFailed(Exception):
    """The governed tool failed and langchain turned the error into its result."""
