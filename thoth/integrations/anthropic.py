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

What is governed is the dispatcher, not your functions. The paths:

* ``tool_results`` / ``tool_result_message`` (and ``a*``): a ``Message`` (``create``
  or ``stream.get_final_message()``), its ``content`` list, or the list of raw
  stream events of ``stream=True`` (their ``input_json_delta`` parts are joined
  here; a ``tool_use`` block the stream never finished is answered as an error). A
  stream object itself is refused (``ThothConfigError``): pass its events or its
  final message.
* A tool added to the dict after ``instrument`` is a plain function: the helpers
  refuse it (``ThothConfigError``), never run it; pass ``tracer=`` to govern it.
  Calling it yourself, like the original function you still hold, is your own
  code, not a governed call. One function in two agents' dicts is decided under
  the dict that answers the call; ``tracer=`` wins over the callable's own.
* Token spend: the helpers record the ``usage`` of the Message (or stream events) they
  are given, cache tokens counted as input; record the final turn with :func:`record_usage`.
* The beta ``tool_runner`` (sync, async, ``stream=True``, ``run_tools_eagerly``,
  ``add_tools``) and the sessions tool runner run ``tool.call(input)``:
  ``thoth.instrument(tool_or_list, ...)`` (or :func:`govern_tool`) governs a
  ``beta_tool`` / ``beta_async_tool`` object **in place**, so the very object you
  hold, and pass to any runner, is governed (``tool(...)`` too). A refusal raises
  anthropic's ``ToolError`` with the refusal text, which the runner sends as a
  ``tool_result`` with ``is_error: true``; its ``__cause__`` is the
  ``ThothPolicyViolation``. The runner catches every exception a tool raises, so
  a refusal never ends the run, whatever ``on_block`` says. A tool object carries
  one tracer: governing it again with another tracer raises ``ThothConfigError``
  (make one ``beta_tool(fn)`` per agent). Toolsets and built-in tools (memory)
  cannot be governed here and are refused. Govern a tool before ``add_tools``: an
  ungoverned tool object is yours, and runs as such.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from thoth._governed import instrumented_by, mark_instrumented
from thoth.errors import ThothConfigError
from thoth.integrations._govern import as_args
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
    from thoth._governed import GovernedCall
    from thoth.tracer import Tracer

__all__ = [
    "atool_result_message",
    "atool_results",
    "govern_tool",
    "instrument",
    "record_usage",
    "tool_result_message",
    "tool_results",
    "tool_uses_of",
]


def instrument(obj: Any, tracer: Tracer) -> Any:
    """Govern in place and return ``obj``: a dict of tool functions (each then takes one arguments
    dict), a ``beta_tool`` object, or a list of them."""
    if isinstance(obj, list | tuple) and obj:
        for tool in obj:  # check every tool before changing any
            _check_beta_tool(tool, tracer)
        for tool in obj:
            govern_tool(tool, tracer)
        return obj
    if _is_beta_tool(obj):
        return govern_tool(obj, tracer)
    return govern_tool_dict(obj, tracer, "Anthropic", "thoth.integrations.anthropic.tool_results")


def govern_tool(tool: Any, tracer: Tracer, name: str | None = None) -> Any:
    """Govern a ``beta_tool`` / ``beta_async_tool`` object in place (its ``call`` and its function)."""
    if _check_beta_tool(tool, tracer):
        return tool  # already governed by this tracer
    from anthropic.lib.tools import BetaAsyncFunctionTool

    name = name or tool.name
    sdk_call = type(tool).call  # the SDK's own: validates the input, then runs the original function

    if isinstance(tool, BetaAsyncFunctionTool):

        async def governed_acall(input: object) -> Any:
            governed = await tracer.agovern(name, _tool_input(name, input))
            if governed.refused:
                raise _tool_error(governed)
            return await governed.arun(sdk_call, tool, governed.args)

        tool.call = governed_acall
    else:

        def governed_call(input: object) -> Any:
            governed = tracer.govern(name, _tool_input(name, input))
            if governed.refused:
                raise _tool_error(governed)
            return governed.run(sdk_call, tool, governed.args)

        tool.call = governed_call
    tool.func = tracer.wrap_tool(name, tool.func)  # ``tool(...)`` calls ``func`` directly
    mark_instrumented(tool, tracer)
    return tool


def _is_beta_tool(obj: Any) -> bool:
    if not type(obj).__module__.startswith("anthropic."):
        return False  # never import anthropic for someone else's object
    from anthropic.lib.tools import BetaAsyncFunctionTool, BetaFunctionTool

    return isinstance(obj, BetaFunctionTool | BetaAsyncFunctionTool)


def _check_beta_tool(tool: Any, tracer: Tracer) -> bool:
    """True when ``tool`` is already governed by ``tracer``; raises when it cannot be governed by it."""
    if not _is_beta_tool(tool):
        raise ThothConfigError(
            f"thoth: cannot govern a {type(tool).__name__} for Anthropic: pass beta_tool / beta_async_tool "
            "objects or a dict of tool functions (toolsets and built-in tools are not governed)"
        )
    current = instrumented_by(tool)
    if current is None or current is tracer:
        return current is tracer
    raise ThothConfigError(
        f"thoth: tool {tool.name!r} is already governed by agent {current.config.agent_id!r}: a beta_tool "
        "object is governed in place and carries one tracer; make one beta_tool(fn) per agent"
    )


def _tool_input(name: str, raw: object) -> dict[str, Any]:
    if not isinstance(raw, Mapping):  # what the SDK itself refuses, refused before the policy check
        raise TypeError(f"the input of tool {name!r} must be a dict, got {type(raw).__name__}")
    return as_args(raw)


def _tool_error(governed: GovernedCall) -> Exception:
    from anthropic.lib.tools import ToolError

    error: Exception = ToolError(governed.refusal_text())  # the runner answers it with is_error: true
    error.__cause__ = governed.violation
    return error


def tool_results(
    response: Any,
    tools: Mapping[str, Callable[..., Any]],
    tracer: Tracer | None = None,
    *,
    on_block: OnBlock = "return",
) -> list[dict[str, Any]]:
    """One ``tool_result`` block per ``tool_use`` block of ``response`` (a Message or its content)."""
    record_usage(response, tools, tracer)
    return [_tool_result(a) for a in answer_calls(tool_uses_of(response), tools, tracer, on_block)]


async def atool_results(
    response: Any,
    tools: Mapping[str, Callable[..., Any]],
    tracer: Tracer | None = None,
    *,
    on_block: OnBlock = "return",
) -> list[dict[str, Any]]:
    """Async :func:`tool_results`: the turn's calls run concurrently."""
    record_usage(response, tools, tracer)
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
    """The ``tool_use`` blocks of a Message, of its ``content`` list, or of a list of raw stream
    events (as objects or dicts)."""
    if isinstance(response, list | tuple) and any(field(e, "type") in _STREAM_EVENTS for e in response):
        return _streamed_tool_uses(response)
    if isinstance(response, list | tuple):
        content: Sequence[Any] = response
    elif isinstance(response, Mapping) or hasattr(response, "content"):
        content = field(response, "content") or []
    else:
        raise ThothConfigError(
            f"thoth: cannot read tool_use blocks from a {type(response).__name__}: pass the Message "
            "(for a stream, stream.get_final_message()), its content, or the list of raw stream events"
        )
    return [
        ToolCall(str(field(block, "id")), str(field(block, "name")), field(block, "input"))
        for block in content
        if field(block, "type") == "tool_use"
    ]


_STREAM_EVENTS = frozenset(
    {"message_start", "content_block_start", "content_block_delta", "content_block_stop"}
)


def _streamed_tool_uses(events: Sequence[Any]) -> list[ToolCall]:
    """Join the ``input_json_delta`` parts of each streamed ``tool_use`` block, by block index."""
    blocks: dict[int, dict[str, Any]] = {}
    for event in events:
        kind, index = field(event, "type"), field(event, "index")
        if kind == "content_block_start" and field(field(event, "content_block"), "type") == "tool_use":
            block = field(event, "content_block")
            blocks[index] = {"id": str(field(block, "id")), "name": str(field(block, "name")), "json": ""}
        elif kind == "content_block_delta" and index in blocks:
            blocks[index]["json"] += field(field(event, "delta"), "partial_json") or ""
        elif kind == "content_block_stop" and index in blocks:
            blocks[index]["done"] = True
    return [
        # A block with no input deltas has input {} (as the SDK's own accumulator says); one the
        # stream never finished is malformed (None): it is answered as an error, never run.
        ToolCall(b["id"], b["name"], (b["json"] or "{}") if b.get("done") else None)
        for _, b in sorted(blocks.items())
    ]


def _tool_result(answer: ToolAnswer) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": answer.call_id, "content": answer.content}
    if answer.is_error:
        block["is_error"] = True
    return block
