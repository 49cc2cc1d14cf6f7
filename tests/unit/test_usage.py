"""Token usage read from the vendors' real response shapes (thoth._usage): objects and dicts,
streams, and everything missing or malformed giving ``None`` (nothing recorded), never a crash."""

from __future__ import annotations

import uuid
from types import SimpleNamespace as NS
from typing import Any

import pytest

import thoth
from thoth._usage import RecentIds, Usage, langchain_usage, usage_of, usage_of_fields
from thoth.integrations._tool_loop import record_usage

CHAT_COMPLETION: dict[str, Any] = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "model": "gpt-4o-2024-08-06",
    "choices": [],
    "usage": {
        "prompt_tokens": 120,
        "completion_tokens": 30,
        "total_tokens": 150,
        "prompt_tokens_details": {"cached_tokens": 100},
    },
}
RESPONSE: dict[str, Any] = {
    "id": "resp_1",
    "object": "response",
    "model": "gpt-4o",
    "output": [],
    "usage": {
        "input_tokens": 80,
        "output_tokens": 12,
        "total_tokens": 92,
        "output_tokens_details": {"reasoning_tokens": 0},
    },
}
ANTHROPIC_MESSAGE: dict[str, Any] = {
    "id": "msg_1",
    "type": "message",
    "model": "claude-sonnet-4-5",
    "content": [],
    "usage": {
        "input_tokens": 50,
        "output_tokens": 20,
        "cache_creation_input_tokens": 7,
        "cache_read_input_tokens": 3,
    },
}


def test_openai_chat_completion_dict() -> None:
    assert usage_of(CHAT_COMPLETION) == Usage("gpt-4o-2024-08-06", 120, 30, 150)


def test_openai_responses_dict_and_completed_event() -> None:
    expected = Usage("gpt-4o", 80, 12, 92)
    assert usage_of(RESPONSE) == expected
    assert usage_of({"type": "response.completed", "response": RESPONSE}) == expected


def test_anthropic_message_counts_cache_tokens_as_input() -> None:
    assert usage_of(ANTHROPIC_MESSAGE) == Usage("claude-sonnet-4-5", 60, 20, 80)


def test_sdk_objects_read_like_dicts() -> None:
    message = NS(
        model="claude-haiku", usage=NS(input_tokens=5, output_tokens=6, cache_read_input_tokens=None)
    )
    assert usage_of(message, latency_ms=12.5) == Usage("claude-haiku", 5, 6, 11, 12.5)


def test_openai_chat_stream_last_chunk_carries_usage() -> None:
    chunks = [
        {"object": "chat.completion.chunk", "model": "gpt-4o", "choices": [{"delta": {}}], "usage": None},
        {
            "object": "chat.completion.chunk",
            "model": "gpt-4o",
            "choices": [],
            "usage": CHAT_COMPLETION["usage"],
        },
    ]
    assert usage_of(chunks) == Usage("gpt-4o", 120, 30, 150)


def test_anthropic_stream_joins_message_start_and_delta() -> None:
    events = [
        {
            "type": "message_start",
            "message": {**ANTHROPIC_MESSAGE, "usage": {"input_tokens": 40, "output_tokens": 1}},
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 25}},
        {"type": "message_stop"},
    ]
    assert usage_of(events) == Usage("claude-sonnet-4-5", 40, 25, 65)


@pytest.mark.parametrize(
    "response",
    [
        None,
        {},
        {"usage": None},
        {"usage": {}},
        {"usage": {"prompt_tokens": "12", "completion_tokens": None}},
        {"usage": {"input_tokens": -3, "output_tokens": True}},
        {"usage": "100 tokens"},
        NS(choices=[]),
        [],
        "a string",
        42,
    ],
)
def test_no_usage_is_none(response: Any) -> None:
    assert usage_of(response) is None


def test_partial_usage_counts_what_is_there() -> None:
    # an Anthropic message_delta alone (its message_start not passed): its output count is real
    assert usage_of([{"type": "message_delta", "usage": {"output_tokens": 5}}]) == Usage(None, 0, 5, 5)
    assert usage_of_fields({"completion_tokens": 9}) == Usage(None, 0, 9, 9)
    # a total below its parts is not trusted
    assert usage_of_fields({"input_tokens": 10, "output_tokens": 5, "total_tokens": 3}) == Usage(
        None, 10, 5, 15
    )


def test_langchain_ai_message_usage_metadata() -> None:
    message = NS(
        usage_metadata={"input_tokens": 11, "output_tokens": 4, "total_tokens": 15},
        response_metadata={"model_name": "gpt-4o-mini"},
    )
    assert langchain_usage(message) == Usage("gpt-4o-mini", 11, 4, 15)


def test_langchain_llm_result_sums_generations() -> None:
    def generation(inputs: int, outputs: int) -> NS:
        usage = {"input_tokens": inputs, "output_tokens": outputs, "total_tokens": inputs + outputs}
        return NS(message=NS(usage_metadata=usage, response_metadata={}))

    result = NS(generations=[[generation(10, 2)], [generation(5, 1)]], llm_output=None)
    assert langchain_usage(result, latency_ms=3.0) == Usage(None, 15, 3, 18, 3.0)


def test_langchain_llm_output_token_usage_fallback() -> None:
    result = NS(
        generations=[[NS(text="hi")]],
        llm_output={
            "token_usage": {"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9},
            "model_name": "m",
        },
    )
    assert langchain_usage(result) == Usage("m", 7, 2, 9)


@pytest.mark.parametrize(
    "result",
    [
        None,
        NS(generations=None, llm_output=None),
        NS(generations=[[NS(text="x")]], llm_output={"x": 1}),
        "text",
    ],
)
def test_langchain_without_usage_is_none(result: Any) -> None:
    assert langchain_usage(result) is None


def test_metadata_is_counts_and_model_only() -> None:
    assert Usage("gpt-4o", 1, 2, 3, 4.5).metadata() == {
        "model": "gpt-4o",
        "input_tokens": 1,
        "output_tokens": 2,
        "total_tokens": 3,
        "latency_ms": 4.5,
    }


def test_tracer_records_an_llm_invocation_and_the_session_spend(thoth_server: Any) -> None:
    """End to end: the event the server stores (counts only, LLM source) and ``token_spend``."""
    session_id = f"tok-{uuid.uuid4().hex[:10]}"
    tracer = thoth.create_tracer(
        agent_id="usage-agent",
        approved_scope=[],
        tenant_id=thoth_server.tenant_id,
        api_url=thoth_server.url,
        api_key=thoth_server.api_key,
        session_id=session_id,
    )
    tracer.record_llm_invocation(usage_of(ANTHROPIC_MESSAGE, latency_ms=8.0))
    tracer.record_llm_invocation(usage_of({"usage": None}))  # no usage: nothing recorded
    tracer.record_llm_invocation(usage_of(CHAT_COMPLETION))
    assert tracer.session.token_spend == 80 + 150
    assert thoth.flush(timeout=10.0, api_url=thoth_server.url)  # only this server's queue

    stored = thoth_server.events(session_id)
    assert [(e["event_type"], e["source_type"], e["content"]) for e in stored] == [
        ("LLM_INVOCATION", "agent_llm_invocation", ""),
    ] * 2
    [claude] = [e["metadata"] for e in stored if e["metadata"]["model"] == "claude-sonnet-4-5"]
    assert {k: claude[k] for k in Usage(None, 0, 0, 0).metadata()} == {
        "model": "claude-sonnet-4-5",
        "input_tokens": 60,
        "output_tokens": 20,
        "total_tokens": 80,
        "latency_ms": 8.0,
    }


def _response_id(response: Any) -> str | None:
    usage = usage_of(response)
    assert usage is not None
    return usage.response_id


def test_usage_names_its_response_but_compares_by_counts() -> None:
    assert _response_id(CHAT_COMPLETION) == "chatcmpl-1"
    assert _response_id({"type": "response.completed", "response": RESPONSE}) == "resp_1"
    stream = [
        {"type": "message_start", "message": ANTHROPIC_MESSAGE},
        {"type": "message_delta", "usage": {"output_tokens": 25}},
    ]
    assert _response_id(stream) == "msg_1"
    assert _response_id({**CHAT_COMPLETION, "id": 7}) is None  # not a vendor id
    assert Usage("m", 1, 2, 3, response_id="a") == Usage("m", 1, 2, 3, response_id="b")


def test_cache_tokens_add_only_to_anthropics_input_count() -> None:
    # LiteLLM (as CrewAI passes it on) reports Anthropic usage OpenAI-style: prompt_tokens already
    # holds the cache tokens it repeats under Anthropic's names
    litellm = {
        "prompt_tokens": 60,
        "completion_tokens": 20,
        "total_tokens": 80,
        "cache_read_input_tokens": 3,
        "cache_creation_input_tokens": 7,
    }
    assert usage_of_fields(litellm) == Usage(None, 60, 20, 80)
    assert usage_of_fields({"cache_read_input_tokens": 3}) is None  # no input or output count


def test_gemini_counts_as_crewai_passes_them_on() -> None:
    gemini = {
        "prompt_token_count": 100,
        "candidates_token_count": 20,
        "completion_tokens": 25,  # candidates + thinking
        "total_token_count": 125,
        "total_tokens": 125,
    }
    assert usage_of_fields(gemini, "gemini-2.5-flash") == Usage("gemini-2.5-flash", 100, 25, 125)
    assert usage_of_fields({"prompt_token_count": 4, "candidates_token_count": 2}) == Usage(None, 4, 2, 6)


def test_recent_ids_remember_a_bounded_number() -> None:
    seen = RecentIds(limit=3)
    assert [seen.first_time(i) for i in ("a", "b", "a", "c", "d")] == [True, True, False, True, True]
    assert seen.first_time("d") is False
    assert seen.first_time("a") is True  # the oldest was forgotten when "d" came: memory stays bounded
    assert seen.first_time(None) and seen.first_time(None)  # no id: nothing to go by, always counted


def test_the_same_response_recorded_twice_counts_once(thoth_server: Any) -> None:
    """A loop and a helper both passing one response on (``record_usage`` twice, or the same id in
    another object) add its tokens once; another response with other counts still adds."""
    session_id = f"tok-{uuid.uuid4().hex[:10]}"
    tracer = thoth.create_tracer(
        agent_id="usage-agent",
        approved_scope=[],
        tenant_id=thoth_server.tenant_id,
        api_url=thoth_server.url,
        api_key=thoth_server.api_key,
        session_id=session_id,
    )
    message = NS(id="msg_9", model="claude-haiku", usage=NS(input_tokens=5, output_tokens=6))
    record_usage(message, {}, tracer)
    record_usage(message, {}, tracer)
    record_usage(
        {"id": "msg_9", "model": "claude-haiku", "usage": {"input_tokens": 5, "output_tokens": 6}}, {}, tracer
    )
    record_usage(CHAT_COMPLETION, {}, tracer)
    tracer.record_llm_invocation(Usage(None, 1, 1, 2))  # no id: counted every time
    tracer.record_llm_invocation(Usage(None, 1, 1, 2))
    assert tracer.session.token_spend == 11 + 150 + 2 + 2
    assert thoth.flush(timeout=10.0, api_url=thoth_server.url)
    assert len([e for e in thoth_server.events(session_id) if e["event_type"] == "LLM_INVOCATION"]) == 4
