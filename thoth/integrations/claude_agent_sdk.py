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

The hooks fire for every tool the CLI runs: built-in tools, in-process SDK MCP servers'
tools (``create_sdk_mcp_server``), external MCP servers' tools and the tools of sub-agents
the CLI starts (``agents=``); ``permission_mode`` and ``allowed_tools`` do not skip them.
The application's own hooks still run, after Thoth's, and a deny wins over their allow.

The governance travels with the options: a ``dataclasses.replace`` copy keeps Thoth's hooks
(and so its tracer). Where the SDK starts a session (``query()`` and
``ClaudeSDKClient.connect()``, patched once on their classes) options that Thoth governed,
whose hooks or ``can_use_tool`` were replaced or dropped since, get them back, and a
``ClaudeSDKClient`` that was instrumented governs whatever options it holds when it
connects. ``instrument()`` again with another tracer replaces Thoth's hooks with the new
tracer's (same tracer: no change). A client that already connected is refused
(``ThothConfigError``): the CLI has its hooks already.

Token spend: one LLM_INVOCATION per ``ResultMessage`` (one per query), with its ``usage``
(input, cache read and cache creation, output tokens) and ``duration_api_ms`` as latency,
recorded as the message passes through ``query()`` or ``ClaudeSDKClient.receive_messages()``
(which ``receive_response()`` reads), under the options' or the client's tracer. Not the
``AssistantMessage`` usage: the CLI sends one AssistantMessage per content block, each with its
response's id and usage (counting them multiplies a response), and that usage is the stream's
``message_start`` snapshot, whose output count is not final (1 where the response had 20). Not
``model_usage`` either: it is cumulative over the CLI session, so a ClaudeSDKClient's second
query would count the first again. The model is the last top-level AssistantMessage's (else the
only key of ``model_usage``). A result without usage records nothing; counting never raises
into the stream.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from thoth._governed import instrumented_by, mark_instrumented
from thoth._usage import usage_of_fields
from thoth.errors import ThothConfigError
from thoth.integrations._govern import as_args, log

if TYPE_CHECKING:
    from thoth._governed import GovernedCall
    from thoth.tracer import Tracer

__all__ = ["govern_options", "instrument", "thoth_can_use_tool"]

_HOOK_MARGIN_SECONDS = 30.0
_PATCHED = "__thoth_patched__"
_APP_CALLBACK = "__thoth_app_can_use_tool__"  # on our can_use_tool: the application's own callback


def instrument(obj: Any, tracer: Tracer) -> Any:
    """Govern ``ClaudeAgentOptions`` or a ``ClaudeSDKClient``'s options in place; return ``obj``."""
    options = getattr(obj, "options", None) if not hasattr(obj, "can_use_tool") else obj
    if options is None or not hasattr(options, "hooks"):
        raise ThothConfigError(
            f"Thoth cannot govern a {type(obj).__name__}: pass ClaudeAgentOptions or a ClaudeSDKClient"
        )
    if getattr(obj, "_query", None) is not None:  # connect() already handed the options to the CLI
        raise ThothConfigError("instrument the ClaudeSDKClient (or its options) before it connects")
    _patch_session_starts()
    if obj is not options:
        mark_instrumented(obj, tracer)  # the client governs the options it holds when it connects
    govern_options(options, tracer)
    return obj


def govern_options(options: Any, tracer: Tracer) -> Any:
    """Add Thoth's hooks and ``can_use_tool`` to ``ClaudeAgentOptions`` in place; return them.

    Idempotent for the same tracer; another tracer replaces the previous one's hooks.
    """
    from claude_agent_sdk import HookMatcher

    hooks = {event: list(matchers) for event, matchers in (options.hooks or {}).items()}
    current = _governor_in(hooks)
    if current is not None and current.tracer is tracer and options.can_use_tool is current.can_use_tool:
        mark_instrumented(options, tracer)
        return options
    app_can_use_tool = options.can_use_tool
    previous = instrumented_by(app_can_use_tool)
    if previous is not None:  # ours, from an earlier instrument(): keep only the application's callback
        app_can_use_tool = getattr(app_can_use_tool, _APP_CALLBACK, None)
    hooks = {event: [m for m in matchers if not _is_ours(m)] for event, matchers in hooks.items()}
    governor = _Governor(tracer, app_can_use_tool)
    decide = HookMatcher(hooks=[governor.pre_tool_use], timeout=_hook_timeout(tracer), on_failure="block")
    hooks["PreToolUse"] = [decide, *hooks.get("PreToolUse", [])]
    hooks.setdefault("PostToolUse", []).append(HookMatcher(hooks=[governor.post_tool_use]))
    hooks.setdefault("PostToolUseFailure", []).append(HookMatcher(hooks=[governor.post_tool_use]))
    options.hooks = {event: matchers for event, matchers in hooks.items() if matchers}
    options.can_use_tool = governor.can_use_tool
    mark_instrumented(options, tracer)
    return options


def _is_ours(matcher: Any) -> bool:
    return any(
        isinstance(getattr(hook, "__self__", None), _Governor) for hook in getattr(matcher, "hooks", ())
    )


def _governor_in(hooks: dict[str, list[Any]]) -> _Governor | None:
    """Thoth's governor, when its deciding PreToolUse hook is among ``hooks``."""
    for matcher in hooks.get("PreToolUse", ()):
        for hook in getattr(matcher, "hooks", ()):
            owner = getattr(hook, "__self__", None)
            if isinstance(owner, _Governor) and getattr(hook, "__func__", None) is _Governor.pre_tool_use:
                return owner
    return None


def _governing_tracer(options: Any) -> Tracer | None:
    """The tracer that governed these options (or the options they were copied from), if any."""
    found = instrumented_by(options) or instrumented_by(getattr(options, "can_use_tool", None))
    if found is None and isinstance(getattr(options, "hooks", None), dict):
        governor = _governor_in(options.hooks)
        found = governor.tracer if governor is not None else None
    return found


def _reassert(options: Any, tracer: Tracer | None) -> None:
    """Before a session starts: options that were governed get back any hook replaced since."""
    tracer = tracer or _governing_tracer(options)
    if tracer is not None:
        govern_options(options, tracer)


def _patch_session_starts() -> None:
    """Patch, once, where the SDK hands options to the CLI: ``query()`` and ``connect()``."""
    from claude_agent_sdk import ClaudeSDKClient
    from claude_agent_sdk._internal.client import InternalClient

    connect = ClaudeSDKClient.connect
    if not getattr(connect, _PATCHED, False):

        @functools.wraps(connect)
        async def governed_connect(self: Any, *args: Any, **kwargs: Any) -> None:
            if self.options is not None:
                _reassert(self.options, instrumented_by(self))
            await connect(self, *args, **kwargs)

        setattr(governed_connect, _PATCHED, True)
        ClaudeSDKClient.connect = governed_connect

    receive = ClaudeSDKClient.receive_messages
    if not getattr(receive, _PATCHED, False):

        @functools.wraps(receive)
        def counted_receive(self: Any) -> AsyncIterator[Any]:
            counter = _UsageCounter(lambda: instrumented_by(self) or _governing_tracer(self.options))
            return _counted(receive(self), counter)

        setattr(counted_receive, _PATCHED, True)
        ClaudeSDKClient.receive_messages = counted_receive

    process_query = InternalClient.process_query
    if not getattr(process_query, _PATCHED, False):

        @functools.wraps(process_query)
        def governed_process_query(self: Any, prompt: Any, options: Any, *args: Any, **kwargs: Any) -> Any:
            _reassert(options, None)
            tracer = _governing_tracer(options)
            messages = process_query(self, prompt, options, *args, **kwargs)
            return messages if tracer is None else _counted(messages, _UsageCounter(lambda: tracer))

        setattr(governed_process_query, _PATCHED, True)
        InternalClient.process_query = governed_process_query


class _UsageCounter:
    """One message stream's token spend: a query's ResultMessage, recorded (see the module docstring)."""

    def __init__(self, tracer_of: Callable[[], Tracer | None]) -> None:
        self.tracer_of = tracer_of
        self.model: str | None = None  # the model of the last top-level assistant turn

    def see(self, message: Any) -> None:
        """Note an assistant turn's model; record a result's usage. Never raises."""
        try:
            from claude_agent_sdk import AssistantMessage, ResultMessage

            if isinstance(message, AssistantMessage) and message.parent_tool_use_id is None:
                self.model = message.model if isinstance(message.model, str) and message.model else None
            elif isinstance(message, ResultMessage):
                self._record(message)
        except Exception as exc:  # noqa: BLE001 - accounting must not break the application's stream
            log.warning("thoth: claude_agent_sdk token usage not recorded: %s", type(exc).__name__)

    def _record(self, result: Any) -> None:
        tracer = self.tracer_of()
        if tracer is None:
            return
        latency = result.duration_api_ms
        latency_ms = float(latency) if isinstance(latency, int | float) and latency >= 0 else None
        model, result_id = self.model or _only_model(result), result.uuid
        result_id = result_id if isinstance(result_id, str) and result_id else None
        tracer.record_llm_invocation(usage_of_fields(result.usage, model, latency_ms, result_id))


def _only_model(result: Any) -> str | None:
    """The model of a result whose session used one model only (``model_usage``'s one key)."""
    models = result.model_usage
    if isinstance(models, dict) and len(models) == 1:
        model = next(iter(models))
        return model if isinstance(model, str) and model else None
    return None


async def _counted(messages: AsyncIterator[Any], counter: _UsageCounter) -> AsyncIterator[Any]:
    """``messages``, unchanged, each shown to ``counter`` first. Closing this closes ``messages``
    (``async for`` alone would not), so the SDK's stream ends when the application's loop does."""
    try:
        async for message in messages:
            counter.see(message)
            yield message
    finally:
        aclose = getattr(messages, "aclose", None)
        if aclose is not None:
            await aclose()


def thoth_can_use_tool(tracer: Tracer) -> Any:
    """A ``can_use_tool`` callback that decides each call it is asked about.

    The CLI does not ask ``can_use_tool`` about auto-approved tools, so when a session
    starts with options holding this callback, Thoth adds its hooks to them too (as
    ``instrument(options, tracer)`` does), and the hook decides.
    """
    _patch_session_starts()
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
        setattr(can_use_tool, _APP_CALLBACK, app_can_use_tool)
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
