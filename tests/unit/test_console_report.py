"""The pure view code of the Sessions, Violations, Policies and Analytics pages."""

from __future__ import annotations

from typing import Any

import pytest

from thoth.policy.check import check_text
from thoth.server.ui import report


def test_percentiles_interpolate_between_ranks() -> None:
    values = [10.0 * n for n in range(1, 11)]
    assert report.percentile(values, 50) == pytest.approx(55.0)
    assert report.percentile(values, 90) == pytest.approx(91.0)
    assert report.percentile([7.0], 90) == 7.0
    assert report.latency([]) == report.Latency(0, "-", "-")
    assert report.latency(values) == report.Latency(10, "55 s", "1 min 31 s")


def test_series_has_every_bucket_of_the_window_and_drops_what_is_outside() -> None:
    window = report.window_of("1h")
    now = 3600.0 * 1000 + 10  # just into a 5-minute bucket
    last = int(now // 300)
    starts, by_type = report.series(
        [(last, "ALLOW", 2), (last, "BLOCK", 1), (last - 11, "ALLOW", 4), (last - 12, "ALLOW", 9)],
        window,
        now,
    )
    assert len(starts) == 12 and starts[-1] == last * 300.0
    assert by_type == {"ALLOW": [4] + [0] * 10 + [2], "BLOCK": [0] * 11 + [1]}


def test_an_unknown_window_is_the_default() -> None:
    assert report.window_of("2y").name == "24h"
    assert report.window_of(None, "7d").name == "7d"
    assert report.since_of(report.window_of("7d"), 1e9) == 1e9 - 7 * 86_400


def event(status: str, index: int) -> dict[str, Any]:
    return {"chain_status": status, "chain_index": index}


@pytest.mark.parametrize(
    ("events", "status", "text"),
    [
        ([], "none", "No events arrived for this session."),
        (
            [event("verified", 0), event("verified", 1)],
            "verified",
            "Verified: all 2 events link; head at index 1.",
        ),
        ([event("unchained", 0)], "unchained", "Not chained: the client sent 1 events without hashes."),
        (
            [event("verified", 0), event("gap", 2), event("fork", 2)],
            "broken",
            "Broken: 2 of 3 events did not link (first: gap at index 2).",
        ),
        (
            [event("verified", 0), event("unchained", 0)],
            "mixed",
            "1 events verified, 1 sent without hashes; head at index 1.",
        ),
    ],
)
def test_chain_state(events: list[dict[str, Any]], status: str, text: str) -> None:
    assert report.chain_state(events, {"chain_index": 1}) == report.ChainState(status, text)


def test_a_timeline_merges_decisions_and_events_in_time_order() -> None:
    decisions = [
        {
            "created_at": 10.0,
            "kind": "decision",
            "decision": "STEP_UP",
            "tool_name": "t",
            "mode": "step_up",
            "reason": "needs a human",
            "rule_ids": '["r1"]',
            "decision_id": "d1",
            "agent_id": "a",
        },
        {
            "created_at": 30.0,
            "kind": "hold_approved",
            "decision": "ALLOW",
            "tool_name": "t",
            "reason": "ok",
            "rule_ids": None,
            "decision_id": "d1",
            "agent_id": "a",
        },
    ]
    events = [
        {
            "received_at": 10.0,
            "event_type": "TOOL_CALL_PRE",
            "body": '{"tool_name": "t"}',
            "chain_status": "verified",
        },
        {
            "received_at": 40.0,
            "event_type": "TOOL_CALL_POST",
            "body": "not json",
            "chain_status": "verified",
            "decision_id": "d1",
        },
    ]
    line = report.timeline(decisions, events, None, limit=1000)
    assert [(m.kind, m.label) for m in line.moments] == [
        ("decision", "STEP_UP"),
        ("event", "TOOL_CALL_PRE"),
        ("decision", "APPROVED"),
        ("event", "TOOL_CALL_POST"),
    ]
    assert line.moments[0].detail == "needs a human (step_up mode)" and line.moments[0].rules == "r1"
    assert line.moments[1].tool_name == "t" and line.moments[3].tool_name == ""
    assert line.agent_id == "a" and not line.cut
    assert report.timeline(decisions, events, None, limit=2).cut


def test_rule_rows_keep_the_policy_order_and_say_what_each_rule_looks_at() -> None:
    document = {
        "rules": [
            {"id": "a", "tools": ["x_*", "y"], "when": "args.n > 1", "decision": "STEP_UP", "reason": "r"},
            {"id": "b", "limit": {"calls_per_tool": 5}, "decision": "BLOCK"},
            {"decision": "ALLOW"},
        ]
    }
    rows = report.rule_rows(document, {"a": 4, "scope": 2})
    assert [(r.index, r.rule_id, r.matches) for r in rows] == [(1, "a", 4), (2, "b", 0), (3, "rule-3", 0)]
    assert rows[0].conditions == ("tools: x_*, y", "when: args.n > 1")
    assert rows[1].conditions == ("limit: calls_per_tool=5",) and rows[2].conditions == ("every call",)
    assert rows[0].css == "d-step-up"
    assert report.other_rules(document, {"a": 4, "scope": 2, "old": 7}) == (("old", 7), ("scope", 2))
    assert report.rule_rows({"version": 1}, {}) == ()


def test_the_draft_check_reports_like_the_cli() -> None:
    broken = check_text("version: 1\nrules:\n  - id: r\n    decision: MAYBE\n", "<draft>")
    assert broken.ok is None and broken.error is not None and broken.error.startswith("<draft>:4:")
    fine = check_text("version: 1\nrules:\n  - id: r\n    tools: [x]\n    decision: BLOCK\n", "<draft>")
    assert fine.error is None and fine.ok is not None and fine.ok.startswith("<draft>: OK, 1 rules, 0 tags")
    assert check_text("rules: []\n", "<draft>").warnings[0].startswith("<draft>: warning: ")
