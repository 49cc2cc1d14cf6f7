"""Test support for the OpenAI integration: a scripted model behind httpx2.MockTransport (the hosted
API is the one thing that cannot run here), events, step-up approval."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx
import httpx2

from thoth.emitter import HttpEmitter

REFUSAL_MARK = "[Thoth policy]"


class ScriptedModel:
    """Plays the hosted API: answers each request with the next scripted body, records requests."""

    def __init__(self, *bodies: dict[str, Any]) -> None:
        self._bodies = list(bodies)
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        with self._lock:
            self.requests.append(json.loads(request.content))
            return httpx2.Response(200, json=self._bodies.pop(0))

    def sync_client(self) -> httpx2.Client:
        return httpx2.Client(transport=httpx2.MockTransport(self))

    def async_client(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(transport=httpx2.MockTransport(self))


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


def governed_options(
    server: Any, agent_id: str, scope: list[str], enforcement: str, **extra: Any
) -> dict[str, Any]:
    return dict(
        agent_id=agent_id,
        approved_scope=scope,
        tenant_id=server.tenant_id,
        api_url=server.url,
        api_key=server.api_key,
        enforcement=enforcement,
        step_up_poll_interval_seconds=0.05,
        **extra,
    )


def stored_events(server: Any, agent_id: str) -> list[dict[str, Any]]:
    """Every event the server stored for ``agent_id``, in order, once this process's queue for it is sent."""
    # Flush only this server's endpoint: other tests' servers may be gone, with events still queued.
    assert HttpEmitter(server.url, server.api_key).flush(10.0), "events were not delivered"
    response = httpx.get(
        f"{server.url}/v1/events",
        params={"agent_id": agent_id, "limit": 500},
        headers={"Authorization": f"Bearer {server.admin_key}"},
        timeout=10.0,
    )
    response.raise_for_status()
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def events(server: Any, agent_id: str) -> list[tuple[str, str, str | None]]:
    """(event_type, tool_name, call_id) of every event the server stored for ``agent_id``, in order."""
    return [
        (e["event_type"], e.get("tool_name"), (e.get("metadata") or {}).get("call_id"))
        for e in stored_events(server, agent_id)
    ]


class Approver:
    """Approves step-up holds from another thread while the agent loop waits on them."""

    def __init__(self, server: Any, expected: int = 1, timeout: float = 30.0) -> None:
        self._server = server
        self._expected = expected
        self._deadline = time.monotonic() + timeout
        self.approved: list[dict[str, Any]] = []
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Approver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._deadline = 0.0
        self._thread.join(5.0)

    def _run(self) -> None:
        while len(self.approved) < self._expected and time.monotonic() < self._deadline:
            for hold in self._server.holds():
                if hold.get("status", "pending") == "pending" and hold not in self.approved:
                    self._server.approve(hold["hold_token"])
                    self.approved.append(hold)
            time.sleep(0.02)
