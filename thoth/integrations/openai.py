"""OpenAI tool loops: answer a model's tool calls through Thoth.

With OpenAI the application owns the loop, so Thoth governs the dispatch from a
tool call to your function. The helpers below do one whole step::

    governed = thoth.instrument_openai({"search_docs": search_docs}, agent_id=..., ...)
    messages.append(message)
    messages += tool_messages(message, governed)          # Chat Completions
    input_items += function_call_outputs(response, governed)  # Responses API

``tools`` is the dict from ``thoth.instrument_openai`` (or plain functions plus
``tracer=``). Each call is authorized with the model's call id; a refused call is
answered with the refusal text and its function never runs; malformed arguments,
an unknown tool or a tool error are answered with the error. Every call gets an
answer (``{"role": "tool", "tool_call_id": ..., "content": ...}`` or
``{"type": "function_call_output", "call_id": ..., "output": ...}``), as the API
requires. ``on_block="raise"`` makes a refusal raise ``ThothPolicyViolation``
instead. The ``a*`` variants run one turn's calls concurrently and accept async
functions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from thoth.integrations._tool_loop import (
    OnBlock,
    ToolAnswer,
    ToolCall,
    answer_calls,
    answer_calls_async,
    field,
    govern_tool_dict,
)

if TYPE_CHECKING:
    from thoth.tracer import Tracer

__all__ = [
    "afunction_call_outputs",
    "atool_messages",
    "function_call_outputs",
    "instrument",
    "tool_calls_of",
    "tool_messages",
]


def instrument(obj: Any, tracer: Tracer) -> Any:
    """Govern a dict of tool functions in place (each then takes one arguments dict); returns it."""
    return govern_tool_dict(obj, tracer, "OpenAI", "thoth.integrations.openai.tool_messages")


def tool_messages(
    message: Any,
    tools: Mapping[str, Callable[..., Any]],
    tracer: Tracer | None = None,
    *,
    on_block: OnBlock = "return",
) -> list[dict[str, Any]]:
    """The ``role: "tool"`` messages answering every tool call of a Chat Completions message."""
    return [_tool_message(a) for a in answer_calls(tool_calls_of(message), tools, tracer, on_block)]


async def atool_messages(
    message: Any,
    tools: Mapping[str, Callable[..., Any]],
    tracer: Tracer | None = None,
    *,
    on_block: OnBlock = "return",
) -> list[dict[str, Any]]:
    """Async :func:`tool_messages`: the turn's calls run concurrently."""
    answers = await answer_calls_async(tool_calls_of(message), tools, tracer, on_block)
    return [_tool_message(a) for a in answers]


def function_call_outputs(
    response: Any,
    tools: Mapping[str, Callable[..., Any]],
    tracer: Tracer | None = None,
    *,
    on_block: OnBlock = "return",
) -> list[dict[str, Any]]:
    """The ``function_call_output`` items answering every function call of a Responses API response."""
    return [_call_output(a) for a in answer_calls(_function_calls_of(response), tools, tracer, on_block)]


async def afunction_call_outputs(
    response: Any,
    tools: Mapping[str, Callable[..., Any]],
    tracer: Tracer | None = None,
    *,
    on_block: OnBlock = "return",
) -> list[dict[str, Any]]:
    """Async :func:`function_call_outputs`."""
    answers = await answer_calls_async(_function_calls_of(response), tools, tracer, on_block)
    return [_call_output(a) for a in answers]


def tool_calls_of(message: Any) -> list[ToolCall]:
    """The function tool calls of a ``ChatCompletion``, its message, or the same as dicts."""
    choices = field(message, "choices")
    if choices:
        message = field(choices[0], "message")
    calls = []
    for call in field(message, "tool_calls") or []:
        function = field(call, "function")
        if function is None:  # custom (non-function) tools are not dispatched here
            continue
        calls.append(
            ToolCall(str(field(call, "id")), str(field(function, "name")), field(function, "arguments"))
        )
    return calls


def _function_calls_of(response: Any) -> list[ToolCall]:
    return [
        ToolCall(str(field(item, "call_id")), str(field(item, "name")), field(item, "arguments"))
        for item in field(response, "output") or []
        if field(item, "type") == "function_call"
    ]


def _tool_message(answer: ToolAnswer) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": answer.call_id, "content": answer.content}


def _call_output(answer: ToolAnswer) -> dict[str, Any]:
    return {"type": "function_call_output", "call_id": answer.call_id, "output": answer.content}
