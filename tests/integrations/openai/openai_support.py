"""Test support for the OpenAI suite: Chat Completions and Responses API bodies for the scripted
hosted model (``tests.integrations._hosted_model``); the shared server helpers are in
``tests.integrations._shared``."""

from __future__ import annotations

import itertools
import json
from typing import Any

import httpx2

from tests.integrations._hosted_model import ScriptedModel

_IDS = itertools.count(1)  # each body its own id, as the API gives (Thoth counts one id's usage once)


def chat_tool_calls(*specs: tuple[str, dict[str, Any] | str, str]) -> dict[str, Any]:
    """A chat.completion whose message asks for these tool calls (name, arguments, call id)."""
    tool_calls = [
        {
            "id": call_id,
            "type": "function",
            "function": {"name": name, "arguments": args if isinstance(args, str) else json.dumps(args)},
        }
        for name, args, call_id in specs
    ]
    message = {"role": "assistant", "content": None, "tool_calls": tool_calls}
    return _completion(message, "tool_calls")


def chat_text(text: str) -> dict[str, Any]:
    return _completion({"role": "assistant", "content": text}, "stop")


def _completion(message: dict[str, Any], finish_reason: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{next(_IDS)}",
        "object": "chat.completion",
        "created": 0,
        "model": "gpt-4o",
        "choices": [{"index": 0, "finish_reason": finish_reason, "message": message}],
    }


def response_function_calls(*specs: tuple[str, dict[str, Any], str]) -> dict[str, Any]:
    """A Responses API response with these function calls (name, arguments, call id)."""
    output = [
        {
            "type": "function_call",
            "id": f"fc_{call_id}",
            "call_id": call_id,
            "name": name,
            "arguments": json.dumps(args),
            "status": "completed",
        }
        for name, args, call_id in specs
    ]
    return _response(output)


def response_text(text: str) -> dict[str, Any]:
    return _response(
        [
            {
                "type": "message",
                "id": "msg_1",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
        ]
    )


def _response(output: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": f"resp_{next(_IDS)}",
        "object": "response",
        "created_at": 0,
        "model": "gpt-4o",
        "status": "completed",
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
    }


def chat_stream(*specs: tuple[str, str, str], cut: bool = False) -> list[dict[str, Any]]:
    """The chunks of a streamed chat.completion asking for these tool calls (name, JSON arguments,
    call id), the arguments split over two deltas; ``cut`` ends the stream mid-arguments."""
    stream_id = f"chatcmpl-{next(_IDS)}"  # every chunk of one stream carries its completion's id
    chunks = [_chunk({"role": "assistant", "content": None}, stream_id=stream_id)]
    for index, (name, args, call_id) in enumerate(specs):
        half = len(args) // 2
        head = {
            "index": index,
            "id": call_id,
            "type": "function",
            "function": {"name": name, "arguments": ""},
        }
        chunks.append(_chunk({"tool_calls": [head]}, stream_id=stream_id))
        chunks.append(
            _chunk(
                {"tool_calls": [{"index": index, "function": {"arguments": args[:half]}}]},
                stream_id=stream_id,
            )
        )
        if not cut:
            chunks.append(
                _chunk(
                    {"tool_calls": [{"index": index, "function": {"arguments": args[half:]}}]},
                    stream_id=stream_id,
                )
            )
    if not cut:
        chunks.append(_chunk({}, "tool_calls", stream_id=stream_id))
    return chunks


def _chunk(
    delta: dict[str, Any], finish_reason: str | None = None, stream_id: str = "chatcmpl-test"
) -> dict[str, Any]:
    return {
        "id": stream_id,
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "gpt-4o",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


def response_stream(*specs: tuple[str, dict[str, Any], str]) -> list[dict[str, Any]]:
    """The events of a streamed Responses API response with these function calls."""
    final = response_function_calls(*specs)
    events: list[dict[str, Any]] = [{"type": "response.created", "response": {**final, "output": []}}]
    for index, item in enumerate(final["output"]):
        events.append({"type": "response.output_item.added", "output_index": index, "item": item})
        events.append({"type": "response.output_item.done", "output_index": index, "item": item})
    events.append({"type": "response.completed", "response": final})
    return [{**e, "sequence_number": n} for n, e in enumerate(events)]


class StreamingModel(ScriptedModel):
    """A ScriptedModel that also plays streams: a scripted list is sent as server-sent events."""

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        with self._lock:
            self.requests.append(json.loads(request.content))
            body: Any = self._bodies.pop(0)
        if not isinstance(body, list):
            return httpx2.Response(200, json=body)
        text = "".join(
            (f"event: {e['type']}\n" if "." in str(e.get("type", "")) else "") + f"data: {json.dumps(e)}\n\n"
            for e in body
        )
        return httpx2.Response(
            200, headers={"content-type": "text/event-stream"}, content=(text + "data: [DONE]\n\n").encode()
        )
