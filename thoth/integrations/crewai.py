"""CrewAI: govern the tool calls of an instrumented ``Agent`` or ``Crew``.

The hook is CrewAI's own ``before_tool_call`` / ``after_tool_call`` pair. It
fires wherever CrewAI runs a tool: ReAct text and native function calling,
``kickoff``, ``kickoff_async``, ``akickoff``, the ``*for_each*`` variants, a
standalone ``Agent.kickoff``, tools on a ``Task``, tools appended to
``agent.tools`` later, delegation tools, and crews run from a ``Flow``. Thoth
registers one pair per process; each call is decided under the tracer that
governs the agent making it, looked up in this order:

1. the agent's own (``thoth.instrument(agent, ...)``);
2. its crew's (``thoth.instrument(crew, ...)``);
3. the governed tool call it runs inside: a coworker a governed agent delegates
   to, or a crew a governed tool kicks off, inherits that call's governance;
4. for a hierarchical crew's manager: its workers' tracer when they all share
   one. If they have different ones, the manager's calls are refused (a text
   saying "instrument the crew"), never run ungoverned.

Calls of agents none of this covers pass untouched. A tool object shared by
agents with different settings is decided under the agent that runs it.

The governance is carried on the object, not in a table by CrewAI id:
``Agent.copy()`` and ``Crew.copy()`` (which ``kickoff_for_each``,
``kickoff_for_each_async`` and ``akickoff_for_each`` call per input) are wrapped
once, class-wide, so a copy keeps its original's tracer; ``model_copy()`` keeps
it too. Re-instrumenting replaces the tracer of that object (copies made
before keep theirs); ``uninstrument()`` removes it from that object only.
A subclass that overrides ``copy()`` without calling ``super().copy()``, and a
crew rebuilt from its dump or by ``Crew.from_checkpoint()``, start ungoverned:
instrument them. ``kickoff(from_checkpoint=...)`` with ``restore_from`` on a
governed crew or agent would run such a rebuilt, ungoverned object, so it raises
``ThothConfigError`` (restore, instrument, then kick off).

* ``before_tool_call`` authorizes the call. A MODIFY rewrites the arguments in
  place (CrewAI runs the dict it handed to the hook). A refusal returns
  ``False``: CrewAI does not run the tool.
* ``after_tool_call`` records the result, and for a refused call replaces
  CrewAI's generic "Tool execution blocked by hook" with the refusal text, so
  the model reads why and the agent goes on.

CrewAI swallows exceptions raised by hooks (the tool then runs), so the hooks
decide inside and never raise: an internal error refuses the call. For the same
reason a refusal always reaches the model as text, whatever ``tracer.on_block``
says; ``ThothPolicyViolation`` is never raised out of a crew. The hooks are
synchronous (CrewAI's design): under ``akickoff`` a step-up wait blocks the
event loop thread until a human answers.

Token spend: one LLM_INVOCATION per model call, from CrewAI's public
``LLMCallCompletedEvent`` (the event bus), which every CrewAI provider emits once
per call with the provider's ``usage`` dict, the model and the response id. (The
``after_llm_call`` hook is not used: CrewAI skips it for a turn that asks for
tools, and it carries no usage.) The event names the calling agent only by id,
so a ``before_llm_call`` hook, which sees the agent, records which agent the
context is calling the model for and its tracer (looked up as for a tool call);
CrewAI runs event handlers in a copy of the emitting context, so the handler
reads it there and counts the call only when the event's agent id is that
agent's. Latency is the time between the call's started and completed events
(from the hook instead when the started event's handler has not run yet).
A call without usage (CrewAI's ``{"total_tokens": 0}``), an ungoverned agent, a
manager refused as ambiguous, or a direct ``llm.call()`` outside an agent
records nothing. Handlers run on CrewAI's handler threads after the call
(``kickoff`` waits for them); like the hooks they never raise.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import importlib
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from thoth._usage import usage_of_fields
from thoth.errors import ThothConfigError, ThothPolicyViolation, refusal_text
from thoth.integrations._govern import as_args, log

if TYPE_CHECKING:
    from thoth._governed import GovernedCall
    from thoth.tracer import Tracer

__all__ = ["instrument", "uninstrument"]

# Where an Agent or Crew carries its governance: its pydantic private dict, which model_copy() copies
# and CrewAI's copy() does not (our copy() wrapper carries it over).
_GOVERNANCE = "_thoth_governance"
_INHERITS = "__thoth_inherits__"  # marks our copy() wrapper, so it is installed once
_MAX_OPEN_CALLS = 10_000
# What CrewAI returns when some hook (another library's, after ours allowed it) blocked the call.
_BLOCKED_BY_OTHER_HOOK = "Tool execution blocked by hook"
_AMBIGUOUS_MANAGER = (
    "the manager of this hierarchical crew has no Thoth settings and its agents have different ones; "
    "instrument the crew (or its manager_agent) to govern the manager"
)

_lock = threading.Lock()
_installed = False


class ToolNotRun(Exception):
    """Thoth allowed the call but another CrewAI hook blocked it."""


class _Governance:
    """The tracer an Agent or Crew carries. Immutable and shared by copies: ``copy.copy``, ``deepcopy``
    and ``model_copy`` keep this very object rather than cloning the tracer (threads, a connection)."""

    __slots__ = ("tracer",)

    def __init__(self, tracer: Tracer) -> None:
        self.tracer = tracer

    def __copy__(self) -> _Governance:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> _Governance:
        return self


class _OpenCall:
    """One call between the two hooks. ``tracer`` is None for a call refused with no tracer to ask."""

    __slots__ = ("arguments", "closed", "governed", "token", "tracer")

    def __init__(self, arguments: Any, governed: GovernedCall | None, tracer: Tracer | None) -> None:
        self.arguments = arguments  # kept so its id cannot be reused while the call is open
        self.governed = governed
        self.tracer = tracer
        self.token: contextvars.Token[_OpenCall | None] | None = None
        self.closed = False

    def close(self) -> None:
        self.closed = True  # a context the after-hook could not reset ignores a closed call
        if self.token is not None:
            with contextlib.suppress(ValueError, RuntimeError):  # another context, or already reset
                _enclosing.reset(self.token)


# Calls between the two hooks, keyed by the identity of the argument dict CrewAI passes to both.
_open_calls: dict[int, _OpenCall] = {}
# The allowed call whose tool is running now: agents it runs (a delegated coworker, a nested crew)
# inherit its governance. CrewAI runs parallel tool calls in copied contexts, so this follows them.
_enclosing: contextvars.ContextVar[_OpenCall | None] = contextvars.ContextVar(
    "thoth_crewai_call", default=None
)
# Returned by _tracer_for when no single tracer can speak for a call: refuse it.
_AMBIGUOUS = object()


class _LLMCaller:
    """The agent a context is calling its model for (CrewAI's id for it) and the tracer that counts it."""

    __slots__ = ("agent_id", "called_at", "tracer")

    def __init__(self, agent_id: str, tracer: Tracer | None) -> None:
        self.agent_id = agent_id
        self.tracer = tracer
        # the latency's start when the call's started event was not handled first (handlers run in a pool)
        self.called_at = datetime.now(UTC)


# Set by the before_llm_call hook for the call about to be made; read by the LLMCallCompletedEvent handler,
# which CrewAI runs in a copy of the emitting context. Never reset: the next call of this context sets it.
_llm_caller: contextvars.ContextVar[_LLMCaller | None] = contextvars.ContextVar(
    "thoth_crewai_llm_caller", default=None
)
_MAX_STARTED_CALLS = 1_024
# When each model call started (LLMCallStartedEvent's timestamp), by CrewAI's call id; bounded, since a
# call that fails emits no completed event.
_llm_started: dict[str, datetime] = {}


def instrument(obj: Any, tracer: Tracer) -> Any:
    """Govern every tool call of a CrewAI ``Agent`` or ``Crew`` (in place; returns ``obj``).

    Instrumenting again replaces the tracer (the new settings take effect)."""
    private = _private(obj)
    if private is None:
        raise ThothConfigError(f"thoth: cannot govern a {type(obj).__name__}: pass a CrewAI Agent or Crew")
    _install()
    private[_GOVERNANCE] = _Governance(tracer)
    return obj


def uninstrument(obj: Any) -> Any:
    """Stop governing ``obj`` (its later tool calls run ungoverned; copies made before stay governed)."""
    private = _private(obj)
    if private is not None:
        private.pop(_GOVERNANCE, None)
    return obj


def _reset() -> None:
    """Forget open calls (for tests; the governance lives and dies with the objects)."""
    with _lock:
        _open_calls.clear()
        _llm_started.clear()


def _private(obj: Any) -> dict[str, Any] | None:
    """The pydantic private dict of a CrewAI Agent or Crew; None for anything else."""
    from crewai import Crew
    from crewai.agents.agent_builder.base_agent import BaseAgent

    if not isinstance(obj, BaseAgent | Crew):
        return None
    private = getattr(obj, "__pydantic_private__", None)
    return private if isinstance(private, dict) else None


def _tracer_of(owner: Any) -> Tracer | None:
    private = getattr(owner, "__pydantic_private__", None) if owner is not None else None
    governance = private.get(_GOVERNANCE) if isinstance(private, dict) else None
    return governance.tracer if isinstance(governance, _Governance) else None


def _install() -> None:
    """Register the hooks and make copies inherit governance: once per process."""
    global _installed
    with _lock:
        if _installed:
            return
        from crewai import Crew
        from crewai.agents.agent_builder.base_agent import BaseAgent
        from crewai.hooks import register_after_tool_call_hook, register_before_tool_call_hook

        _inherit_on_copy(BaseAgent)
        _inherit_on_copy(Crew)
        for module in (importlib.import_module("crewai.crew"), importlib.import_module("crewai.agent.core")):
            _refuse_ungoverned_restore(module)
        register_before_tool_call_hook(_before_tool_call)
        register_after_tool_call_hook(_after_tool_call)
        _install_usage()
        _installed = True


def _install_usage() -> None:
    """Count each model call's tokens: the caller hook and the two LLM call event handlers."""
    from crewai.events import LLMCallCompletedEvent, LLMCallStartedEvent, crewai_event_bus
    from crewai.hooks import register_before_llm_call_hook

    register_before_llm_call_hook(_before_llm_call)
    crewai_event_bus.on(LLMCallStartedEvent)(_on_llm_started)
    crewai_event_bus.on(LLMCallCompletedEvent)(_on_llm_completed)


def _inherit_on_copy(cls: type) -> None:
    """Wrap ``cls.copy`` so a copy carries its original's governance (CrewAI builds a fresh model)."""
    original = cls.copy  # type: ignore[attr-defined]
    if getattr(original, _INHERITS, False):
        return

    @functools.wraps(original)
    def copy(self: Any) -> Any:
        clone = original(self)
        governance = (getattr(self, "__pydantic_private__", None) or {}).get(_GOVERNANCE)
        if governance is not None:
            private = getattr(clone, "__pydantic_private__", None)
            if not isinstance(private, dict):  # a copy that cannot carry it must not run ungoverned
                raise ThothConfigError(f"thoth: a copy of this {type(self).__name__} cannot stay governed")
            private[_GOVERNANCE] = governance
        return clone

    setattr(copy, _INHERITS, True)
    setattr(cls, "copy", copy)  # noqa: B010 - a class attribute, like the one it wraps


def _refuse_ungoverned_restore(module: Any) -> None:
    """Wrap the ``apply_checkpoint`` a CrewAI module's kickoffs call: restoring builds a new object from
    the checkpoint file, which carries no governance, and the kickoff would run it."""
    original = getattr(module, "apply_checkpoint", None)
    if original is None or getattr(original, _INHERITS, False):
        return

    @functools.wraps(original)
    def apply_checkpoint(instance: Any, from_checkpoint: Any) -> Any:
        restoring = getattr(from_checkpoint, "restore_from", None) is not None
        owners = [instance, *(getattr(instance, "agents", None) or [])]
        if restoring and any(_tracer_of(owner) is not None for owner in owners):
            raise ThothConfigError(
                f"thoth: kickoff(from_checkpoint=...) would run a {type(instance).__name__} restored "
                "from the checkpoint, which Thoth does not govern: restore it with from_checkpoint(), "
                "instrument it, then call kickoff()"
            )
        return original(instance, from_checkpoint)

    setattr(apply_checkpoint, _INHERITS, True)
    module.apply_checkpoint = apply_checkpoint


def _tracer_for(context: Any) -> Any:
    """The governing tracer (see the module docstring), None for an ungoverned call, or _AMBIGUOUS."""
    agent, crew = getattr(context, "agent", None), getattr(context, "crew", None)
    for owner in (agent, crew):
        tracer = _tracer_of(owner)
        if tracer is not None:
            return tracer
    enclosing = _enclosing.get()
    if enclosing is not None and not enclosing.closed:
        return enclosing.tracer
    if agent is not None and crew is not None and agent is getattr(crew, "manager_agent", None):
        workers = {id(t): t for t in map(_tracer_of, getattr(crew, "agents", None) or []) if t is not None}
        if len(workers) == 1:
            return next(iter(workers.values()))
        if workers:
            return _AMBIGUOUS
    return None


def _remember(call: _OpenCall) -> None:
    with _lock:
        _open_calls[id(call.arguments)] = call
        if len(_open_calls) > _MAX_OPEN_CALLS:  # a call whose after-hook never came (a hook aborted the run)
            _open_calls.pop(next(iter(_open_calls))).closed = True


def _before_tool_call(context: Any) -> bool | None:
    """``False`` blocks the call. Never raises: CrewAI would run the tool on an exception."""
    try:
        tracer = _tracer_for(context)
        if tracer is None:
            return None
        arguments = context.tool_input
        if tracer is _AMBIGUOUS:
            log.warning("thoth: crewai refused a call of an ungoverned hierarchical manager")
            _remember(_OpenCall(arguments, None, None))
            return False
        governed = tracer.govern(str(context.tool_name), as_args(arguments))
        call = _OpenCall(arguments, governed, tracer)
        if not governed.refused:
            call.token = _enclosing.set(call)
        _remember(call)
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
            call = _open_calls.get(id(context.tool_input))
            if call is None or call.arguments is not context.tool_input:
                return None
            del _open_calls[id(context.tool_input)]
        call.close()
        governed = call.governed
        if governed is None:
            return refusal_text(ThothPolicyViolation(str(context.tool_name), _AMBIGUOUS_MANAGER))
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


def _before_llm_call(context: Any) -> None:
    """Name the agent this context calls the model for, and its tracer. Never blocks, never raises."""
    try:
        agent = getattr(context, "agent", None)
        if agent is None or getattr(agent, "id", None) is None:
            _llm_caller.set(None)  # not an agent's call: forget the previous caller of this context
            return None
        tracer = _tracer_for(context)
        _llm_caller.set(_LLMCaller(str(agent.id), None if tracer is _AMBIGUOUS else tracer))
    except BaseException as exc:  # noqa: BLE001 - accounting must not stop the model call
        log.warning("thoth: crewai before_llm_call failed: %s", type(exc).__name__)
    return None


def _on_llm_started(source: Any, event: Any) -> None:
    """Remember when a model call started (its latency is measured to its completed event)."""
    try:
        call_id, started = getattr(event, "call_id", None), getattr(event, "timestamp", None)
        if not isinstance(call_id, str) or started is None:
            return
        with _lock:
            _llm_started[call_id] = started
            if len(_llm_started) > _MAX_STARTED_CALLS:  # calls that failed: no completed event came
                _llm_started.pop(next(iter(_llm_started)))
    except BaseException as exc:  # noqa: BLE001 - an event handler must not raise into CrewAI
        log.warning("thoth: crewai LLM call started handler failed: %s", type(exc).__name__)


def _on_llm_completed(source: Any, event: Any) -> None:
    """Record the call's usage under the tracer of the agent that made it (see the module docstring)."""
    try:
        with _lock:
            started = _llm_started.pop(str(getattr(event, "call_id", "")), None)
        caller = _llm_caller.get()
        if caller is None or caller.tracer is None or caller.agent_id != getattr(event, "agent_id", None):
            return
        started = started or caller.called_at
        model, response_id = getattr(event, "model", None), getattr(event, "response_id", None)
        usage = usage_of_fields(
            getattr(event, "usage", None),
            model if isinstance(model, str) and model else None,
            _latency_ms(started, getattr(event, "timestamp", None)),
            response_id if isinstance(response_id, str) and response_id else None,
        )
        caller.tracer.record_llm_invocation(usage)
    except BaseException as exc:  # noqa: BLE001 - an event handler must not raise into CrewAI
        log.warning("thoth: crewai LLM call completed handler failed: %s", type(exc).__name__)


def _latency_ms(started: Any, completed: Any) -> float | None:
    """Milliseconds between the two events' timestamps; None when either is missing."""
    try:
        elapsed = (completed - started).total_seconds() * 1000.0
    except (TypeError, AttributeError):  # a missing or foreign timestamp
        return None
    return elapsed if elapsed >= 0 else None
