"""Test support for the Anthropic suite: Messages API bodies for the scripted hosted model
(``tests.integrations._hosted_model``); the shared server helpers are in ``tests.integrations._shared``."""

from __future__ import annotations

from typing import Any


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
        "id": "msg_test",
        "type": "message",
        "role": "assistant",
        "model": "claude-opus-4-6",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }
