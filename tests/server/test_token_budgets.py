"""Token budgets, decided on the server from recorded LLM_INVOCATION events: a session's
``tokens_per_session`` and an agent's ``tokens_per_agent_per_day``, on SQLite and PostgreSQL,
through the SDK and on the wire, shared by replicas, and never counted twice for a resent event."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import thoth
from tests.conftest import ThothServer
from thoth import ThothPolicyViolation
from thoth._usage import Usage
from thoth.cli import main

BUDGETS = """\
rules:
  - {id: session-tokens, limit: {tokens_per_session: 1000}, decision: STEP_UP}
  - {id: daily-tokens, limit: {tokens_per_agent_per_day: 2500}, decision: BLOCK}
"""
SCOPE = ["read_file"]


def send(server: ThothServer, events: list[dict[str, Any]]) -> dict[str, Any]:
    with server.client() as client:
        response = client.post("/v1/events/batch", json=events)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def decide(server: ThothServer, session: str, agent: str = "test-agent") -> tuple[str, str]:
    answer = server.enforce(
        tool_name="read_file",
        session_id=session,
        agent_id=agent,
        approved_scope=SCOPE,
        enforcement_mode="step_up",  # a STEP_UP rule's answer stays STEP_UP
    )
    return answer["decision"], answer["decision_reason_code"]


def tracer_for(server: ThothServer, agent: str, session: str, **options: Any) -> thoth.Tracer:
    return thoth.create_tracer(
        agent_id=agent,
        approved_scope=SCOPE,
        tenant_id=server.tenant_id,
        api_url=server.url,
        api_key=server.api_key,
        session_id=session,
        enforcement="block",
        **options,
    )


def test_a_session_at_its_budget_steps_up_and_a_resent_event_counts_once(
    make_thoth_server: Callable[..., ThothServer],
) -> None:
    server = make_thoth_server(BUDGETS)
    session = f"tok-{uuid.uuid4()}"
    first = server.llm_event(session, input_tokens=400, output_tokens=199, total_tokens=599)
    assert send(server, [first])["accepted"] == 1
    assert decide(server, session) == ("ALLOW", "IN_SCOPE")
    assert send(server, [first])["duplicates"] == 1  # a retry of the same batch: not counted again
    assert decide(server, session) == ("ALLOW", "IN_SCOPE")
    # no total: input plus output; unreadable counts are stored but count nothing
    unreadable = server.llm_event(session, total_tokens="many", input_tokens=-5, output_tokens=True)
    assert (
        send(server, [server.llm_event(session, input_tokens=300, output_tokens=100), unreadable])["accepted"]
        == 2
    )
    assert decide(server, session) == ("ALLOW", "IN_SCOPE")  # 999 of 1000
    send(server, [server.llm_event(session, total_tokens=1)])
    assert decide(server, session) == ("STEP_UP", "TOKEN_BUDGET")
    assert decide(server, f"tok-{uuid.uuid4()}") == ("ALLOW", "IN_SCOPE")  # another session's budget


def test_an_agents_daily_budget_spans_its_sessions_and_replicas(tmp_path: Path, store_url: str) -> None:
    a = ThothServer(tmp_path / "a", policy_text=BUDGETS, db_url=store_url).start()
    b = a.replica(tmp_path / "b").start()
    try:
        sessions = [f"day-{uuid.uuid4()}" for _ in range(3)]
        for session in sessions:  # 3 x 800: under each session's 1000, 2400 of the day's 2500
            send(a, [a.llm_event(session, agent="spender", total_tokens=800)])
        send(a, [a.llm_event(f"day-{uuid.uuid4()}", agent="frugal", total_tokens=900)])
        assert decide(b, sessions[0], agent="spender") == ("ALLOW", "IN_SCOPE")
        send(b, [b.llm_event(sessions[1], agent="spender", total_tokens=100)])
        fresh = f"day-{uuid.uuid4()}"
        assert decide(a, fresh, agent="spender") == ("BLOCK", "TOKEN_BUDGET")  # 2500 today, any session
        assert decide(a, fresh, agent="frugal") == ("ALLOW", "IN_SCOPE")
    finally:
        b.stop()
        a.stop()


def test_the_sdks_recorded_usage_is_what_the_server_budgets(
    make_thoth_server: Callable[..., ThothServer],
) -> None:
    server = make_thoth_server(
        "rules:\n  - {id: session-tokens, limit: {tokens_per_session: 1000}, decision: BLOCK}\n"
    )
    tracer = tracer_for(server, "sdk-agent", f"sdk-{uuid.uuid4()}")
    read_file = tracer.wrap_tool("read_file", lambda path: f"contents of {path}")
    assert read_file(path="a.txt") == "contents of a.txt"
    tracer.record_llm_invocation(Usage("gpt-test", input_tokens=700, output_tokens=300, total=1000))
    assert thoth.flush(timeout=10, api_url=server.url)
    with pytest.raises(ThothPolicyViolation) as refused:
        read_file(path="b.txt")
    assert refused.value.reason_code == "TOKEN_BUDGET"
    assert tracer.session.token_spend == 1000


def test_local_decisions_count_the_tokens_this_process_spent(
    make_thoth_server: Callable[..., ThothServer], tmp_path: Path
) -> None:
    server = make_thoth_server(BUDGETS)

    first, second, third = (
        tracer_for(
            server,
            "local-spender",
            f"local-{uuid.uuid4()}",
            decision_mode="local",
            bundle_cache_dir=str(tmp_path / "bundles"),
        )
        for _ in range(3)
    )
    first.record_llm_invocation(Usage("gpt-test", input_tokens=900, output_tokens=99, total=999))
    assert first.authorize("read_file", {}).decision.raw["decided_by"] == "local"  # 999 < 1000
    first.record_llm_invocation(Usage("gpt-test", input_tokens=1, output_tokens=0, total=1))
    with pytest.raises(ThothPolicyViolation) as session_budget:
        first.authorize("read_file", {})
    assert (session_budget.value.reason_code, session_budget.value.matched_rule_ids) == (
        "TOKEN_BUDGET",
        ("session-tokens",),
    )
    second.record_llm_invocation(Usage("gpt-test", input_tokens=800, output_tokens=0, total=800))
    assert second.authorize("read_file", {}).decision.decision.value == "ALLOW"  # 1800 today
    third.record_llm_invocation(Usage("gpt-test", input_tokens=700, output_tokens=0, total=700))
    with pytest.raises(ThothPolicyViolation) as daily_budget:  # 2500: the agent's day is spent
        third.authorize("read_file", {})
    assert (daily_budget.value.reason_code, daily_budget.value.matched_rule_ids) == (
        "TOKEN_BUDGET",
        ("daily-tokens",),
    )


def test_replay_re_decides_a_candidate_token_budget_from_the_recorded_events(
    make_thoth_server: Callable[..., ThothServer], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Traffic recorded without budgets; the candidate's budgets flip exactly the calls made once
    the session (or the agent's day) had spent them, in the order the server received them."""
    server = make_thoth_server(None)
    s1, s2 = f"rp-{uuid.uuid4()}", f"rp-{uuid.uuid4()}"
    assert decide(server, s1) == ("ALLOW", "IN_SCOPE")  # before any spend: unchanged
    send(server, [server.llm_event(s1, total_tokens=1000)])
    assert decide(server, s1) == ("ALLOW", "IN_SCOPE")  # flips: s1 is at its 1000
    send(server, [server.llm_event(s2, total_tokens=900)])
    assert decide(server, s2) == ("ALLOW", "IN_SCOPE")  # unchanged: 900, and 1900 today
    send(
        server,
        [server.llm_event(s2, total_tokens=600), server.llm_event(s2, agent="other", total_tokens=5)],
    )
    assert decide(server, s2) == ("ALLOW", "IN_SCOPE")  # flips: 1505 in s2, 2500 today
    candidate = tmp_path / "candidate.yaml"
    candidate.write_text(BUDGETS, encoding="utf-8")
    code = main(["policy", "replay", "--db", server.db_url, "--policy", str(candidate), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert (report["replayed"], report["flipped"]) == (4, 2)
    assert report["flips"] == {"ALLOW -> STEP_UP": 1, "ALLOW -> BLOCK": 1}  # the day's BLOCK is worse
    assert report["by_candidate_rule"] == {"session-tokens": 1, "daily-tokens": 1}
    daily_only = tmp_path / "daily.yaml"
    daily_only.write_text(
        "rules:\n  - {id: daily-tokens, limit: {tokens_per_agent_per_day: 2500}, decision: BLOCK}\n",
        encoding="utf-8",
    )
    main(["policy", "replay", "--db", server.db_url, "--policy", str(daily_only), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert (report["flipped"], report["by_candidate_rule"]) == (1, {"daily-tokens": 1})
