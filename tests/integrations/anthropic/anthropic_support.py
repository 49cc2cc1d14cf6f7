"""Test support for the Anthropic suite: Messages API bodies for the scripted hosted model
(``tests.integrations._hosted_model``); the shared server helpers are in ``tests.integrations._shared``."""

from __future__ import annotations

import itertools
import json
from typing import Any

import httpx2

from tests.integrations._hosted_model import ScriptedModel

_IDS = itertools.count(1)  # each Message its own id, as the API gives (Thoth counts one id's usage once)


def tool_uses(*specs: tuple[str, dict[str, Any], str]) -> dict[str, Any]:
    """A Message asking for these tools (name, input, tool_use id)."""
    content = [{"type": "text", "text": "Let me check."}] + [
        {"type": "tool_use", "id": block_id, "name": name, "input": args} for name, args, block_id in specs
    ]
    return _message(content, "tool_use")


def text(reply: str) -> dict[str, Any]:
    return _message([{"type": "text", "text": reply}], "end_turn")


def _message(content: list[dict[str, Any]], stop_reason: str) -> dict[str, Any]:
    return {
        "id": f"msg_{next(_IDS):03d}",
        "type": "message",
        "role": "assistant",
        "model": "claude-opus-4-6",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }


def stream_events(message: dict[str, Any], cut: bool = False) -> list[dict[str, Any]]:
    """The raw stream events of ``message`` (each tool_use input in two input_json_delta parts);
    ``cut`` ends the stream inside the last tool_use block."""
    start = {**message, "content": [], "stop_reason": None}
    events: list[dict[str, Any]] = [{"type": "message_start", "message": start}]
    for index, block in enumerate(message["content"]):
        if block["type"] == "text":
            events.append({"type": "content_block_start", "index": index, "content_block": block})
        else:
            events.append(
                {"type": "content_block_start", "index": index, "content_block": {**block, "input": {}}}
            )
            raw = json.dumps(block["input"])
            for part in (raw[: len(raw) // 2], raw[len(raw) // 2 :]):
                delta = {"type": "input_json_delta", "partial_json": part}
                events.append({"type": "content_block_delta", "index": index, "delta": delta})
                if cut and index == len(message["content"]) - 1:
                    return events
        events.append({"type": "content_block_stop", "index": index})
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
            "usage": {"output_tokens": 1},
        }
    )
    events.append({"type": "message_stop"})
    return events


class StreamingModel(ScriptedModel):
    """A ScriptedModel that also plays streams: a scripted list is sent as server-sent events."""

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        with self._lock:
            self.requests.append(json.loads(request.content))
            body: Any = self._bodies.pop(0)
        if not isinstance(body, list):
            return httpx2.Response(200, json=body)
        text = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in body)
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=text.encode())
