"""Claude Agent SDK (``claude-agent-sdk``): govern every tool call the Claude Code CLI makes.

``instrument(options_or_client, tracer)`` governs a ``ClaudeAgentOptions`` (or the
options of a ``ClaudeSDKClient`` not yet connected) in place:

* a ``PreToolUse`` hook decides each call before it runs. It fires for every tool
  call whatever the permission mode; ``can_use_tool`` alone does not: the CLI
  skips it for tools auto-approved by ``allowed_tools``, settings-file allow rules
  or ``bypassPermissions`` (the SDK's own ``CanUseToolShadowedWarning``). The hook
  is registered with ``on_failure="block"`` and a timeout that covers a step-up
  wait, so a hook that fails or times out blocks the call.
* ``can_use_tool`` answers for calls the hook already allowed (or decides itself
  when it is used alone, see ``thoth_can_use_tool``), then defers to the
  application's own ``can_use_tool`` if it had one.
* ``PostToolUse`` / ``PostToolUseFailure`` hooks record the outcome.

A refusal is a ``deny`` whose reason the model reads as the tool's error result
(``on_block="return"``); with ``on_block="raise"`` the deny also stops the agent
(``continue: false`` from the hook, ``interrupt=True`` from ``can_use_tool``).
MODIFY is applied through the hook's ``updatedInput``. Calls are keyed by ``tool_use_id``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from thoth._governed import instrumented_by, mark_instrumented
from thoth.errors import ThothConfigError
from thoth.integrations._govern import as_args

if TYPE_CHECKING:
    from thoth._governed import GovernedCall
    from thoth.tracer import Tracer

__all__ = ["govern_options", "instrument", "thoth_can_use_tool"]

_HOOK_MARGIN_SECONDS = 30.0


def instrument(obj: Any, tracer: Tracer) -> Any:
    """Govern ``ClaudeAgentOptions`` or a ``ClaudeSDKClient``'s options in place; return ``obj``."""
    options = getattr(obj, "options", None) if not hasattr(obj, "can_use_tool") else obj
    if options is None or not hasattr(options, "hooks"):
        raise ThothConfigError(
            f"Thoth cannot govern a {type(obj).__name__}: pass ClaudeAgentOptions or a ClaudeSDKClient"
        )
    if getattr(obj, "_query", None) is not None:  # connect() already handed the options to the CLI
        raise ThothConfigError("instrument the ClaudeSDKClient (or its options) before it connects")
    govern_options(options, tracer)
    return obj


def govern_options(options: Any, tracer: Tracer) -> Any:
    """Add Thoth's hooks and ``can_use_tool`` to ``ClaudeAgentOptions`` in place; return them."""
    if instrumented_by(options.can_use_tool) is not None:
        return options
    from claude_agent_sdk import HookMatcher

    governor = _Governor(tracer, options.can_use_tool)
    hooks = {event: list(matchers) for event, matchers in (options.hooks or {}).items()}
    decide = HookMatcher(hooks=[governor.pre_tool_use], timeout=_hook_timeout(tracer), on_failure="block")
    hooks["PreToolUse"] = [decide, *hooks.get("PreToolUse", [])]
    hooks.setdefault("PostToolUse", []).append(HookMatcher(hooks=[governor.post_tool_use]))
    hooks.setdefault("PostToolUseFailure", []).append(HookMatcher(hooks=[governor.post_tool_use]))
    options.hooks = hooks
    options.can_use_tool = governor.can_use_tool
    return options


def thoth_can_use_tool(tracer: Tracer) -> Any:
    """A ``can_use_tool`` callback that decides each call it is asked about.

    Prefer ``instrument(options, tracer)``: the CLI does not ask ``can_use_tool``
    about auto-approved tools, while the hook it installs sees every call.
    """
    return _Governor(tracer, None).can_use_tool


class _Governor:
    def __init__(self, tracer: Tracer, app_can_use_tool: Any) -> None:
        self.tracer = tracer
        self.app_can_use_tool = app_can_use_tool
        self.calls: dict[str, GovernedCall] = {}  # allowed calls, until their outcome is recorded

        async def can_use_tool(tool_name: str, tool_input: dict[str, Any], context: Any) -> Any:
            try:
                return await self._can_use_tool(tool_name, tool_input, context)
            except Exception as exc:  # noqa: BLE001 - fail closed: any error (ours, the app's callback's) must deny
                from claude_agent_sdk import PermissionResultDeny

                return PermissionResultDeny(
                    message=f"[Thoth policy] permission check failed: {type(exc).__name__}"
                )

        mark_instrumented(can_use_tool, tracer)
        self.can_use_tool = can_use_tool

    async def pre_tool_use(self, hook_input: Any, tool_use_id: str | None, context: Any) -> dict[str, Any]:
        name = str(hook_input.get("tool_name", ""))
        call_id = tool_use_id or hook_input.get("tool_use_id")
        governed = await self.tracer.agovern(name, as_args(hook_input.get("tool_input")), call_id=call_id)
        if governed.refused:
            text = governed.refusal_text()  # the model reads it whatever on_block; "raise" also stops
            output: dict[str, Any] = {
                "hookSpecificOutput": {
                    "hookEventName": "PreToolUse",
                    "permissionDecision": "deny",
                    "permissionDecisionReason": text,
                }
            }
            if not governed.returns_refusal:
                output.update({"continue_": False, "stopReason": text})
            return output
        if call_id:
            self.calls[call_id] = governed
        if governed.modified:
            return {
                "hookSpecificOutput": {"hookEventName": "PreToolUse", "updatedInput": dict(governed.args)}
            }
        return {}  # no opinion: the CLI's own permission flow (and can_use_tool) goes on

    async def _can_use_tool(self, tool_name: str, tool_input: dict[str, Any], context: Any) -> Any:
        from claude_agent_sdk import PermissionResultAllow, PermissionResultDeny

        call_id = getattr(context, "tool_use_id", None)
        decided = self.calls.get(call_id) if call_id else None
        updated: dict[str, Any] | None = None
        if decided is None:  # no hook decided this call: decide here
            governed = await self.tracer.agovern(tool_name, as_args(tool_input), call_id=call_id)
            if governed.refused:
                return PermissionResultDeny(
                    message=governed.refusal_text(), interrupt=not governed.returns_refusal
                )
            if call_id:
                self.calls[call_id] = governed
            if governed.modified:
                updated = dict(governed.args)
        if self.app_can_use_tool is not None:
            return await self.app_can_use_tool(tool_name, updated or tool_input, context)
        return PermissionResultAllow(updated_input=updated)

    async def post_tool_use(self, hook_input: Any, tool_use_id: str | None, context: Any) -> dict[str, Any]:
        governed = self.calls.pop(tool_use_id or hook_input.get("tool_use_id") or "", None)
        if governed is not None:
            if hook_input.get("hook_event_name") == "PostToolUseFailure":
                governed.finish(error=RuntimeError(str(hook_input.get("error", "tool failed"))))
            else:
                governed.finish(result=hook_input.get("tool_response"))
        return {}


def _hook_timeout(tracer: Tracer) -> float:
    """Long enough for a human to answer a step-up; past it the hook fails, which blocks the call."""
    config = getattr(tracer, "config", None)
    minutes = float(getattr(config, "step_up_timeout_minutes", 15))
    return minutes * 60 + float(getattr(config, "decision_timeout_seconds", 10)) + _HOOK_MARGIN_SECONDS
