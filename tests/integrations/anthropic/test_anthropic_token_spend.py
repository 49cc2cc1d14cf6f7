"""Token spend in Anthropic tool-use loops: the real `anthropic` client against the scripted hosted
API (its Messages carry `usage` with cache tokens, as the API sends it) and a real `thoth serve`;
the stored LLM_INVOCATION events and the session's `token_spend` must hold the exact counts."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

pytest.importorskip("anthropic.types")
pytest.importorskip("httpx2")

import anthropic
from anthropic_support import StreamingModel, stream_events, text, tool_uses

from tests.integrations._hosted_model import ScriptedModel
from tests.integrations._shared import make_tracer, stored_events
from thoth.integrations.anthropic import record_usage, tool_result_message

pytestmark = pytest.mark.integration

TOOLS = [
    {
        "name": "search_docs",
        "description": "Search docs",
        "input_schema": {"type": "object", "properties": {"query": {"type": "string"}}},
    }
]
USAGE = {
    "input_tokens": 50,
    "output_tokens": 20,
    "cache_creation_input_tokens": 7,
    "cache_read_input_tokens": 3,
}


def _search(query: str) -> str:
    return f"1 doc about {query}"


def _llm_counts(server: Any, agent_id: str) -> list[tuple[Any, ...]]:
    llm = [e for e in stored_events(server, agent_id) if e["event_type"] == "LLM_INVOCATION"]
    assert all(e["content"] == "" and e["source_type"] == "agent_llm_invocation" for e in llm)
    return [
        tuple(e["metadata"][k] for k in ("model", "input_tokens", "output_tokens", "total_tokens"))
        for e in llm
    ]


def _client(model: ScriptedModel) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        api_key="sk-ant-test", base_url="http://model.test", http_client=model.sync_client(), max_retries=0
    )


def test_messages_loop_records_usage_with_cache_tokens(thoth_server: Any) -> None:
    agent_id = f"ant-tok-{uuid.uuid4().hex[:8]}"
    tracer = make_tracer(thoth_server, agent_id, ["search_docs"], "block")
    model = ScriptedModel(
        {**tool_uses(("search_docs", {"query": "retention"}, "toolu_1")), "usage": USAGE},
        {**text("90 days."), "usage": {"input_tokens": 90, "output_tokens": 4}},
    )
    client = _client(model)
    messages: list[Any] = [{"role": "user", "content": "Find our retention policy."}]
    while True:
        response = client.messages.create(
            model="claude-opus-4-6", max_tokens=256, tools=TOOLS, messages=messages
        )
        if response.stop_reason == "end_turn":
            record_usage(response, {}, tracer)  # the final turn never reaches tool_result_message
            break
        messages.append({"role": "assistant", "content": response.content})
        messages.append(tool_result_message(response, {"search_docs": _search}, tracer))

    assert response.content[0].text == "90 days."
    assert tracer.session.token_spend == 80 + 94
    assert _llm_counts(thoth_server, agent_id) == [
        ("claude-opus-4-6", 60, 20, 80),
        ("claude-opus-4-6", 90, 4, 94),
    ]


def test_stream_events_join_message_start_and_delta(thoth_server: Any) -> None:
    agent_id = f"ant-tok-{uuid.uuid4().hex[:8]}"
    tracer = make_tracer(thoth_server, agent_id, ["search_docs"], "block")
    message = {**tool_uses(("search_docs", {"query": "retention"}, "toolu_1")), "usage": USAGE}
    model = StreamingModel(stream_events(message))
    client = _client(model)

    with client.messages.create(
        model="claude-opus-4-6",
        max_tokens=256,
        tools=TOOLS,
        messages=[{"role": "user", "content": "go"}],
        stream=True,
    ) as stream:
        events = [event.model_dump() for event in stream]
    answer = tool_result_message(events, {"search_docs": _search}, tracer)

    assert answer["content"][0]["content"] == "1 doc about retention"
    # message_start carries the input (50 + 7 + 3 cache) and message_delta the final output count (1)
    assert tracer.session.token_spend == 61
    assert _llm_counts(thoth_server, agent_id) == [("claude-opus-4-6", 60, 1, 61)]
