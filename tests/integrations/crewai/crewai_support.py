"""Test support for the CrewAI integration: a scripted LLM, events, step-up approval."""

from __future__ import annotations

import os

os.environ.setdefault("CREWAI_DISABLE_TELEMETRY", "true")
os.environ.setdefault("OTEL_SDK_DISABLED", "true")

import json
import threading
import time
from typing import Any

import httpx
from crewai.llms.base_llm import BaseLLM

from thoth.emitter import HttpEmitter

REFUSAL_MARK = "[Thoth policy]"


class ScriptedLLM(BaseLLM):
    """Answers with scripted turns and records every prompt. A turn is ReAct text, or a list of
    OpenAI-style tool calls when ``native`` (CrewAI's native function calling)."""

    native: bool = True
    script: list[Any] = []
    prompts: list[Any] = []

    def call(self, messages: Any, *args: Any, **kwargs: Any) -> Any:
        self.prompts.append(messages if isinstance(messages, str) else [dict(m) for m in messages])
        return self.script.pop(0)

    async def acall(self, messages: Any, *args: Any, **kwargs: Any) -> Any:
        return self.call(messages, *args, **kwargs)

    def supports_function_calling(self) -> bool:
        return self.native

    def get_context_window_size(self) -> int:
        return 8192


def native_calls(*specs: tuple[str, dict[str, Any], str]) -> list[dict[str, Any]]:
    return [
        {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
        for name, args, call_id in specs
    ]


def react_call(name: str, args: dict[str, Any]) -> str:
    return f"Thought: I should use {name}\nAction: {name}\nAction Input: {json.dumps(args)}"


def react_final(text: str) -> str:
    return f"Thought: I now know the final answer\nFinal Answer: {text}"


def last_prompt_text(llm: ScriptedLLM) -> str:
    return json.dumps(llm.prompts[-1])


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
