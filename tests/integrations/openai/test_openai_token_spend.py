"""Token spend in OpenAI tool loops: the real `openai` client against the scripted hosted API (its
bodies carry `usage` as the API sends it) and a real `thoth serve`; the LLM_INVOCATION events it
stores and the session's `token_spend` must hold the exact counts."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

pytest.importorskip("openai.types.chat")
pytest.importorskip("httpx2")

import openai
from openai_support import chat_text, chat_tool_calls, response_function_calls, response_text

import thoth
from tests.integrations._hosted_model import ScriptedModel
from tests.integrations._shared import governed_options, make_tracer, stored_events
from thoth._governed import governed_by
from thoth.integrations.openai import function_call_outputs, record_usage, tool_messages

pytestmark = pytest.mark.integration

CHAT_USAGE = {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150}
FINAL_USAGE = {"prompt_tokens": 200, "completion_tokens": 10, "total_tokens": 210}
RESPONSES_USAGE = {"input_tokens": 80, "output_tokens": 12, "total_tokens": 92}


def _search(query: str) -> str:
    return f"2 docs about {query}"


def _llm_events(server: Any, agent_id: str) -> list[dict[str, Any]]:
    return [e for e in stored_events(server, agent_id) if e["event_type"] == "LLM_INVOCATION"]


def _counts(event: dict[str, Any]) -> tuple[Any, ...]:
    meta = event["metadata"]
    return meta["model"], meta["input_tokens"], meta["output_tokens"], meta["total_tokens"]


def test_chat_completions_loop_records_each_turns_usage(thoth_server: Any) -> None:
    agent_id = f"oai-tok-{uuid.uuid4().hex[:8]}"
    governed = thoth.instrument_openai(
        {"search_docs": _search}, **governed_options(thoth_server, agent_id, ["search_docs"], "block")
    )
    model = ScriptedModel(
        {**chat_tool_calls(("search_docs", {"query": "acl"}, "call_1")), "usage": CHAT_USAGE},
        {**chat_text("Found 2 docs."), "usage": FINAL_USAGE},
    )
    client = openai.OpenAI(
        api_key="sk-test", base_url="http://model.test/v1", http_client=model.sync_client(), max_retries=0
    )
    messages: list[Any] = [{"role": "user", "content": "a secret prompt"}]
    while True:
        response = client.chat.completions.create(model="gpt-4o", messages=messages)
        message = response.choices[0].message
        if not message.tool_calls:
            record_usage(response, governed)  # the final turn never reaches tool_messages
            break
        messages += [message, *tool_messages(response, governed)]

    llm = _llm_events(thoth_server, agent_id)
    assert [_counts(e) for e in llm] == [("gpt-4o", 120, 30, 150), ("gpt-4o", 200, 10, 210)]
    assert {e["source_type"] for e in llm} == {"agent_llm_invocation"}
    assert {e["content"] for e in llm} == {""}  # never the prompt
    tracer = governed_by(governed["search_docs"])
    assert tracer is not None and tracer[0].session.token_spend == 360


def test_responses_loop_records_usage_into_the_session(thoth_server: Any) -> None:
    agent_id = f"oai-tok-{uuid.uuid4().hex[:8]}"
    tracer = make_tracer(thoth_server, agent_id, ["search_docs"], "block")
    model = ScriptedModel(
        {**response_function_calls(("search_docs", {"query": "acl"}, "call_1")), "usage": RESPONSES_USAGE},
        response_text("done"),  # no usage reported: nothing recorded for it
    )
    client = openai.OpenAI(
        api_key="sk-test", base_url="http://model.test/v1", http_client=model.sync_client(), max_retries=0
    )
    first = client.responses.create(model="gpt-4o", input="go")
    outputs = function_call_outputs(first, {"search_docs": _search}, tracer)
    final = client.responses.create(model="gpt-4o", input=[*first.output, *outputs])
    record_usage(final, {}, tracer)

    assert tracer.session.token_spend == 92
    assert [_counts(e) for e in _llm_events(thoth_server, agent_id)] == [("gpt-4o", 80, 12, 92)]
