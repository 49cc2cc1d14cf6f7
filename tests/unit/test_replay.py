"""thoth.server.replay and the static parts of thoth.server.coverage (pure): exact flip counts,
session state as the server evolves it, and shadowed rules."""

from __future__ import annotations

import json
from typing import Any

from thoth.policy import load_policy
from thoth.server.coverage import Shadowed, never_matched, shadowed
from thoth.server.replay import REQUEST_MAX_BYTES, RecordedRow, replay, request_document
from thoth.server.schemas import EnforceRequest

CANDIDATE = load_policy(
    """
version: 1
tags: {reads_secrets: [get_secret]}
rules:
  - id: no-send-after-secret
    tools: [send_email]
    after_tags: [reads_secrets]
    decision: BLOCK
    reason: nothing leaves a session that read a secret
  - id: no-secrets-for-interns
    tools: [get_secret]
    agents: [intern]
    decision: BLOCK
    reason: interns read no secrets
  - id: wire-needs-approval
    tools: [wire_money]
    decision: STEP_UP
    reason: a human approves wires
  - id: audit-after-wire
    tools: [close_account]
    after_tools: [wire_money]
    decision: BLOCK
    reason: no closing after a wire
""",
    "candidate.yaml",
)
TOOLS = ["get_secret", "send_email", "wire_money", "close_account"]


class Recorder:
    """Rows as the server writes them, one second apart."""

    def __init__(self) -> None:
        self.rows: list[RecordedRow] = []

    def call(self, session: str, tool: str, agent: str = "bot", **fields: Any) -> None:
        request = EnforceRequest(
            agent_id=agent,
            tenant_id="acme",
            session_id=session,
            tool_name=tool,
            approved_scope=TOOLS,
            enforcement_trace_id="t",
            tool_args=fields.pop("args", {"to": "x@example.com"}),
        )
        decision = fields.pop("decision", "ALLOW")
        document = fields.pop("request", request_document(request))
        self.rows.append(
            RecordedRow(
                tenant_id="acme",
                session_id=session,
                agent_id=agent,
                tool_name=tool,
                kind="decision",
                fact=fields.pop("fact", "ran" if decision == "ALLOW" else None),
                decision=decision,
                created_at=1_800_000_000.0 + len(self.rows),
                rule_ids=("builtin.scope",),
                decision_id=f"dec_{len(self.rows)}",
                request=document,
                **fields,
            )
        )

    def resolve(self, session: str, tool: str, token: str, approved: bool) -> None:
        self.rows.append(
            RecordedRow(
                tenant_id="acme",
                session_id=session,
                agent_id="bot",
                tool_name=tool,
                kind="hold_approved" if approved else "hold_denied",
                fact="ran" if approved else "hold_denied",
                decision="ALLOW" if approved else "BLOCK",
                created_at=1_800_000_000.0 + len(self.rows),
                hold_token=token,
            )
        )


def test_flips_follow_the_session_and_a_refused_call_does_not_count_as_ran() -> None:
    recorded = Recorder()
    recorded.call("s1", "get_secret")
    recorded.call("s1", "send_email")  # flips: the secret was read
    recorded.call("s2", "get_secret", agent="intern")  # flips: interns are refused
    recorded.call("s2", "send_email", agent="intern")  # unchanged: the refused read never ran
    recorded.call("s3", "send_email")  # unchanged: nothing read

    report = replay(CANDIDATE, recorded.rows)

    assert (report.replayed, report.unchanged, report.flipped) == (5, 3, 2)
    assert report.flips == {"ALLOW -> BLOCK": 2}
    assert report.by_candidate_rule == {"no-send-after-secret": 1, "no-secrets-for-interns": 1}
    assert report.by_recorded_rules == {"builtin.scope": 2}
    assert report.by_tool == {"get_secret": 1, "send_email": 1}
    examples = report.examples["ALLOW -> BLOCK"]
    assert [(e.decision_id, e.session_id, e.agent_id, e.tool_name) for e in examples] == [
        ("dec_1", "s1", "bot", "send_email"),
        ("dec_2", "s2", "intern", "get_secret"),
    ]
    assert examples[0].at == "2027-01-15T08:00:01Z"
    assert "x@example.com" not in json.dumps(report.to_json())  # never the arguments


def test_a_row_without_a_request_is_counted_and_still_teaches_the_session() -> None:
    recorded = Recorder()
    recorded.call("s1", "get_secret", request=None)  # before migration 0009, or over the cap
    recorded.call("s1", "send_email")
    recorded.call("s2", "get_secret", request="{not json")

    report = replay(CANDIDATE, recorded.rows)

    assert report.not_replayable == {"no_request": 1, "unreadable": 1}
    assert (report.replayed, report.flipped) == (1, 1)
    assert report.by_candidate_rule == {"no-send-after-secret": 1}


def test_a_hold_resolution_applies_only_when_the_candidate_holds_the_call_too() -> None:
    recorded = Recorder()
    recorded.call("s1", "wire_money", decision="STEP_UP", hold_token="hold_a")
    recorded.resolve("s1", "wire_money", "hold_a", approved=True)  # the wire ran
    recorded.call("s1", "close_account")  # flips: after a wire
    recorded.call("s2", "wire_money", decision="STEP_UP", hold_token="hold_b")
    recorded.resolve("s2", "wire_money", "hold_b", approved=False)  # never ran
    recorded.call("s2", "close_account")  # unchanged

    report = replay(CANDIDATE, recorded.rows)

    assert (report.replayed, report.unchanged, report.flipped) == (4, 3, 1)
    assert report.flips == {"ALLOW -> BLOCK": 1}
    assert report.by_candidate_rule == {"audit-after-wire": 1}


def test_a_call_the_candidate_refuses_ignores_its_recorded_approval() -> None:
    candidate = load_policy(
        "version: 1\nrules:\n"
        "  - {id: no-wires, tools: [wire_money], decision: BLOCK, reason: never}\n"
        "  - {id: after, tools: [close_account], after_tools: [wire_money], decision: BLOCK, reason: r}\n",
        "c.yaml",
    )
    recorded = Recorder()
    recorded.call("s1", "wire_money", decision="STEP_UP", hold_token="hold_a")
    recorded.resolve("s1", "wire_money", "hold_a", approved=True)
    recorded.call("s1", "close_account")  # the candidate refused the wire: it never ran

    report = replay(candidate, recorded.rows)

    assert report.flips == {"STEP_UP -> BLOCK": 1}
    assert (report.replayed, report.unchanged) == (2, 1)


def test_the_request_document_is_scrubbed_and_capped() -> None:
    request = EnforceRequest(
        agent_id="a",
        tenant_id="t",
        session_id="s",
        tool_name="login",
        tool_args={"user": "ann", "password": "hunter2-very-secret"},
        purpose="x",
    )
    document = json.loads(request_document(request) or "")
    assert document["tool_args"] == {"user": "ann", "password": "[REDACTED]"}
    assert document["purpose"] == "x" and "session_intent" not in document
    big = request.model_copy(update={"tool_args": {"blob": "y" * REQUEST_MAX_BYTES}})
    assert request_document(big) is None


def test_shadowed_rules_are_found_conservatively() -> None:
    policy = load_policy(
        """
version: 1
tags: {outbound: [send_email, "http_*"]}
rules:
  - {id: no-deletes, tools: ["delete_*"], decision: BLOCK, reason: r}
  - {id: delete-users, tools: [delete_user], decision: STEP_UP, reason: r}
  - {id: delete-logs, tools: [delete_logs], agents: [ops], decision: BLOCK, reason: r}
  - {id: out, tags: [outbound], decision: STEP_UP, reason: r}
  - {id: email, tools: [send_email], decision: STEP_UP, reason: r}
  - {id: big-refund, tools: [refund], when: "args.amount > 5", decision: STEP_UP, reason: r}
  - {id: any-refund, tools: [refund], decision: DEFER, reason: r}
  - {id: mask-a, tools: [export], decision: MODIFY, modify: {mask: [a]}, reason: r}
  - {id: mask-b, tools: [export], decision: MODIFY, modify: {mask: [b]}, reason: r}
""",
        "p.yaml",
    )
    assert shadowed(policy) == (
        Shadowed("delete-users", "no-deletes"),  # a plain name the earlier glob matches
        Shadowed("delete-logs", "no-deletes"),  # narrower by agent, as severe, later
    )
    # not reported: "email" (a tag holding the tool is not proven), "any-refund" (the earlier rule
    # has a condition), "mask-b" (every MODIFY's rewrite applies)
    assert never_matched(policy, ["no-deletes", "out", "builtin.scope"]) == (
        "delete-users",
        "delete-logs",
        "email",
        "big-refund",
        "any-refund",
        "mask-a",
        "mask-b",
    )
