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

What is governed is the dispatcher, not your functions: the dict's governed
callables, and every call the helpers answer. The paths:

* Chat Completions: a ``ChatCompletion``, its choice or message, or (``stream=True``)
  the list of ``ChatCompletionChunk`` you read: their tool-call deltas are joined
  here. A stream object itself is refused (``ThothConfigError``): pass the chunks,
  or ``stream.get_final_completion()`` of ``client.chat.completions.stream()``.
* Responses API: a ``Response``, the ``response.completed`` event, or the list of
  stream events (``response.output_item.done`` items).
* A tool added to the dict after ``instrument`` is a plain function: the helpers
  refuse it (``ThothConfigError``), never run it; pass ``tracer=`` to govern it.
  Calling it yourself, like calling the original function you still hold, is your
  own code, not a governed call.
* One function in two dispatchers of two agents: each dispatcher's callable carries
  its own tracer, so a call is decided under the dispatcher that answers it; a
  ``tracer=`` given to a helper wins over the callable's own.
* :func:`instrument` on a dict that is already governed by another tracer
  re-governs the original functions: the new settings take effect.
* Arguments arrive as a JSON string: missing, truncated or malformed JSON (or
  JSON that is not an object) is answered with an error and nothing runs.
* Token spend: the helpers record the ``usage`` of the response they are given (an
  LLM_INVOCATION event, counts only); record the final turn, which has no tool calls,
  with :func:`record_usage`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from thoth.errors import ThothConfigError
from thoth.integrations._tool_loop import (
    OnBlock,
    ToolAnswer,
    ToolCall,
    answer_calls,
    answer_calls_async,
    field,
    govern_tool_dict,
    record_usage,
)

if TYPE_CHECKING:
    from thoth.tracer import Tracer

__all__ = [
    "afunction_call_outputs",
    "atool_messages",
    "function_call_outputs",
    "instrument",
    "record_usage",
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
    record_usage(message, tools, tracer)
    return [_tool_message(a) for a in answer_calls(tool_calls_of(message), tools, tracer, on_block)]


async def atool_messages(
    message: Any,
    tools: Mapping[str, Callable[..., Any]],
    tracer: Tracer | None = None,
    *,
    on_block: OnBlock = "return",
) -> list[dict[str, Any]]:
    """Async :func:`tool_messages`: the turn's calls run concurrently."""
    record_usage(message, tools, tracer)
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
    record_usage(response, tools, tracer)
    return [_call_output(a) for a in answer_calls(_function_calls_of(response), tools, tracer, on_block)]


async def afunction_call_outputs(
    response: Any,
    tools: Mapping[str, Callable[..., Any]],
    tracer: Tracer | None = None,
    *,
    on_block: OnBlock = "return",
) -> list[dict[str, Any]]:
    """Async :func:`function_call_outputs`."""
    record_usage(response, tools, tracer)
    answers = await answer_calls_async(_function_calls_of(response), tools, tracer, on_block)
    return [_call_output(a) for a in answers]


def tool_calls_of(message: Any) -> list[ToolCall]:
    """The function tool calls of a ``ChatCompletion``, its choice or message, the list of
    ``ChatCompletionChunk`` of a stream, or the same as dicts."""
    if isinstance(message, list | tuple) or field(message, "object") == "chat.completion.chunk":
        return _streamed_tool_calls(message if isinstance(message, list | tuple) else [message])
    _require_shape(message, ("choices", "message", "tool_calls"), "a ChatCompletion or its message")
    choices = field(message, "choices")
    if choices:
        message = field(choices[0], "message")
    elif field(message, "message") is not None:  # a Choice
        message = field(message, "message")
    calls = []
    for call in field(message, "tool_calls") or []:
        function = field(call, "function")
        if function is None:  # custom (non-function) tools are not dispatched here
            continue
        calls.append(
            ToolCall(str(field(call, "id")), str(field(function, "name")), field(function, "arguments"))
        )
    return calls


def _streamed_tool_calls(chunks: Sequence[Any]) -> list[ToolCall]:
    """Join the tool-call deltas of a Chat Completions stream (first choice), by their index."""
    slots: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        for choice in field(chunk, "choices") or []:
            if (field(choice, "index") or 0) != 0:
                continue
            for part in field(field(choice, "delta"), "tool_calls") or []:
                slot = slots.setdefault(field(part, "index") or 0, {"id": "", "name": "", "arguments": ""})
                slot["id"] = field(part, "id") or slot["id"]
                function = field(part, "function")
                slot["name"] += field(function, "name") or ""
                slot["arguments"] += field(function, "arguments") or ""
    # A stream cut off mid-arguments leaves malformed JSON: that call is answered as an error.
    return [ToolCall(s["id"], s["name"], s["arguments"]) for _, s in sorted(slots.items())]


def _function_calls_of(response: Any) -> list[ToolCall]:
    if isinstance(response, list | tuple):
        items = _streamed_output(response)
    else:
        if field(response, "type") == "response.completed":
            response = field(response, "response")
        _require_shape(response, ("output",), "a Response or its response.completed event")
        items = field(response, "output") or []
    return [
        ToolCall(str(field(item, "call_id")), str(field(item, "name")), field(item, "arguments"))
        for item in items
        if field(item, "type") == "function_call"
    ]


def _streamed_output(events: Sequence[Any]) -> list[Any]:
    """The output items of a Responses stream: the completed response's, else each finished item."""
    for event in events:
        if field(event, "type") == "response.completed":
            return list(field(field(event, "response"), "output") or [])
    return [
        field(event, "item") if field(event, "type") == "response.output_item.done" else event
        for event in events
        if field(event, "type") in ("response.output_item.done", "function_call")
    ]


def _require_shape(obj: Any, fields: tuple[str, ...], what: str) -> None:
    """Refuse what we cannot read (a stream object, say) rather than answer no calls at all."""
    if isinstance(obj, Mapping) or any(hasattr(obj, name) for name in fields):
        return
    raise ThothConfigError(
        f"thoth: cannot read tool calls from a {type(obj).__name__}: pass {what}, or for a stream "
        "the list of its chunks/events (or the stream's final completion/response)"
    )


def _tool_message(answer: ToolAnswer) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": answer.call_id, "content": answer.content}


def _call_output(answer: ToolAnswer) -> dict[str, Any]:
    return {"type": "function_call_output", "call_id": answer.call_id, "output": answer.content}
