"""pydantic-ai 2.x: a capability whose ``wrap_tool_execute`` authorizes every tool call.

* ``Agent(..., capabilities=[thoth_capability(tracer)])`` governs every run of an agent.
* ``instrument(agent, tracer)`` governs an existing ``Agent`` in place by adding the
  capability to each of its runs (``run``, ``run_sync``, ``run_stream`` and ``iter``
  all go through ``iter``, whose per-run ``capabilities=`` is public API).

The hook runs after argument validation, so the enforcer sees the validated
arguments, and runs the tool with the permitted ones (MODIFY). A refusal raises
``ToolFailed(refusal text)``: the model reads it as a failed call, without
spending the tool's retry budget, and the run goes on (``on_block="return"``);
with ``on_block="raise"`` the ``ThothPolicyViolation`` ends the run.
Calls are keyed by the model's ``tool_call_id``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from thoth._governed import instrumented_by, mark_instrumented
from thoth.integrations._govern import as_args

if TYPE_CHECKING:
    from thoth.tracer import Tracer

__all__ = ["instrument", "thoth_capability"]


def thoth_capability(tracer: Tracer) -> Any:
    """A pydantic-ai capability governing every tool call of the agent it is given to."""
    return _capability_class()(tracer)


def instrument(agent: Any, tracer: Tracer) -> Any:
    """Add the Thoth capability to every run of ``agent`` (once) and return the agent."""
    if instrumented_by(agent) is not None:
        return agent
    capability = thoth_capability(tracer)
    iter_run = agent.iter

    def governed_iter(*args: Any, capabilities: Sequence[Any] | None = None, **kwargs: Any) -> Any:
        return iter_run(*args, capabilities=[*(capabilities or ()), capability], **kwargs)

    agent.iter = governed_iter
    mark_instrumented(agent, tracer)
    return agent


async def _execute(tracer: Tracer, call: Any, args: Any, handler: Any) -> Any:
    """Decide one validated call: a refusal raises ``ToolFailed`` (``"return"``) or the violation."""
    from pydantic_ai.exceptions import ToolFailed

    governed = await tracer.agovern(call.tool_name, as_args(args), call_id=call.tool_call_id)
    if governed.refused:
        raise ToolFailed(governed.refuse())  # refuse() raises the violation on on_block="raise"
    run_args = args
    if governed.modified:
        if not isinstance(args, dict):  # never run with the arguments the enforcer rewrote away
            governed.finish(error=TypeError("rewritten arguments cannot be applied"))
            raise ToolFailed(
                f"[Thoth policy] The tool '{call.tool_name}' was not run: "
                "its arguments were rewritten by policy and cannot be applied."
            )
        run_args = dict(governed.args)
    return await governed.arun(handler, run_args)


@functools.cache
def _capability_class() -> type[Any]:
    """Built on first use so that importing this module does not import pydantic-ai."""
    from pydantic_ai.capabilities import AbstractCapability

    class ThothCapability(AbstractCapability[Any]):  # type: ignore[misc]
        """Asks Thoth before each tool call runs; refusals reach the model as failed calls."""

        def __init__(self, tracer: Tracer) -> None:
            self._tracer = tracer

        async def wrap_tool_execute(
            self, ctx: Any, *, call: Any, tool_def: Any, args: Any, handler: Any
        ) -> Any:
            return await _execute(self._tracer, call, args, handler)

    return ThothCapability
