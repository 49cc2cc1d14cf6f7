"""Test support for the OpenAI suite: Chat Completions and Responses API bodies for the scripted
hosted model (``tests.integrations._hosted_model``); the shared server helpers are in
``tests.integrations._shared``."""

from __future__ import annotations

import json
from typing import Any


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
        "id": "chatcmpl-test",
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
        "id": "resp_test",
        "object": "response",
        "created_at": 0,
        "model": "gpt-4o",
        "status": "completed",
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
    }
