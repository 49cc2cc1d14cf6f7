"""Answer a model's tool calls in an application-owned loop (OpenAI, Anthropic).

Pure of any SDK: the provider modules extract ``(call_id, name, arguments)``
from a response and shape the :class:`ToolAnswer` into their message format.
Every call gets an answer (the providers reject a turn with an unanswered call):
the tool's result, its error, or the refusal text, and a refused or malformed
call never reaches the tool.

Who decides a call: the ``tracer=`` the loop was given, else the tracer the
callable itself carries (a dict from ``instrument_openai`` / ``instrument_anthropic``
or ``tracer.wrap_dict_tool``). A callable that carries none (a plain function
added to the dict later) is refused with :class:`~thoth.errors.ThothConfigError`,
never run. Arguments must be a JSON object (or a dict): missing, truncated or
malformed JSON is answered as an error and the tool does not run (never with ``{}``).
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from thoth._governed import governed_by
from thoth._usage import usage_of
from thoth.errors import ThothConfigError
from thoth.integrations._govern import is_async_callable

if TYPE_CHECKING:
    from thoth._governed import GovernedCall
    from thoth.tracer import Tracer

__all__ = [
    "OnBlock",
    "ToolAnswer",
    "ToolCall",
    "answer_calls",
    "answer_calls_async",
    "field",
    "govern_tool_dict",
    "record_usage",
]

OnBlock = Literal["return", "raise"]


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


def govern_tool_dict(obj: Any, tracer: Tracer, provider: str, helper: str) -> Any:
    """Govern a dict of tool functions in place (each then takes one arguments dict); returns it."""
    if not isinstance(obj, dict):
        raise ThothConfigError(
            f"thoth: cannot govern a {type(obj).__name__} for {provider}: pass a dict of tool functions, "
            f"or answer tool calls with {helper}()"
        )
    for name, fn in obj.items():
        if not callable(fn):
            raise ThothConfigError(f"thoth: tool {name!r} is not callable ({type(fn).__name__})")
    # Re-instrumenting with another tracer re-governs the originals under it: the new settings take effect.
    for name, fn in list(obj.items()):
        obj[name] = tracer.wrap_dict_tool(str(name), fn)
    return obj


def field(obj: Any, name: str) -> Any:
    """Read a field of an SDK object or of its dict form."""
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def record_usage(
    response: Any, tools: Mapping[str, Callable[..., Any]], tracer: Tracer | None = None
) -> None:
    """Record the token usage ``response`` reports (none: nothing) under the loop's tracer, else
    the tracer the first governed tool carries: the response the application passes back is the
    one place an application-owned loop shows Thoth what the model spent."""
    usage = usage_of(response)
    if usage is None:
        return
    if tracer is None:
        tracer = next((g[0] for fn in tools.values() if (g := governed_by(fn)) is not None), None)
    if tracer is not None:
        tracer.record_llm_invocation(usage)


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
    prepared = _prepare(call, tools, tracer)
    if isinstance(prepared, ToolAnswer):
        return prepared
    tracer, fn, args = prepared
    governed = tracer.govern(call.name, args, call_id=call.call_id)
    if governed.refused:
        return _refused(call, governed, on_block)
    if is_async_callable(fn):
        return _failed(call, governed, TypeError("async tool in a sync loop: use the async helper"))
    try:
        return _ran(call, governed.run(_call, fn, governed.args))
    except Exception as exc:  # noqa: BLE001 - a tool's error is its answer: every call must be answered
        return _error(call, f"Error: {type(exc).__name__}: {exc}")


async def _aanswer(
    call: ToolCall, tools: Mapping[str, Callable[..., Any]], tracer: Tracer | None, on_block: OnBlock
) -> ToolAnswer:
    prepared = _prepare(call, tools, tracer)
    if isinstance(prepared, ToolAnswer):
        return prepared
    tracer, fn, args = prepared
    governed = await tracer.agovern(call.name, args, call_id=call.call_id)
    if governed.refused:
        return _refused(call, governed, on_block)
    try:
        return _ran(call, await governed.arun(_acall, fn, governed.args))
    except Exception as exc:  # noqa: BLE001 - a tool's error is its answer: every call must be answered
        return _error(call, f"Error: {type(exc).__name__}: {exc}")


def _governance(
    name: str, fn: Callable[..., Any], tracer: Tracer | None
) -> tuple[Tracer, Callable[..., Any]]:
    """The tracer that governs ``fn`` and the function to run once it allows the call.

    A callable from ``instrument_openai`` / ``instrument_anthropic`` carries its tracer and
    original function; we authorize with the call id ourselves and run the original (never
    the governed wrapper: that would decide twice). The loop's own ``tracer=`` wins over the
    callable's: the loop that runs the call is the agent it is decided under.
    """
    governor = governed_by(fn)
    if governor is not None:
        return (tracer, governor[1]) if tracer is not None else governor
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


async def _acall(fn: Callable[..., Any], args: dict[str, Any]) -> Any:
    """:func:`_call` for the async loop, which takes sync and async functions alike."""
    result = _call(fn, args)
    return await result if inspect.isawaitable(result) else result


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
    call: ToolCall, tools: Mapping[str, Callable[..., Any]], tracer: Tracer | None
) -> ToolAnswer | tuple[Tracer, Callable[..., Any], dict[str, Any]]:
    """The governing tracer, the tool and the parsed arguments, or the error answer (the tool is not run)."""
    fn = tools.get(call.name)
    if fn is None:
        known = ", ".join(sorted(tools)) or "none"
        return _error(call, f"Error: unknown tool '{call.name}' (available: {known})")
    try:
        args = _parse_arguments(call.arguments)
    except ValueError as exc:
        return _error(call, f"Error: the arguments for '{call.name}' are not valid: {exc}")
    return (*_governance(call.name, fn, tracer), args)


def _parse_arguments(raw: str | Mapping[str, Any] | None) -> dict[str, Any]:
    # No arguments at all is a truncated or malformed call, not a call with none: the APIs send "{}".
    if raw is None:
        raise ValueError("the call has no arguments")
    value = json.loads(raw) if isinstance(raw, str) else raw  # JSONDecodeError (also for "") is a ValueError
    if not isinstance(value, Mapping):
        raise ValueError(f"expected a JSON object, got {type(value).__name__}")
    return {str(k): v for k, v in value.items()}


def _refused(call: ToolCall, governed: GovernedCall, on_block: OnBlock) -> ToolAnswer:
    # The loop's own on_block decides here, not the tracer's.
    if on_block == "raise" and governed.violation is not None:
        raise governed.violation
    return ToolAnswer(call.call_id, call.name, governed.refusal_text(), is_error=True, refused=True)


def _failed(call: ToolCall, governed: GovernedCall, exc: Exception) -> ToolAnswer:
    governed.finish(error=exc)
    return _error(call, f"Error: {type(exc).__name__}: {exc}")


def _ran(call: ToolCall, result: Any) -> ToolAnswer:
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
