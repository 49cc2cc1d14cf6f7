"""A scripted LangChain chat model, shared by the LangChain and LangGraph suites (both drive
langchain_core models): it plays the hosted LLM and records every prompt it was sent."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage


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
