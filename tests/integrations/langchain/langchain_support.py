"""Test support for the LangChain integration: a scripted chat model, events, step-up approval."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage

from thoth.emitter import HttpEmitter

REFUSAL_MARK = "[Thoth policy]"


class ScriptedChatModel(FakeMessagesListChatModel):
    """Answers with the scripted messages in order and records every prompt it was sent."""

    prompts: list[list[BaseMessage]] = []

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedChatModel:
        return self

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
        self.prompts.append(list(messages))
        return super()._generate(messages, *args, **kwargs)


def scripted(*turns: AIMessage) -> ScriptedChatModel:
    return ScriptedChatModel(responses=list(turns), prompts=[])


def calls(*specs: tuple[str, dict[str, Any], str]) -> AIMessage:
    """One model turn asking for these tool calls (name, args, call id), in parallel."""
    return AIMessage(
        "", tool_calls=[{"name": n, "args": a, "id": i, "type": "tool_call"} for n, a, i in specs]
    )


def tool_messages_seen(model: ScriptedChatModel) -> dict[str, ToolMessage]:
    """The tool messages the model read in its last prompt, by call id."""
    return {m.tool_call_id: m for m in model.prompts[-1] if isinstance(m, ToolMessage)}


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
