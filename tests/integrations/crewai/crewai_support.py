"""Test support for the CrewAI suite: a scripted LLM and its turns; the shared server helpers are in
``tests.integrations._shared``."""

from __future__ import annotations

import os

os.environ.setdefault("CREWAI_DISABLE_TELEMETRY", "true")
os.environ.setdefault("OTEL_SDK_DISABLED", "true")

import json
from typing import Any

from crewai.events.types.llm_events import LLMCallType
from crewai.llms.base_llm import BaseLLM, llm_call_context
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


class UsageLLM(ScriptedLLM):
    """A ScriptedLLM that reports each call as CrewAI's native providers do: inside CrewAI's call scope,
    the started event, the usage tracked on the LLM, then the completed event with the provider's usage
    dict (one of ``usages`` per call, in the shapes below) and a response id."""

    usages: list[dict[str, Any]] = []

    def call(
        self,
        messages: Any,
        tools: Any = None,
        callbacks: Any = None,
        available_functions: Any = None,
        from_task: Any = None,
        from_agent: Any = None,
        response_model: Any = None,
    ) -> Any:
        with llm_call_context():
            self._emit_call_started_event(
                messages=messages, tools=tools, from_task=from_task, from_agent=from_agent
            )
            response = super().call(messages)
            usage = self.usages.pop(0)
            self._track_token_usage_internal(usage)
            self._emit_call_completed_event(
                response=response,
                call_type=LLMCallType.TOOL_CALL if isinstance(response, list) else LLMCallType.LLM_CALL,
                from_task=from_task,
                from_agent=from_agent,
                messages=messages,
                usage=usage,
                finish_reason="tool_calls" if isinstance(response, list) else "stop",
                response_id=f"chatcmpl-{len(self.prompts)}",
            )
            return response


def openai_usage(prompt: int, completion: int, cached: int = 0) -> dict[str, Any]:
    """CrewAI's OpenAI provider's usage dict for a ChatCompletion (``_extract_openai_token_usage``)."""
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "cached_prompt_tokens": cached,
    }


def anthropic_usage(inputs: int, outputs: int, cache_read: int, cache_write: int) -> dict[str, Any]:
    """CrewAI's Anthropic provider's usage dict (``_extract_anthropic_token_usage``): the cache
    counts are folded into ``input_tokens`` and repeated under CrewAI's own names."""
    billed = inputs + cache_read + cache_write
    return {
        "input_tokens": billed,
        "output_tokens": outputs,
        "total_tokens": billed + outputs,
        "cached_prompt_tokens": cache_read,
        "cache_creation_tokens": cache_write,
    }


NO_USAGE: dict[str, Any] = {"total_tokens": 0}  # what CrewAI's providers report for a response without usage


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
