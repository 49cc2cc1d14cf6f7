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
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import importlib
import threading
from typing import TYPE_CHECKING, Any

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
        _installed = True


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
