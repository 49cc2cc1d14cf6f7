"""Anthropic tool loops: answer a model's ``tool_use`` blocks through Thoth.

With the Messages API the application owns the loop, so Thoth governs the
dispatch from a ``tool_use`` block to your function::

    governed = thoth.instrument_anthropic({"search_docs": search_docs}, agent_id=..., ...)
    messages.append({"role": "assistant", "content": response.content})
    messages.append(tool_result_message(response, governed))

``tools`` is the dict from ``thoth.instrument_anthropic`` (or plain functions plus
``tracer=``). Each call is authorized with its ``tool_use`` id; a refused call is
answered by a ``tool_result`` with ``is_error: true`` and the refusal text, and its
function never runs; a tool error or an unknown tool is answered the same way.
Every ``tool_use`` gets its ``tool_result``, as the API requires.
``on_block="raise"`` makes a refusal raise ``ThothPolicyViolation`` instead. The
``a*`` variants run one turn's calls concurrently and accept async functions.

For the beta ``tool_runner``, govern each function before decorating it:
``beta_tool(tracer.wrap_tool("name", fn))``.
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
    "atool_result_message",
    "atool_results",
    "instrument",
    "tool_result_message",
    "tool_results",
    "tool_uses_of",
]


def instrument(obj: Any, tracer: Tracer) -> Any:
    """Govern a dict of tool functions in place (each then takes one arguments dict); returns it."""
    return govern_tool_dict(obj, tracer, "Anthropic", "thoth.integrations.anthropic.tool_results")


def tool_results(
    response: Any,
    tools: Mapping[str, Callable[..., Any]],
    tracer: Tracer | None = None,
    *,
    on_block: OnBlock = "return",
) -> list[dict[str, Any]]:
    """One ``tool_result`` block per ``tool_use`` block of ``response`` (a Message or its content)."""
    return [_tool_result(a) for a in answer_calls(tool_uses_of(response), tools, tracer, on_block)]


async def atool_results(
    response: Any,
    tools: Mapping[str, Callable[..., Any]],
    tracer: Tracer | None = None,
    *,
    on_block: OnBlock = "return",
) -> list[dict[str, Any]]:
    """Async :func:`tool_results`: the turn's calls run concurrently."""
    answers = await answer_calls_async(tool_uses_of(response), tools, tracer, on_block)
    return [_tool_result(a) for a in answers]


def tool_result_message(
    response: Any,
    tools: Mapping[str, Callable[..., Any]],
    tracer: Tracer | None = None,
    *,
    on_block: OnBlock = "return",
) -> dict[str, Any]:
    """The ``{"role": "user", "content": [tool_result, ...]}`` message that answers ``response``."""
    return {"role": "user", "content": tool_results(response, tools, tracer, on_block=on_block)}


async def atool_result_message(
    response: Any,
    tools: Mapping[str, Callable[..., Any]],
    tracer: Tracer | None = None,
    *,
    on_block: OnBlock = "return",
) -> dict[str, Any]:
    """Async :func:`tool_result_message`."""
    return {"role": "user", "content": await atool_results(response, tools, tracer, on_block=on_block)}


def tool_uses_of(response: Any) -> list[ToolCall]:
    """The ``tool_use`` blocks of a Message (or of its ``content`` list, as objects or dicts)."""
    content = response if isinstance(response, list) else field(response, "content") or []
    return [
        ToolCall(str(field(block, "id")), str(field(block, "name")), field(block, "input"))
        for block in content
        if field(block, "type") == "tool_use"
    ]


def _tool_result(answer: ToolAnswer) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": answer.call_id, "content": answer.content}
    if answer.is_error:
        block["is_error"] = True
    return block
