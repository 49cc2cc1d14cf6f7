"""Test support for the pydantic-ai suite: a scripted ``FunctionModel`` and an agent with two tools
(the shared server helpers are in ``tests.integrations._shared``)."""

from __future__ import annotations

from typing import Any

from pydantic_ai import Agent
from pydantic_ai.messages import ModelMessage, ModelRequest, ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

Ran = list[tuple[str, dict[str, Any]]]


class ScriptedModel:
    """Plays the model: each turn answers the next scripted parts; records every tool result it reads."""

    def __init__(self, *turns: list[ToolCallPart] | str) -> None:
        self.turns = list(turns)
        self.read: dict[str, tuple[str, str]] = {}  # call id -> (outcome, content)

    def __call__(self, messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        for message in messages:
            if isinstance(message, ModelRequest):
                for part in message.parts:
                    call_id = getattr(part, "tool_call_id", None)
                    if call_id and part.part_kind in ("tool-return", "retry-prompt"):
                        outcome = getattr(part, "outcome", None) or part.part_kind
                        self.read[call_id] = (outcome, str(part.content))
        turn = self.turns.pop(0) if self.turns else "done"
        return ModelResponse(parts=[TextPart(turn)] if isinstance(turn, str) else list(turn))

    def model(self) -> FunctionModel:
        return FunctionModel(self)


def call(name: str, args: dict[str, Any], call_id: str) -> ToolCallPart:
    return ToolCallPart(tool_name=name, args=args, tool_call_id=call_id)


def build_agent(script: ScriptedModel | Any, ran: Ran, **options: Any) -> Agent[None, str]:
    """An agent with ``search_docs`` and ``send_email``; ``script`` is a ScriptedModel or any model."""
    model = script.model() if isinstance(script, ScriptedModel) else script
    agent: Agent[None, str] = Agent(model, **options)

    @agent.tool_plain
    def search_docs(query: str) -> str:
        """Search the knowledge base."""
        ran.append(("search_docs", {"query": query}))
        return f"3 documents about {query}"

    @agent.tool_plain
    async def send_email(to: str, body: str) -> str:
        """Send an email."""
        ran.append(("send_email", {"to": to, "body": body}))
        return f"sent to {to}"

    return agent
