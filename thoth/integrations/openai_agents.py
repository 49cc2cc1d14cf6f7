"""OpenAI Agents SDK (``openai-agents``): a tool input guardrail on every function tool.

``instrument(agent, tracer)`` governs an ``Agent`` in place: every ``FunctionTool``
in ``agent.tools`` (agents-as-tools included), every MCP server in
``agent.mcp_servers``, and the agents it hands off to. ``instrument`` also takes a
single ``FunctionTool`` or a list of tools.

* The input guardrail asks Thoth before the tool runs (waiting out a step-up) and
  keeps the allowed call under the model's ``call_id``.
* On a refusal it answers ``ToolGuardrailFunctionOutput.reject_content(text)``: the
  model reads the refusal in place of the result and the run goes on
  (``on_block="return"``), or ``raise_exception()``, which ends the run with
  ``ToolInputGuardrailTripwireTriggered`` (``on_block="raise"``).
* The function tool's ``on_invoke_tool`` is wrapped to run with the permitted
  arguments (MODIFY) and to record the outcome; for MCP tools an output guardrail
  records it. A MODIFY that cannot be applied (MCP tools) is refused.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from thoth._governed import GovernedCall, governed_by, instrumented_by, mark_governed, mark_instrumented
from thoth.errors import ThothPolicyViolation

if TYPE_CHECKING:
    from thoth.tracer import Tracer

__all__ = ["govern_tool", "instrument", "thoth_guardrails"]

_GUARDRAIL_NAME = "thoth_policy"


def instrument(obj: Any, tracer: Tracer) -> Any:
    """Govern an ``Agent``, a ``FunctionTool`` or a list of tools in place; return it."""
    governor = _Governor(tracer)
    if isinstance(obj, list | tuple):
        for tool in obj:
            governor.govern(tool)
    elif hasattr(obj, "on_invoke_tool"):
        governor.govern(obj)
    else:
        governor.govern_agent(obj, seen=set())
    return obj


def govern_tool(tool: Any, tracer: Tracer, name: str | None = None) -> Any:
    """Govern one ``FunctionTool`` in place and return it (``name`` is ignored: the tool's own is used)."""
    _Governor(tracer).govern(tool)
    return tool


def thoth_guardrails(tracer: Tracer) -> tuple[Any, Any]:
    """``(input_guardrail, output_guardrail)`` to put on a tool or an MCP server yourself."""
    governor = _Governor(tracer)
    return governor.input_guardrail, governor.output_guardrail


class _Governor:
    """One tracer's guardrails, and the allowed calls between decision and result."""

    def __init__(self, tracer: Tracer) -> None:
        from agents import ToolInputGuardrail, ToolOutputGuardrail

        self.tracer = tracer
        self.calls: dict[str, GovernedCall] = {}
        self.input_guardrail = ToolInputGuardrail(guardrail_function=self._decide, name=_GUARDRAIL_NAME)
        self.output_guardrail = ToolOutputGuardrail(guardrail_function=self._record, name=_GUARDRAIL_NAME)

    # -- attaching ---------------------------------------------------------------------------------
    def govern_agent(self, agent: Any, seen: set[int]) -> None:
        if id(agent) in seen:
            return
        seen.add(id(agent))
        for tool in getattr(agent, "tools", None) or []:
            if hasattr(tool, "on_invoke_tool"):
                self.govern(tool)
        for server in getattr(agent, "mcp_servers", None) or []:
            self._attach(server)
        for handoff in getattr(agent, "handoffs", None) or []:
            target = getattr(handoff, "agent", handoff)  # an Agent, or a Handoff built from one
            if hasattr(target, "tools"):
                self.govern_agent(target, seen)

    def govern(self, tool: Any) -> None:
        if instrumented_by(tool) is not None:
            return
        self._attach(tool)
        tool.on_invoke_tool = self._wrap_invoke(tool.name, tool.on_invoke_tool)
        mark_instrumented(tool, self.tracer)

    def _attach(self, holder: Any) -> None:
        """Add our guardrails last, so that a call another guardrail rejects is never decided."""
        inputs = [g for g in (holder.tool_input_guardrails or []) if g.get_name() != _GUARDRAIL_NAME]
        outputs = [g for g in (holder.tool_output_guardrails or []) if g.get_name() != _GUARDRAIL_NAME]
        holder.tool_input_guardrails = [*inputs, self.input_guardrail]
        holder.tool_output_guardrails = [self.output_guardrail, *outputs]

    # -- the guardrails ----------------------------------------------------------------------------
    async def _decide(self, data: Any) -> Any:
        from agents import ToolGuardrailFunctionOutput

        ctx = data.context
        governed = await self.tracer.agovern(
            ctx.tool_name, _parse(ctx.tool_arguments), call_id=ctx.tool_call_id
        )
        if governed.modified and not _wrapped(data.agent, ctx.tool_name):
            governed.finish(error=RuntimeError("MODIFY cannot be applied to this tool"))
            governed = GovernedCall(
                self.tracer,
                ctx.tool_name,
                violation=ThothPolicyViolation(
                    ctx.tool_name,
                    "the enforcer rewrote the arguments, and this tool cannot take rewritten ones",
                ),
            )
        violation = governed.violation
        if violation is not None:
            info = {
                "decision": violation.decision,
                "reason": violation.reason,
                "violation_id": violation.violation_id,
            }
            if governed.returns_refusal:
                return ToolGuardrailFunctionOutput.reject_content(governed.refusal(), output_info=info)
            return ToolGuardrailFunctionOutput.raise_exception(output_info=info)
        self.calls[ctx.tool_call_id] = governed
        return ToolGuardrailFunctionOutput.allow(output_info={"call_id": governed.call_id})

    async def _record(self, data: Any) -> Any:
        from agents import ToolGuardrailFunctionOutput

        governed = self.calls.pop(data.context.tool_call_id, None)
        if governed is not None:  # an MCP tool: nothing else saw its result
            governed.finish(result=data.output)
        return ToolGuardrailFunctionOutput.allow()

    # -- the invocation ----------------------------------------------------------------------------
    def _wrap_invoke(self, name: str, invoke: Any) -> Any:
        async def on_invoke_tool(ctx, input_json):  # type: ignore[no-untyped-def]  # no annotation: the SDK inspects it
            call_id = getattr(ctx, "tool_call_id", None)
            governed = self.calls.pop(call_id, None) if call_id else None
            if governed is None:  # the guardrail did not run (e.g. removed): decide here, fail closed
                governed = await self.tracer.agovern(name, _parse(input_json), call_id=call_id)
                if governed.refused:
                    return governed.refuse()
            if governed.modified:
                input_json = json.dumps(governed.args)
            return await governed.arun(invoke, ctx, input_json)

        mark_governed(on_invoke_tool, self.tracer, invoke)
        return on_invoke_tool


def _parse(arguments: Any) -> dict[str, Any]:
    if isinstance(arguments, dict):
        return arguments
    try:
        parsed = json.loads(arguments or "{}")
    except (TypeError, ValueError):
        return {"arguments": str(arguments)}
    return parsed if isinstance(parsed, dict) else {"arguments": parsed}


def _wrapped(agent: Any, tool_name: str) -> bool:
    """Whether the agent's tool of that name runs through our invocation wrapper (MODIFY applies)."""
    for tool in getattr(agent, "tools", None) or []:
        if getattr(tool, "name", None) == tool_name:
            return governed_by(tool.on_invoke_tool) is not None
    return False
