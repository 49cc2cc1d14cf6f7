"""autogen-agentchat 0.7: a ``Workbench`` that authorizes every ``call_tool``.

* ``govern_workbench(workbench, tracer)`` wraps any workbench (``StaticWorkbench``,
  ``McpWorkbench``, ...) to pass as ``AssistantAgent(workbench=...)``.
* ``instrument(agent, tracer)`` governs an ``AssistantAgent`` in place: each of its
  workbenches (including the one it builds from ``tools=[...]``) is wrapped. Given a
  team (``RoundRobinGroupChat``, ...), it governs each such participant.

A refusal is a ``ToolResult(is_error=True)``: the agent turns it into a
``FunctionExecutionResult(is_error=True)`` the model reads, and the tool never runs.
Its text is the refusal text (``on_block="return"``) or
``"ThothPolicyViolation: ..."`` (``on_block="raise"``). Nothing is raised out of
``call_tool``: on autogen-agentchat 0.7.5 an exception there leaves the agent's
run waiting forever (its tool-call task dies unobserved), which is worse than
any refusal.
Calls are keyed by the model's ``call_id``, which the agent passes through.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from thoth.errors import ThothConfigError
from thoth.integrations._govern import as_args

if TYPE_CHECKING:
    from thoth.tracer import Tracer

__all__ = ["govern_workbench", "instrument"]


def govern_workbench(workbench: Any, tracer: Tracer) -> Any:
    """A governed workbench delegating to ``workbench`` (returned as is if already governed)."""
    if isinstance(workbench, _governed_class()):
        return workbench
    return _governed_class()(workbench, tracer)


def instrument(obj: Any, tracer: Tracer) -> Any:
    """Govern an ``AssistantAgent``'s workbenches (or every such agent of a team) in place; return ``obj``."""
    participants = getattr(obj, "_participants", None)
    agents = list(participants) if participants is not None else [obj]
    governed = 0
    for agent in agents:
        workbenches = getattr(agent, "_workbench", None)
        if workbenches is not None:
            agent._workbench = [govern_workbench(wb, tracer) for wb in workbenches]
            governed += 1
    if participants is None and not governed:
        raise ThothConfigError(
            f"Thoth cannot govern a {type(obj).__name__} in place: instrument the AssistantAgent (or team) "
            "that uses it, or pass workbench=govern_workbench(workbench, tracer)"
        )
    return obj


async def _call_tool(
    inner: Any, tracer: Tracer, name: str, arguments: Mapping[str, Any] | None, **options: Any
) -> Any:
    """Decide one ``call_tool``; a refusal is an error ``ToolResult``, and the tool does not run."""
    from autogen_core.tools import TextResultContent, ToolResult

    governed = await tracer.agovern(name, as_args(arguments), call_id=options.get("call_id"))
    if governed.refused:
        # Never raise here: an exception out of call_tool leaves AssistantAgent 0.7 waiting forever
        # (its tool-call task dies unobserved), so both modes answer with an error result.
        return ToolResult(name=name, result=[TextResultContent(content=governed.refusal())], is_error=True)
    with governed:
        result = await inner.call_tool(name, dict(governed.args), **options)
    if getattr(result, "is_error", False):
        governed.finish(error=RuntimeError(result.to_text()))
    else:
        governed.finish(result=result.to_text())
    return result


@functools.cache
def _governed_class() -> type[Any]:
    """Built on first use so that importing this module does not import autogen_core."""
    from autogen_core.tools import Workbench

    class GovernedWorkbench(Workbench):  # type: ignore[misc]
        """Authorizes each call with Thoth, then delegates to the wrapped workbench."""

        def __init__(self, inner: Any, tracer: Tracer) -> None:
            self.inner = inner
            self._tracer = tracer

        async def call_tool(
            self,
            name: str,
            arguments: Mapping[str, Any] | None = None,
            cancellation_token: Any = None,
            call_id: str | None = None,
        ) -> Any:
            options = {"cancellation_token": cancellation_token, "call_id": call_id}
            return await _call_tool(self.inner, self._tracer, name, arguments, **options)

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

        def _to_config(self) -> Any:
            return self.inner._to_config()

    return GovernedWorkbench
