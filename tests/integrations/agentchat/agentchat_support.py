"""Offline drivers for the autogen-agentchat tests: scripted model turns for
``ReplayChatCompletionClient``, tools that record whether their body ran, and what the model read."""

from __future__ import annotations

import json
from typing import Any

from autogen_agentchat.agents import AssistantAgent
from autogen_core import FunctionCall
from autogen_core.models import CreateResult, FunctionExecutionResultMessage, RequestUsage
from autogen_ext.models.replay import ReplayChatCompletionClient

MODEL_INFO = {
    "vision": False,
    "function_calling": True,
    "json_output": False,
    "family": "unknown",
    "structured_output": False,
}


LOADED_RAN: list[str] = []  # what a tool loaded from a config ran (it cannot close over a test's list)


class Tools:
    def __init__(self) -> None:
        self.ran: list[tuple[str, dict[str, Any]]] = []

    def functions(self) -> list[Any]:
        def search_docs(query: str) -> str:
            """Search the knowledge base."""
            self.ran.append(("search_docs", {"query": query}))
            return f"3 documents about {query}"

        async def send_email(to: str, body: str) -> str:
            """Send an email."""
            self.ran.append(("send_email", {"to": to, "body": body}))
            return f"sent to {to}"

        return [search_docs, send_email]


def calls(*specs: tuple[str, dict[str, Any], str]) -> CreateResult:
    return CreateResult(
        finish_reason="function_calls",
        content=[FunctionCall(id=cid, name=name, arguments=json.dumps(args)) for name, args, cid in specs],
        usage=RequestUsage(prompt_tokens=0, completion_tokens=0),
        cached=False,
    )


def model(*steps: Any) -> ReplayChatCompletionClient:
    return ReplayChatCompletionClient(list(steps), model_info=MODEL_INFO)  # type: ignore[arg-type]


async def results_seen(agent: AssistantAgent) -> dict[str, Any]:
    """call id -> the FunctionExecutionResult in the model's context (what the model reads next)."""
    seen: dict[str, Any] = {}
    for message in await agent.model_context.get_messages():
        if isinstance(message, FunctionExecutionResultMessage):
            seen.update({r.call_id: r for r in message.content})
    return seen
