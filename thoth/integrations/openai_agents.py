"""OpenAI Agents SDK (``openai-agents``): every function tool call is decided by the agent running it.

``instrument(agent, tracer)`` governs an ``Agent`` in place. The tracer is stored on the agent, and
each call is decided under the tracer of the agent that runs it (``data.agent`` / ``ctx.agent``):
a ``@function_tool`` shared by two agents instrumented with different settings is decided under
each agent's own id, enforcer and ``on_block``. Instrumenting an agent again with another tracer
replaces its settings.

How a call is checked:

* Each ``FunctionTool`` gets Thoth's tool input guardrail (run last, after the user's own) and a
  wrapped ``on_invoke_tool``. The guardrail decides (waiting out a step-up) and hands the allowed
  call to the wrapper through the call's ``ToolContext``; the wrapper runs it with the permitted
  arguments (MODIFY) and records the outcome. If the guardrail did not run (removed, or the tool's
  ``on_invoke_tool`` is called directly), the wrapper decides itself. Outside any governed agent, a
  tool is decided under the tracer that first governed it.
* On a refusal the model reads the refusal text in place of the result and the run goes on
  (``on_block="return"``), or the run ends (``"raise"``) with an exception that is both the SDK's
  ``ToolInputGuardrailTripwireTriggered`` and a :class:`thoth.ThothPolicyViolation`: catch either
  (``failed_closed`` says whether Thoth could not get a decision).

What is covered, at run time as well as at ``instrument()``: ``instrument()`` installs two hooks
on the SDK's classes, ``AgentBase.get_all_tools`` (where every run, streamed or not, and realtime
sessions list the tools they may call) and ``Agent.clone``; both do nothing for agents Thoth never
governed. At each listing a governed agent's tools are governed, so tools appended to or assigned
to ``agent.tools`` later, MCP server tools (``mcp_servers``, also added later) and agents-as-tools
are checked. Agents it hands off to, and agents it uses as tools (``agent.as_tool``), that were not
instrumented inherit its governance (they follow it when it is instrumented again; instrument them
yourself to give them their own settings); a ``Handoff`` whose target is only known when it runs
gets it then. ``agent.clone(...)`` and ``copy.copy(agent)`` stay governed.

Refused (``ThothConfigError``, at ``instrument()`` or when the run lists its tools): tools that do
not run through a function tool's ``on_invoke_tool`` (local shell, shell, computer, apply-patch,
custom tools, and hosted tools such as web search or hosted MCP, which run on OpenAI's side):
Thoth cannot see their calls.

Not covered: an agent copied by ``dataclasses.replace`` (not ``clone``) loses its own settings; its
governed tools are still decided, under the tracer that first governed them, but tools new to it
are not. A subclass whose ``get_all_tools`` adds tools after ``super()`` bypasses the listing hook.
"""

from __future__ import annotations

import contextvars
import functools
import json
import time
import weakref
from typing import TYPE_CHECKING, Any

from thoth._governed import GovernedCall, governed_by, instrumented_by, mark_governed, mark_instrumented
from thoth._usage import usage_of_fields
from thoth.errors import ThothConfigError, ThothPolicyViolation

if TYPE_CHECKING:
    from thoth.tracer import Tracer

__all__ = ["check_tool", "govern_tool", "instrument", "thoth_guardrails", "usage_hooks"]

_GUARDRAIL_NAME = "thoth_policy"
_GOVERNANCE = "_thoth_governance"  # on an agent: its _Governance
_ALLOWED_CALL = "_thoth_allowed_call"  # on a ToolContext: the GovernedCall the guardrail allowed
_HOOKED = "__thoth_hook__"  # on the SDK methods we replaced, and on wrapped handoff callbacks
# Tools that only show the model other tools (which are function tools, governed on their own).
_PASSIVE_TOOLS = ("ToolSearchTool", "ProgrammaticToolCallingTool")
# The call whose wrapper is running, so a wrapper the user put around ours does not decide it twice.
_RUNNING: contextvars.ContextVar[Any] = contextvars.ContextVar("thoth_openai_agents_running", default=None)


def instrument(obj: Any, tracer: Tracer) -> Any:
    """Govern an ``Agent``, a ``FunctionTool`` or a list of tools in place; return it.

    Raises:
        ThothConfigError: the agent holds a tool whose calls Thoth cannot see.
    """
    _install_hooks()
    if isinstance(obj, list | tuple):
        for tool in obj:  # refuse one Thoth cannot see before changing any
            check_tool(tool)
        for tool in obj:
            govern_tool(tool, tracer)
    elif hasattr(obj, "on_invoke_tool"):
        govern_tool(obj, tracer)
    else:
        _govern_agent(obj, _own_governance(obj, tracer), seen=set())
    return obj


def govern_tool(tool: Any, tracer: Tracer, name: str | None = None) -> Any:
    """Govern one ``FunctionTool`` in place and return it (``name`` is ignored: the tool's own is used).

    Outside a governed agent its calls are decided under ``tracer``; calling it again with another
    tracer replaces that one.
    """
    _install_hooks()
    if not hasattr(tool, "on_invoke_tool"):  # e.g. a hosted tool in a list or dict of the user's
        check_tool(tool)  # refuses it (it runs out of Thoth's sight), or passes a passive one
        return tool
    mark_instrumented(tool, tracer)
    _govern_tool(tool, tracer)
    return tool


def thoth_guardrails(tracer: Tracer) -> tuple[Any, Any]:
    """``(input_guardrail, output_guardrail)`` to put on a tool or an MCP server yourself.

    A call made by a governed agent is decided under that agent's tracer, any other under ``tracer``.
    """
    holder = _Fallback()
    mark_instrumented(holder, tracer)
    return _input_guardrail(holder), _output_guardrail()


def usage_hooks(tracer: Tracer) -> Any:
    """Run hooks that record each model call's reported usage (``ModelResponse.usage``) as an
    LLM_INVOCATION event and in the session's ``token_spend``:
    ``Runner.run(agent, input, hooks=usage_hooks(tracer))``. A call of an instrumented agent is
    recorded under that agent's tracer (handoffs included), any other under ``tracer``."""
    return _usage_hooks_class()(tracer)


@functools.cache
def _usage_hooks_class() -> type[Any]:
    """Built on first use so that importing this module does not import the SDK."""
    from agents import RunHooks

    class ThothUsageHooks(RunHooks):  # type: ignore[misc]  # the SDK is untyped for mypy here
        def __init__(self, tracer: Tracer) -> None:
            self._tracer = tracer
            self._started: dict[tuple[int, int], float] = {}

        async def on_llm_start(self, context: Any, agent: Any, system_prompt: Any, input_items: Any) -> None:
            if len(self._started) > 10_000:  # runs that never ended (cancelled): bounded memory
                self._started.clear()
            self._started[(id(context), id(agent))] = time.perf_counter()

        async def on_llm_end(self, context: Any, agent: Any, response: Any) -> None:
            started = self._started.pop((id(context), id(agent)), None)
            latency = None if started is None else round((time.perf_counter() - started) * 1000, 3)
            model = agent.model if isinstance(getattr(agent, "model", None), str) else None
            usage = usage_of_fields(getattr(response, "usage", None), model, latency)
            governance = _governance(agent)
            governing = governance.resolve() if governance is not None else None
            (governing or self._tracer).record_llm_invocation(usage)

    return ThothUsageHooks


# -- who governs an agent ---------------------------------------------------------------------------
class _Fallback:
    """Carries the tracer of guardrails the user attaches themselves."""


class _Governance:
    """An agent's governance: its own tracer, or the one of the governance it inherits (``parent``).

    Stored on the agent object, so ``copy.copy`` keeps it; ``deepcopy`` shares it rather than copy
    the tracer (its client and threads cannot be copied)."""

    __slots__ = ("owner", "parent", "tracer")

    def __init__(self, owner: Any, tracer: Tracer | None = None, parent: _Governance | None = None) -> None:
        self.owner = weakref.ref(owner)
        self.tracer = tracer
        self.parent = parent

    def resolve(self) -> Tracer | None:
        # No cycles: only an agent with no governance gets a parent, and a chain ends at a tracer.
        if self.tracer is not None:
            return self.tracer
        return self.parent.resolve() if self.parent is not None else None

    def __copy__(self) -> _Governance:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> _Governance:
        return self


def _governance(agent: Any) -> _Governance | None:
    found = getattr(agent, _GOVERNANCE, None)
    return found if isinstance(found, _Governance) else None


def _own_governance(agent: Any, tracer: Tracer) -> _Governance:
    """Give ``agent`` its own settings: update its governance in place (what inherits from it
    follows), or, for one it shares with the agent it was copied from, replace it."""
    governance = _governance(agent)
    if governance is not None and governance.owner() is agent:
        governance.tracer = tracer
    else:
        governance = _Governance(agent, tracer)
        object.__setattr__(agent, _GOVERNANCE, governance)
    mark_instrumented(agent, tracer)
    return governance


def _inherit(agent: Any, governance: _Governance) -> bool:
    """Let an agent Thoth did not govern inherit ``governance``; True if it did."""
    if _governance(agent) is not None or not hasattr(agent, "get_all_tools"):
        return False
    object.__setattr__(agent, _GOVERNANCE, _Governance(agent, parent=governance))
    return True


def _tracer_for(agent: Any, holder: Any) -> Tracer:
    """The tracer that decides a call: the running agent's, else the one that governed the tool."""
    governance = _governance(agent) if agent is not None else None
    tracer = governance.resolve() if governance is not None else None
    tracer = tracer or instrumented_by(holder)
    if tracer is None:  # cannot happen: every guardrail and wrapper is made for a governed holder
        raise ThothConfigError("a Thoth guardrail runs with no tracer; instrument the agent again")
    return tracer


# -- attaching --------------------------------------------------------------------------------------
def _govern_agent(agent: Any, governance: _Governance, seen: set[int]) -> None:
    """At ``instrument()``: govern the agent's tools and the agents it reaches, refuse what cannot be."""
    if id(agent) in seen:
        return
    seen.add(id(agent))
    tracer = governance.resolve()
    assert tracer is not None
    for tool in getattr(agent, "tools", None) or []:
        _govern_listed(tool, tracer)
    for server in getattr(agent, "mcp_servers", None) or []:
        if instrumented_by(server) is None:
            mark_instrumented(server, tracer)
        _attach(server, _input_guardrail(server))
    for reached in _reached_agents(agent, governance):
        if _inherit(reached, governance):
            _govern_agent(reached, governance, seen)


def check_tool(tool: Any) -> None:
    """Nothing for a tool Thoth can govern (or one that runs nothing); else raise.

    Raises:
        ThothConfigError: the tool runs out of Thoth's sight (a hosted or local-executor tool).
    """
    if not hasattr(tool, "on_invoke_tool") and type(tool).__name__ not in _PASSIVE_TOOLS:
        raise ThothConfigError(
            f"Thoth cannot check calls to the {type(tool).__name__} {getattr(tool, 'name', '')!r}: it does "
            "not run through a function tool's on_invoke_tool (it runs locally through the SDK's own "
            "executor, or on OpenAI's side), so it would run ungoverned. Remove it from the agent, or "
            "expose what it does as a @function_tool."
        )


def _govern_listed(tool: Any, tracer: Tracer) -> None:
    """A tool a governed agent may call: govern it, pass over one that runs nothing, or refuse it."""
    check_tool(tool)
    if hasattr(tool, "on_invoke_tool"):
        _govern_tool(tool, tracer)


def _govern_tool(tool: Any, tracer: Tracer) -> None:
    if instrumented_by(tool) is None:
        mark_instrumented(tool, tracer)
    if not any(g.get_name() == _GUARDRAIL_NAME for g in tool.tool_input_guardrails or []):
        _attach(tool, _input_guardrail(tool))
    if governed_by(tool.on_invoke_tool) is None:  # new, or replaced by the user since
        tool.on_invoke_tool = _wrap_invoke(tool, tool.on_invoke_tool)


def _attach(holder: Any, input_guardrail: Any) -> None:
    """Add our guardrails last, so that a call another guardrail rejects is never decided."""
    inputs = [g for g in (holder.tool_input_guardrails or []) if g.get_name() != _GUARDRAIL_NAME]
    outputs = [g for g in (holder.tool_output_guardrails or []) if g.get_name() != _GUARDRAIL_NAME]
    holder.tool_input_guardrails = [*inputs, input_guardrail]
    holder.tool_output_guardrails = [_output_guardrail(), *outputs]


def _reached_agents(agent: Any, governance: _Governance) -> list[Any]:
    """The agents ``agent`` hands off to or uses as tools; a handoff whose target is only known
    when it runs is wrapped to pass ``governance`` on then."""
    reached = [t._agent_instance for t in getattr(agent, "tools", None) or [] if _agent_of_tool(t)]
    for item in getattr(agent, "handoffs", None) or []:
        if hasattr(item, "get_all_tools"):
            reached.append(item)
        elif hasattr(item, "on_invoke_handoff"):
            ref = getattr(item, "_agent_ref", None)
            target = ref() if callable(ref) else None
            if target is not None:
                reached.append(target)
            else:
                _wrap_handoff(item, governance)
    return reached


def _agent_of_tool(tool: Any) -> bool:
    return bool(getattr(tool, "_is_agent_tool", False)) and getattr(tool, "_agent_instance", None) is not None


def _wrap_handoff(item: Any, governance: _Governance) -> None:
    if getattr(item.on_invoke_handoff, _HOOKED, False):
        return
    original = item.on_invoke_handoff

    async def on_invoke_handoff(ctx: Any, input_json: str) -> Any:
        target = await original(ctx, input_json)
        _inherit(target, governance)
        return target

    setattr(on_invoke_handoff, _HOOKED, True)
    item.on_invoke_handoff = on_invoke_handoff


# -- the run-time hooks -----------------------------------------------------------------------------
def _install_hooks() -> None:
    """Hook where the SDK lists an agent's tools for a turn, and where it clones an agent (once)."""
    from agents import Agent
    from agents.agent import AgentBase

    listing = AgentBase.get_all_tools
    if not getattr(listing, _HOOKED, False):

        @functools.wraps(listing)
        async def get_all_tools(self: Any, run_context: Any) -> Any:
            tools = await listing(self, run_context)
            governance = _governance(self) or _governance(getattr(self, "_agents_public_agent", None))
            tracer = governance.resolve() if governance is not None else None
            if governance is not None and tracer is not None:
                for tool in tools:  # agent.tools as they are now, and this turn's MCP tools
                    _govern_listed(tool, tracer)
                for reached in _reached_agents(self, governance):
                    _inherit(reached, governance)
            return tools

        setattr(get_all_tools, _HOOKED, True)
        AgentBase.get_all_tools = get_all_tools  # type: ignore[method-assign,unused-ignore]

    cloning = Agent.clone
    if not getattr(cloning, _HOOKED, False):

        @functools.wraps(cloning)
        def clone(self: Any, **kwargs: Any) -> Any:
            twin = cloning(self, **kwargs)
            governance = _governance(self)
            if governance is not None:  # dataclasses.replace drops it: the clone inherits it
                object.__setattr__(twin, _GOVERNANCE, _Governance(twin, parent=governance))
            return twin

        setattr(clone, _HOOKED, True)
        Agent.clone = clone  # type: ignore[method-assign,unused-ignore]


# -- the guardrails ---------------------------------------------------------------------------------
def _input_guardrail(holder: Any) -> Any:
    """Thoth's input guardrail for a tool or an MCP server (``holder``)."""
    from agents import ToolGuardrailFunctionOutput, ToolInputGuardrail

    async def decide(data: Any) -> Any:
        ctx = data.context
        tracer = _tracer_for(data.agent, holder)
        governed = await tracer.agovern(ctx.tool_name, _parse(ctx.tool_arguments), call_id=ctx.tool_call_id)
        if governed.modified and not _applies_modify(holder, data.agent):
            governed.finish(error=RuntimeError("MODIFY cannot be applied to this tool"))
            governed = GovernedCall(
                tracer,
                ctx.tool_name,
                violation=ThothPolicyViolation(
                    ctx.tool_name,
                    "the enforcer rewrote the arguments, and this tool cannot take rewritten ones",
                ),
            )
        violation = governed.violation
        if violation is None:
            setattr(ctx, _ALLOWED_CALL, governed)
            return ToolGuardrailFunctionOutput.allow(output_info={"call_id": governed.call_id})
        if governed.returns_refusal:
            return ToolGuardrailFunctionOutput.reject_content(
                governed.refusal(), output_info=_info(violation)
            )
        raise _tripwire(violation, guardrail)

    guardrail: Any = ToolInputGuardrail(guardrail_function=decide, name=_GUARDRAIL_NAME)
    return guardrail


@functools.cache
def _output_guardrail() -> Any:
    """Records the result of an allowed call that our wrapper did not run (an MCP tool of an agent
    Thoth does not govern, under guardrails put on its server)."""
    from agents import ToolGuardrailFunctionOutput, ToolOutputGuardrail

    async def record(data: Any) -> Any:
        governed = _take_allowed(data.context, data.context.tool_name)
        if governed is not None:
            governed.finish(result=data.output)
        return ToolGuardrailFunctionOutput.allow()

    return ToolOutputGuardrail(guardrail_function=record, name=_GUARDRAIL_NAME)


def _applies_modify(holder: Any, agent: Any) -> bool:
    """Whether the call runs through our wrapper, so rewritten arguments (MODIFY) are used."""
    if hasattr(holder, "on_invoke_tool"):
        return governed_by(holder.on_invoke_tool) is not None
    return _governance(agent) is not None  # a governed agent's listed tools are all wrapped


def _take_allowed(ctx: Any, tool_name: str) -> GovernedCall | None:
    governed = getattr(ctx, _ALLOWED_CALL, None)
    if not isinstance(governed, GovernedCall) or governed.tool_name != tool_name:
        return None
    delattr(ctx, _ALLOWED_CALL)  # one permission, one run
    return governed


def _info(violation: ThothPolicyViolation) -> dict[str, Any]:
    return {
        "decision": violation.decision,
        "reason": violation.reason,
        "violation_id": violation.violation_id,
    }


def _tripwire(violation: ThothPolicyViolation, guardrail: Any) -> Exception:
    from agents import ToolGuardrailFunctionOutput

    output = ToolGuardrailFunctionOutput.raise_exception(output_info=_info(violation))
    exc: Exception = _tripwire_type()(violation, guardrail, output)
    exc.__cause__ = violation
    return exc


@functools.cache
def _tripwire_type() -> type[Exception]:
    from agents import ToolInputGuardrailTripwireTriggered

    class ThothToolTripwire(ToolInputGuardrailTripwireTriggered, ThothPolicyViolation):  # type: ignore[misc,unused-ignore]
        """The SDK's tripwire for a call Thoth refused, and that :class:`ThothPolicyViolation`."""

        def __init__(self, violation: ThothPolicyViolation, guardrail: Any, output: Any) -> None:
            ThothPolicyViolation.__init__(
                self,
                violation.tool_name,
                violation.reason,
                violation.violation_id,
                decision=violation.decision,
                reason_code=violation.reason_code,
                retry_after_seconds=violation.retry_after_seconds,
            )
            self.guardrail = guardrail
            self.output = output
            self.run_data = None

    return ThothToolTripwire


# -- the invocation ---------------------------------------------------------------------------------
def _wrap_invoke(tool: Any, invoke: Any) -> Any:
    name = tool.name

    async def on_invoke_tool(ctx, input_json):  # type: ignore[no-untyped-def]  # no annotation: the SDK inspects it
        if _RUNNING.get() is ctx:  # inside our own wrapper for this very call (a user wrapper between)
            return await invoke(ctx, input_json)
        governed = _take_allowed(ctx, name)
        if governed is None:  # the guardrail did not run (removed, or a direct call): decide here
            agent = getattr(ctx, "agent", None)
            governed = await _tracer_for(agent, tool).agovern(
                name, _parse(input_json), call_id=getattr(ctx, "tool_call_id", None)
            )
            if governed.violation is not None and not governed.returns_refusal:
                raise _tripwire(governed.violation, _input_guardrail(tool))
            if governed.refused:
                return governed.refuse()
        if governed.modified:
            input_json = json.dumps(governed.args)
        token = _RUNNING.set(ctx)
        try:
            return await governed.arun(invoke, ctx, input_json)
        finally:
            _RUNNING.reset(token)

    mark_governed(on_invoke_tool, _tracer_for(None, tool), invoke)
    return on_invoke_tool


def _parse(arguments: Any) -> dict[str, Any]:
    if isinstance(arguments, dict):
        return arguments
    try:
        parsed = json.loads(arguments or "{}")
    except (TypeError, ValueError):
        return {"arguments": str(arguments)}
    return parsed if isinstance(parsed, dict) else {"arguments": parsed}
