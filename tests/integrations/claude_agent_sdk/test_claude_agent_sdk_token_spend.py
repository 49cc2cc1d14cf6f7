"""Token spend in Claude Agent SDK sessions: the real Claude Code CLI against the scripted Messages
API (each response with its own id and ``usage``, streamed as the API streams it) and a real
`thoth serve`. One LLM_INVOCATION per query's ResultMessage, with the exact counts: not the
AssistantMessages (one per content block, each repeating its response's usage, whose output count
is the stream's first), and not ``model_usage`` (cumulative over a ClaudeSDKClient's session)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("claude_agent_sdk")

from claude_agent_sdk import ClaudeSDKClient, ResultMessage, query
from claude_agent_sdk_support import SEARCH, ScriptedMessagesAPI, Tools, options

from tests.integrations._shared import make_tracer, new_agent_id, stored_events
from thoth.integrations import claude_agent_sdk as thoth_claude

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

MODEL = "claude-sonnet-4-5"


def _usage(inputs: int, outputs: int, cache_read: int = 0, cache_write: int = 0) -> dict[str, int]:
    return {
        "input_tokens": inputs,
        "output_tokens": outputs,
        "cache_read_input_tokens": cache_read,
        "cache_creation_input_tokens": cache_write,
    }


def _llm_counts(server: Any, agent_id: str) -> list[tuple[Any, ...]]:
    llm = [e for e in stored_events(server, agent_id) if e["event_type"] == "LLM_INVOCATION"]
    assert all(e["content"] == "" and e["source_type"] == "agent_llm_invocation" for e in llm)
    latencies = [e["metadata"]["latency_ms"] for e in llm]
    assert all(isinstance(ms, float) and ms >= 0 for ms in latencies), latencies
    return [
        tuple(e["metadata"][k] for k in ("model", "input_tokens", "output_tokens", "total_tokens"))
        for e in llm
    ]


async def test_client_records_each_query_once(thoth_server: Any, tmp_path: Path) -> None:
    agent_id = new_agent_id("claude-tok")
    tracer = make_tracer(thoth_server, agent_id, [SEARCH], "block")
    api = ScriptedMessagesAPI(
        # one response of two content blocks: the CLI streams it as two AssistantMessages
        [("text", "Let me look."), ("tool_use", "toolu_a", SEARCH, {"query": "a"})],
        [("text", "first answer")],
        [("text", "second answer")],
        usages=[
            _usage(100, 20, cache_read=7, cache_write=3),
            _usage(400, 40, cache_read=14),
            _usage(900, 60),
        ],
    )
    opts = thoth_claude.instrument(options(api, str(tmp_path), Tools()), tracer)
    results: list[ResultMessage] = []
    try:
        async with ClaudeSDKClient(opts) as client:
            for prompt in ("go", "again"):
                await client.query(prompt)
                results += [m async for m in client.receive_response() if isinstance(m, ResultMessage)]
    finally:
        api.close()

    assert [r.result for r in results] == ["first answer", "second answer"]
    # input = input + cache read + cache creation; the second query's model_usage repeats the first's
    assert _llm_counts(thoth_server, agent_id) == [(MODEL, 524, 60, 584), (MODEL, 900, 60, 960)]
    assert tracer.session.token_spend == 584 + 960


async def test_query_records_its_result(thoth_server: Any, tmp_path: Path) -> None:
    agent_id = new_agent_id("claude-tok")
    tracer = make_tracer(thoth_server, agent_id, [SEARCH], "block")
    api = ScriptedMessagesAPI([("text", "hello")], usages=[_usage(30, 8, cache_read=2)])
    opts = thoth_claude.instrument(options(api, str(tmp_path), Tools()), tracer)
    try:
        seen = [m async for m in query(prompt="hi", options=opts)]
    finally:
        api.close()

    assert [m.result for m in seen if isinstance(m, ResultMessage)] == ["hello"]
    assert _llm_counts(thoth_server, agent_id) == [(MODEL, 32, 8, 40)]
    assert tracer.session.token_spend == 40


def _result(usage: Any, uuid: str | None, api_ms: Any = 12) -> ResultMessage:
    return ResultMessage(
        subtype="success",
        duration_ms=20,
        duration_api_ms=api_ms,
        is_error=False,
        num_turns=1,
        session_id="s-1",
        usage=usage,
        uuid=uuid,
        model_usage={"claude-haiku-4-5": {"inputTokens": 999}},
    )


async def test_results_without_usage_or_seen_before_add_nothing(thoth_server: Any) -> None:
    """Straight through the counting stream (no CLI): a result without usage, a malformed one and
    one seen again record nothing; the model falls back to ``model_usage``'s only key; closing the
    counting stream after a ``break`` closes the SDK's."""
    agent_id = new_agent_id("claude-tok")
    tracer = make_tracer(thoth_server, agent_id, [], "block")
    closed: list[bool] = []

    async def sdk_stream() -> Any:
        try:
            for message in (
                _result(None, "r-0"),
                _result({"input_tokens": "lots"}, "r-1"),
                _result(_usage(3, 4), "r-2", api_ms="soon"),
                _result(_usage(3, 4), "r-2"),  # the same result again
                _result(_usage(1, 1), "r-3"),
                _result(_usage(50, 50), "r-4"),  # after the break: never read
            ):
                yield message
        finally:
            closed.append(True)

    counter = thoth_claude._UsageCounter(lambda: tracer)
    counted = thoth_claude._counted(sdk_stream(), counter)
    async for message in counted:
        if message.uuid == "r-3":
            break
    await counted.aclose()  # as the application's generator is closed (or collected)

    assert closed == [True]
    assert tracer.session.token_spend == 7 + 2
    llm = [
        e["metadata"] for e in stored_events(thoth_server, agent_id) if e["event_type"] == "LLM_INVOCATION"
    ]
    assert [(m["model"], m["total_tokens"], m["latency_ms"]) for m in llm] == [
        ("claude-haiku-4-5", 7, None),
        ("claude-haiku-4-5", 2, 12.0),
    ]
