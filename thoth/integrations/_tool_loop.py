"""Answer a model's tool calls in an application-owned loop (OpenAI, Anthropic).

Pure of any SDK: the provider modules extract ``(call_id, name, arguments)``
from a response and shape the :class:`ToolAnswer` into their message format.
Every call gets an answer (the providers reject a turn with an unanswered call):
the tool's result, its error, or the refusal text, and a refused or malformed
call never reaches the tool.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from thoth.errors import ThothConfigError, ThothPolicyViolation
from thoth.integrations._gate import acheck, check, finish, refusal_text

if TYPE_CHECKING:
    from thoth.tracer import Permit, Tracer

__all__ = ["OnBlock", "ToolAnswer", "ToolCall", "answer_calls", "answer_calls_async"]

OnBlock = Literal["return", "raise"]
_GOVERNED = "__thoth_governed__"  # set by Tracer.wrap_tool / wrap_dict_tool: (tracer, original)


@dataclass(frozen=True)
class ToolCall:
    """One tool call as the model sent it; ``arguments`` is a JSON string or a dict."""

    call_id: str
    name: str
    arguments: str | Mapping[str, Any] | None


@dataclass(frozen=True)
class ToolAnswer:
    """What goes back to the model for one call."""

    call_id: str
    name: str
    content: str
    is_error: bool
    refused: bool = False


def answer_calls(
    calls: Sequence[ToolCall],
    tools: Mapping[str, Callable[..., Any]],
    tracer: Tracer | None,
    on_block: OnBlock,
) -> list[ToolAnswer]:
    """Run each governed call in order; one answer per call, same order."""
    return [_answer(call, tools, tracer, on_block) for call in calls]


async def answer_calls_async(
    calls: Sequence[ToolCall],
    tools: Mapping[str, Callable[..., Any]],
    tracer: Tracer | None,
    on_block: OnBlock,
) -> list[ToolAnswer]:
    """Run the governed calls concurrently (each keyed by its call id); answers in call order."""
    return list(await asyncio.gather(*(_aanswer(call, tools, tracer, on_block) for call in calls)))


def _answer(
    call: ToolCall, tools: Mapping[str, Callable[..., Any]], tracer: Tracer | None, on_block: OnBlock
) -> ToolAnswer:
    problem, fn, args = _prepare(call, tools)
    if problem is not None:
        return problem
    tracer, fn = _governance(call.name, fn, tracer)
    outcome = check(tracer, call.name, args, call.call_id)
    if isinstance(outcome, ThothPolicyViolation):
        return _refused(call, outcome, on_block)
    if inspect.iscoroutinefunction(fn):
        return _failed(call, outcome, TypeError("async tool in a sync loop: use the async helper"))
    try:
        result = _call(fn, outcome.args)
    except Exception as exc:
        return _failed(call, outcome, exc)
    return _ran(call, outcome, result)


async def _aanswer(
    call: ToolCall, tools: Mapping[str, Callable[..., Any]], tracer: Tracer | None, on_block: OnBlock
) -> ToolAnswer:
    problem, fn, args = _prepare(call, tools)
    if problem is not None:
        return problem
    tracer, fn = _governance(call.name, fn, tracer)
    outcome = await acheck(tracer, call.name, args, call.call_id)
    if isinstance(outcome, ThothPolicyViolation):
        return _refused(call, outcome, on_block)
    try:
        result = _call(fn, outcome.args)
        if inspect.isawaitable(result):
            result = await result
    except Exception as exc:
        return _failed(call, outcome, exc)
    return _ran(call, outcome, result)


def _governance(
    name: str, fn: Callable[..., Any], tracer: Tracer | None
) -> tuple[Tracer, Callable[..., Any]]:
    """The tracer that governs ``fn`` and the function to run once it allows the call.

    A callable from ``instrument_openai`` / ``instrument_anthropic`` carries its tracer and
    original function; we authorize with the call id ourselves and run the original.
    """
    governed = getattr(fn, _GOVERNED, None)
    if governed is not None:
        return governed[0], governed[1]
    if tracer is None:  # never run an ungoverned tool
        raise ThothConfigError(
            f"thoth: tool {name!r} is not governed: pass tracer=..., or the dict from "
            "thoth.instrument_openai() / thoth.instrument_anthropic()"
        )
    return tracer, fn


def _call(fn: Callable[..., Any], args: dict[str, Any]) -> Any:
    """``fn(**args)``, or ``fn(args)`` for a one-parameter function that takes the whole dict."""
    single = _single_parameter(fn)
    if single is not None and set(args) != {single}:
        return fn(args)
    return fn(**args)


def _single_parameter(fn: Callable[..., Any]) -> str | None:
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return None
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) == 1 and not any(p.kind is p.VAR_KEYWORD for p in params):
        return positional[0].name
    return None


def _prepare(
    call: ToolCall, tools: Mapping[str, Callable[..., Any]]
) -> tuple[ToolAnswer | None, Callable[..., Any], dict[str, Any]]:
    """The tool and parsed arguments, or the error answer (the tool is not run)."""
    fn = tools.get(call.name)
    if fn is None:
        known = ", ".join(sorted(tools)) or "none"
        return _error(call, f"Error: unknown tool '{call.name}' (available: {known})"), _none, {}
    try:
        args = _parse_arguments(call.arguments)
    except ValueError as exc:
        return _error(call, f"Error: the arguments for '{call.name}' are not valid: {exc}"), _none, {}
    return None, fn, args


def _parse_arguments(raw: str | Mapping[str, Any] | None) -> dict[str, Any]:
    if raw is None or raw == "":
        return {}
    value = json.loads(raw) if isinstance(raw, str) else raw  # JSONDecodeError is a ValueError
    if not isinstance(value, Mapping):
        raise ValueError(f"expected a JSON object, got {type(value).__name__}")
    return {str(k): v for k, v in value.items()}


def _refused(call: ToolCall, violation: ThothPolicyViolation, on_block: OnBlock) -> ToolAnswer:
    if on_block == "raise":
        raise violation
    return ToolAnswer(call.call_id, call.name, refusal_text(violation), is_error=True, refused=True)


def _failed(call: ToolCall, permit: Permit, exc: Exception) -> ToolAnswer:
    finish(permit, error=exc)
    return _error(call, f"Error: {type(exc).__name__}: {exc}")


def _ran(call: ToolCall, permit: Permit, result: Any) -> ToolAnswer:
    finish(permit, result=result)
    return ToolAnswer(call.call_id, call.name, _as_text(result), is_error=False)


def _error(call: ToolCall, text: str) -> ToolAnswer:
    return ToolAnswer(call.call_id, call.name, text, is_error=True)


def _as_text(result: Any) -> str:
    if isinstance(result, str):
        return result
    try:
        return json.dumps(result, default=str)
    except (TypeError, ValueError):
        return str(result)


def _none(**_: Any) -> None:
    return None
