"""autogen-agentchat 0.7: a ``Workbench`` that authorizes every ``call_tool``.

* ``govern_workbench(workbench, tracer)`` wraps any workbench (``StaticWorkbench``,
  ``McpWorkbench``, ...) to pass as ``AssistantAgent(workbench=...)``.
* ``instrument(obj, tracer)`` governs in place everything ``obj`` can reach that runs
  tools: an ``AssistantAgent`` (each of its workbenches, including the one it builds from
  ``tools=[...]``), a team (``RoundRobinGroupChat``, ``SelectorGroupChat``, ``Swarm``, ...:
  every participant, teams inside teams), a ``SocietyOfMindAgent`` (its inner team), a
  ``MessageFilterAgent`` (the agent it wraps), and the agents and teams behind
  ``AgentTool`` / ``TeamTool`` tools. ``UserProxyAgent`` runs no tool. Any other agent
  (``CodeExecutorAgent``, custom agents) is refused with ``ThothConfigError`` before
  anything is changed: Thoth cannot see how it runs code or tools.

Every path that runs through the agent is decided: ``run``, ``run_stream``,
``on_messages``, ``on_messages_stream``, and team runs (the hook is the workbench the
agent resolves each tool call in). Tools a workbench lists later (e.g. an MCP server
that adds one) are decided like the others. A handoff (``handoffs=[...]``) runs no tool
of yours: it moves the conversation to another agent, whose tools are governed when the
team is instrumented.

A refusal is a ``ToolResult(is_error=True)``: the agent turns it into a
``FunctionExecutionResult(is_error=True)`` the model reads, and the tool never runs.
Its text is the refusal text (``on_block="return"``) or
``"ThothPolicyViolation: ..."`` (``on_block="raise"``). Nothing is raised out of
``call_tool``: on autogen-agentchat 0.7.5 an exception there leaves the agent's
run waiting forever (its tool-call task dies unobserved), which is worse than
any refusal. Calls are keyed by the model's ``call_id``, which the agent passes through.

The tracer travels with the object: each agent holds its own governed workbench, so a
tool object shared by two agents is decided under the agent that runs it. Instrumenting
again with another tracer replaces the earlier one for everything that call reaches (the
same tracer again changes nothing). ``copy.deepcopy`` keeps the governance.
``dump_component()`` writes the governed workbench as such; the copy ``load_component()``
builds has no tracer (it cannot be serialized), so it refuses every tool call with a
message saying so until you ``thoth.instrument()`` the loaded agent or team.

The tool objects themselves (``FunctionTool``, ``AgentTool``, ... in an instrumented
agent's ``tools=[...]``) stay governed outside the agent: ``tool.run_json(...)`` called
directly, or by an agent nobody instrumented, is decided under the agent that governs the
tool and raises ``ThothPolicyViolation`` when refused (refused with ``ThothConfigError``
when several agents with different tracers govern it: run it through one of them).
``govern_workbench`` governs the workbench path only.
"""

from __future__ import annotations

import contextvars
import copy
import functools
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from thoth.errors import ThothConfigError
from thoth.integrations._govern import as_args

if TYPE_CHECKING:
    from thoth.tracer import Tracer

__all__ = ["govern_workbench", "instrument"]  # and GovernedWorkbench, built on first use

_GOVERNORS = "__thoth_agentchat_governors__"  # on a tool object: {agent name: tracer}
# True while a governed workbench runs a call it already decided, so the tool's own guard lets it
# through once (the guard sets it back to False for anything the tool runs in turn).
_DECIDED: contextvars.ContextVar[bool] = contextvars.ContextVar("thoth_agentchat_decided", default=False)

_UNBOUND = (
    "Thoth: this workbench was loaded from the config of a governed agent, and a Thoth tracer "
    "cannot be stored in a config: call thoth.instrument() on the loaded agent or team before running it"
)


def govern_workbench(workbench: Any, tracer: Tracer) -> Any:
    """A governed workbench delegating to ``workbench`` (returned as is if ``tracer`` governs it already;
    a workbench governed by another tracer is re-wrapped, never nested)."""
    governed_class = _governed_class()
    if isinstance(workbench, governed_class):
        if workbench._tracer is tracer:
            return workbench
        workbench = workbench.inner
    return governed_class(workbench, tracer)


def instrument(obj: Any, tracer: Tracer) -> Any:
    """Govern everything ``obj`` (an agent or a team) reaches that runs tools, in place; return ``obj``."""
    agents: list[Any] = []
    _collect(obj, agents, set())
    for agent in agents:  # only once every part is known to be governable
        agent._workbench = [govern_workbench(wb, tracer) for wb in agent._workbench]
        for tool in _local_tools(agent._workbench):
            _guard_tool(tool, agent.name, tracer)
    return obj


def _collect(obj: Any, agents: list[Any], seen: set[int]) -> None:
    """Every agent with workbenches that ``obj`` reaches; raises for a part Thoth cannot govern."""
    from autogen_agentchat.agents import (
        AssistantAgent,
        MessageFilterAgent,
        SocietyOfMindAgent,
        UserProxyAgent,
    )
    from autogen_agentchat.teams import BaseGroupChat
    from autogen_agentchat.tools import AgentTool, TeamTool

    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, BaseGroupChat):
        for participant in obj._participants:
            _collect(participant, agents, seen)
    elif isinstance(obj, SocietyOfMindAgent):
        _collect(obj._team, agents, seen)
    elif isinstance(obj, MessageFilterAgent):
        _collect(obj._wrapped_agent, agents, seen)
    elif isinstance(obj, AssistantAgent) or hasattr(obj, "_workbench"):
        agents.append(obj)
        for tool in _local_tools(obj._workbench):
            if isinstance(tool, AgentTool | TeamTool):
                _collect(tool._task_runner, agents, seen)
    elif not isinstance(obj, UserProxyAgent):  # a human answers a UserProxyAgent; no tool runs
        raise _ungovernable(obj)


def _ungovernable(obj: Any) -> ThothConfigError:
    from autogen_agentchat.agents import BaseChatAgent

    if isinstance(obj, BaseChatAgent):
        return ThothConfigError(
            f"Thoth cannot govern the {type(obj).__name__} {obj.name!r}: it runs code or tools outside a "
            "workbench, where Thoth cannot decide them. Remove it, or give it its tools through an "
            "AssistantAgent (nothing was instrumented)"
        )
    return ThothConfigError(
        f"Thoth cannot govern a {type(obj).__name__} in place: instrument the AssistantAgent (or team) "
        "that uses it, or pass workbench=govern_workbench(workbench, tracer)"
    )


def _local_tools(workbenches: Any) -> list[Any]:
    """The tool objects of the static workbenches (others list remote tools, e.g. MCP)."""
    from autogen_core.tools import StaticWorkbench

    tools: list[Any] = []
    for wb in workbenches:
        inner = getattr(wb, "inner", wb) if isinstance(wb, _governed_class()) else wb
        if isinstance(inner, StaticWorkbench):
            tools.extend(inner._tools)
    return tools


# -- the tool objects themselves ----------------------------------------------------------------------
def _guard_tool(tool: Any, agent_name: str, tracer: Tracer) -> None:
    """Make ``tool.run_json`` (and ``run_json_stream``) decide a call no governed workbench decided."""
    governors: dict[str, Tracer] | None = getattr(tool, _GOVERNORS, None)
    if governors is not None:
        governors[agent_name] = tracer
        return
    setattr(tool, _GOVERNORS, _Governors({agent_name: tracer}))
    run_json = tool.run_json

    async def guarded_run_json(
        args: Mapping[str, Any], cancellation_token: Any, call_id: str | None = None
    ) -> Any:
        if _DECIDED.get():
            token = _DECIDED.set(False)
            try:
                return await run_json(args, cancellation_token, call_id=call_id)
            finally:
                _DECIDED.reset(token)
        governed = await _governor(tool).agovern(tool.name, as_args(args), call_id=call_id)
        if governed.violation is not None:
            raise governed.violation  # a workbench turns it into an error result; a direct caller sees it
        return await governed.arun(run_json, governed.args, cancellation_token, call_id=call_id)

    tool.run_json = guarded_run_json
    if hasattr(tool, "run_json_stream"):  # AgentTool, TeamTool: how an ungoverned agent streams them
        _guard_stream(tool)


def _guard_stream(tool: Any) -> None:
    run_json_stream = tool.run_json_stream

    async def guarded_run_json_stream(
        args: Mapping[str, Any], cancellation_token: Any, call_id: str | None = None
    ) -> AsyncIterator[Any]:
        if _DECIDED.get():  # decided by a governed workbench
            async for item in run_json_stream(args, cancellation_token, call_id=call_id):
                yield item
            return
        governed = await _governor(tool).agovern(tool.name, as_args(args), call_id=call_id)
        if governed.violation is not None:
            raise governed.violation
        last = None
        with governed:
            async for last in run_json_stream(governed.args, cancellation_token, call_id=call_id):
                yield last
        governed.finish(result=last)

    tool.run_json_stream = guarded_run_json_stream


class _Governors(dict[str, "Tracer"]):
    """A copied tool (``copy.deepcopy`` of its agent) is governed by the same agents: never copy a tracer."""

    def __deepcopy__(self, memo: dict[int, Any]) -> _Governors:
        return self


def _governor(tool: Any) -> Tracer:
    governors: dict[str, Tracer] = getattr(tool, _GOVERNORS)
    tracers = {id(t): t for t in governors.values()}
    if len(tracers) != 1:
        raise ThothConfigError(
            f"tool {tool.name!r} is governed by several agents with different Thoth settings "
            f"({', '.join(sorted(governors))}): run it through one of them, so it is decided under that agent"
        )
    return next(iter(tracers.values()))


# -- the governed workbench ---------------------------------------------------------------------------
async def _call_tool(
    inner: Any, tracer: Tracer | None, name: str, arguments: Mapping[str, Any] | None, **options: Any
) -> Any:
    """Decide one ``call_tool``; a refusal is an error ``ToolResult``, and the tool does not run."""
    from autogen_core.tools import TextResultContent, ToolResult

    if tracer is None:
        return ToolResult(name=name, result=[TextResultContent(content=_UNBOUND)], is_error=True)
    governed = await tracer.agovern(name, as_args(arguments), call_id=options.get("call_id"))
    if governed.refused:
        # Never raise here: an exception out of call_tool leaves AssistantAgent 0.7 waiting forever
        # (its tool-call task dies unobserved), so both modes answer with an error result.
        return ToolResult(name=name, result=[TextResultContent(content=governed.refusal())], is_error=True)
    token = _DECIDED.set(True)
    try:
        with governed:
            result = await inner.call_tool(name, dict(governed.args), **options)
    finally:
        _DECIDED.reset(token)
    if getattr(result, "is_error", False):
        governed.finish(error=RuntimeError(result.to_text()))
    else:
        governed.finish(result=result.to_text())
    return result


def __getattr__(name: str) -> Any:
    # ``GovernedWorkbench`` is built on first use so that importing this module does not import
    # autogen_core; load_component() finds it here by its provider path.
    if name == "GovernedWorkbench":
        return _governed_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


async def _workbench_call_tool(
    workbench: Any,
    name: str,
    arguments: Mapping[str, Any] | None = None,
    cancellation_token: Any = None,
    call_id: str | None = None,
) -> Any:
    """``GovernedWorkbench.call_tool``."""
    options = {"cancellation_token": cancellation_token, "call_id": call_id}
    return await _call_tool(workbench.inner, workbench._tracer, name, arguments, **options)


def _deepcopy(workbench: Any, memo: dict[int, Any]) -> Any:
    """A deep copy governed by the same tracer (which holds locks and connections: never copied)."""
    return type(workbench)(copy.deepcopy(workbench.inner, memo), workbench._tracer)


@functools.cache
def _governed_class() -> type[Any]:
    from autogen_core import Component, ComponentModel
    from autogen_core.tools import Workbench
    from pydantic import BaseModel

    class GovernedWorkbenchConfig(BaseModel):
        inner: ComponentModel

    class GovernedWorkbench(Workbench, Component[GovernedWorkbenchConfig]):  # type: ignore[misc]
        """Authorizes each call with Thoth, then delegates to the wrapped workbench."""

        component_type = "workbench"
        component_config_schema = GovernedWorkbenchConfig
        component_provider_override = "thoth.integrations.agentchat.GovernedWorkbench"

        def __init__(self, inner: Any, tracer: Tracer | None) -> None:
            self.inner = inner
            self._tracer = tracer

        call_tool = _workbench_call_tool

        async def list_tools(self) -> Any:
            return await self.inner.list_tools()

        async def start(self) -> None:
            await self.inner.start()

        async def stop(self) -> None:
            await self.inner.stop()

        async def reset(self) -> None:
            await self.inner.reset()

        async def save_state(self) -> Mapping[str, Any]:
            state: Mapping[str, Any] = await self.inner.save_state()
            return state

        async def load_state(self, state: Mapping[str, Any]) -> None:
            await self.inner.load_state(state)

        __deepcopy__ = _deepcopy

        def _to_config(self) -> GovernedWorkbenchConfig:
            return GovernedWorkbenchConfig(inner=self.inner.dump_component())

        @classmethod
        def _from_config(cls, config: GovernedWorkbenchConfig) -> GovernedWorkbench:
            return cls(Workbench.load_component(config.inner), None)  # refuses until instrumented

    return GovernedWorkbench
