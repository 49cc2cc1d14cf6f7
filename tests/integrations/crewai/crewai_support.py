"""Test support for the CrewAI suite: a scripted LLM and its turns; the shared server helpers are in
``tests.integrations._shared``."""

from __future__ import annotations

import os

os.environ.setdefault("CREWAI_DISABLE_TELEMETRY", "true")
os.environ.setdefault("OTEL_SDK_DISABLED", "true")

import json
from typing import Any

from crewai.llms.base_llm import BaseLLM
from crewai.tools import tool


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


class CallThenAnswerLLM(ScriptedLLM):
    """Native function calling that answers from the conversation, not a shared queue: ``calls`` while no
    tool result is in it, then ``answer``. Copies and concurrent runs (kickoff_for_each) each get both."""

    calls: list[Any] = []
    answer: str = "done"

    def call(self, messages: Any, *args: Any, **kwargs: Any) -> Any:
        self.prompts.append(messages if isinstance(messages, str) else [dict(m) for m in messages])
        answered = not isinstance(messages, str) and any(m.get("role") == "tool" for m in messages)
        return self.answer if answered else self.calls


class Tools:
    """web_search is in scope, delete_record is not; bodies record their runs."""

    def __init__(self) -> None:
        self.ran: list[str] = []

        @tool("web_search")
        def web_search(query: str) -> str:
            """Search the web."""
            self.ran.append(f"search:{query}")
            return f"3 results for {query}"

        @tool("delete_record")
        def delete_record(record_id: str) -> str:
            """Delete a customer record."""
            self.ran.append(f"delete:{record_id}")
            return "deleted"

        self.web_search = web_search
        self.delete_record = delete_record
        self.all = [web_search, delete_record]
