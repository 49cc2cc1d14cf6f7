"""Policy loading and evaluation: every rule kind, every mode, and load errors with positions."""

from __future__ import annotations

import textwrap
import time
from typing import Any

import pytest

from thoth.policy import (
    Call,
    Decision,
    PolicyError,
    SessionRecord,
    apply_mode,
    builtin_policy,
    load_policy,
)
from thoth.policy.cel import CppCelEngine, RustCelEngine
from thoth.policy.load import NO_VERSION_WARNING

NOW = 1_800_000_000.0


def call(tool: str, args: dict[str, Any] | None = None, **overrides: Any) -> Call:
    fields: dict[str, Any] = {
        "tool": tool,
        "args": args or {},
        "agent": "billing-agent",
        "user": "alice",
        "tenant": "acme",
        "environment": "prod",
        "mode": "block",
        "approved_scope": frozenset({tool}),
    }
    fields.update(overrides)
    return Call(**fields)


def session(*tools: str, at: float = NOW) -> SessionRecord:
    record = SessionRecord()
    for tool in tools:
        record.ran(tool, at)
    return record


def policy(text: str) -> Any:
    return load_policy(textwrap.dedent(text), "policy.yaml")


def decide(pol: Any, c: Call, record: SessionRecord | None = None) -> Any:
    return pol.evaluate(c, record or SessionRecord(), NOW)


# -- the built-in scope rule and the modes ----------------------------------------------------------


def test_builtin_allows_in_scope_and_steps_up_out_of_scope() -> None:
    pol = builtin_policy()
    allowed = decide(pol, call("read_file"))
    assert (allowed.decision, allowed.reason_code, allowed.matched_rule_ids) == (
        Decision.ALLOW,
        "IN_SCOPE",
        ("builtin.scope",),
    )
    out = decide(pol, call("send_email", approved_scope=frozenset({"read_file"})))
    assert (out.decision, out.reason_code) == (Decision.STEP_UP, "OUT_OF_SCOPE")
    assert "send_email" in out.reason


@pytest.mark.parametrize(
    ("mode", "escalate", "expected"),
    [
        ("block", False, Decision.BLOCK),
        ("step_up", False, Decision.STEP_UP),
        ("step_up", True, Decision.STEP_UP),
        ("progressive", False, Decision.STEP_UP),
        ("progressive", True, Decision.BLOCK),
        ("observe", True, Decision.ALLOW),
    ],
)
def test_modes_turn_an_out_of_scope_step_up_into(mode: str, escalate: bool, expected: Decision) -> None:
    result = decide(builtin_policy(), call("send_email", approved_scope=frozenset()))
    outcome = apply_mode(result, mode, escalate)
    assert outcome.decision is expected
    if mode == "observe":
        assert outcome.shadow_decision is Decision.STEP_UP
    else:
        assert outcome.shadow_decision is None


def test_observe_records_a_block_as_shadow() -> None:
    pol = policy(
        """
        rules:
          - {id: no-deletes, tools: ["delete_*"], decision: BLOCK}
        """
    )
    outcome = apply_mode(decide(pol, call("delete_user")), "observe", False)
    assert (outcome.decision, outcome.shadow_decision) == (Decision.ALLOW, Decision.BLOCK)


def test_progressive_escalates_after_a_denied_hold_or_a_repeat() -> None:
    record = SessionRecord()
    assert not record.should_escalate("send_email")
    record.refused("send_email")
    assert record.should_escalate("send_email")
    assert not record.should_escalate("other_tool")
    record.hold_denied()
    assert record.should_escalate("other_tool")


def test_scope_can_be_ignored() -> None:
    pol = policy("scope: ignore\n")
    assert decide(pol, call("anything", approved_scope=frozenset())).decision is Decision.ALLOW


# -- rule kinds -------------------------------------------------------------------------------------


def test_tool_name_patterns() -> None:
    pol = policy(
        """
        rules:
          - {id: no-deletes, tools: ["delete_*", "drop_table"], decision: BLOCK, reason: never}
        """
    )
    blocked = decide(pol, call("delete_user"))
    assert (blocked.decision, blocked.rule_id, blocked.reason) == (Decision.BLOCK, "no-deletes", "never")
    assert decide(pol, call("drop_table")).decision is Decision.BLOCK
    assert decide(pol, call("undelete_user")).decision is Decision.ALLOW


def test_cel_conditions_on_arguments() -> None:
    pol = policy(
        """
        rules:
          - id: external-email
            tools: [send_email]
            when: '!args.to.endsWith("@acme.com")'
            decision: STEP_UP
          - id: refund-limit
            tools: [refund]
            when: args.amount >= 1000
            decision: BLOCK
        """
    )
    assert decide(pol, call("send_email", {"to": "bob@acme.com"})).decision is Decision.ALLOW
    external = decide(pol, call("send_email", {"to": "eve@evil.example"}))
    assert (external.decision, external.rule_id) == (Decision.STEP_UP, "external-email")
    assert decide(pol, call("refund", {"amount": 999})).decision is Decision.ALLOW
    assert decide(pol, call("refund", {"amount": 1000})).decision is Decision.BLOCK
    assert decide(pol, call("refund", {"amount": 1500.5})).decision is Decision.BLOCK


def test_a_condition_that_fails_to_evaluate_blocks_and_names_the_rule() -> None:
    pol = policy(
        """
        rules:
          - {id: refund-limit, tools: [refund], when: args.amount >= 1000, decision: STEP_UP}
        """
    )
    missing = decide(pol, call("refund", {}))
    assert (missing.decision, missing.reason_code, missing.rule_id) == (
        Decision.BLOCK,
        "RULE_ERROR",
        "refund-limit",
    )
    assert "refund-limit" in missing.reason
    wrong_type = decide(pol, call("refund", {"amount": "lots"}))
    assert wrong_type.decision is Decision.BLOCK
    assert apply_mode(wrong_type, "step_up", False).decision is Decision.BLOCK


def test_agents_environments_and_context_conditions() -> None:
    pol = policy(
        """
        rules:
          - {id: prod-deploys, tools: [deploy], environments: [prod], decision: STEP_UP}
          - {id: interns, agents: ["intern-*"], tools: [deploy], decision: BLOCK}
          - {id: pii, when: 'context.data_classification == "pii"', decision: STEP_UP}
        """
    )
    assert decide(pol, call("deploy")).decision is Decision.STEP_UP
    assert decide(pol, call("deploy", environment="staging")).decision is Decision.ALLOW
    assert decide(pol, call("deploy", agent="intern-bot", environment="staging")).decision is Decision.BLOCK
    pii = call("lookup", context={"data_classification": "pii", "purpose": ""})
    assert decide(pol, pii).rule_id == "pii"


def test_per_session_limits() -> None:
    pol = policy(
        """
        rules:
          - {id: session-cap, limit: {calls: 3}, decision: BLOCK}
          - {id: search-budget, tools: [web_search], limit: {calls_per_tool: 2}, decision: STEP_UP}
          - {id: rate, limit: {calls_per_minute: 2}, tools: [fetch], decision: DEFER,
             defer_timeout_seconds: 30}
        """
    )
    assert decide(pol, call("web_search"), session("web_search")).decision is Decision.ALLOW
    capped = decide(pol, call("web_search"), session("web_search", "web_search"))
    assert (capped.decision, capped.rule_id, capped.reason_code) == (
        Decision.STEP_UP,
        "search-budget",
        "SESSION_LIMIT",
    )
    assert decide(pol, call("other"), session("a", "b", "c")).decision is Decision.BLOCK
    assert decide(pol, call("fetch"), session("x", at=NOW - 5)).decision is Decision.ALLOW
    deferred = decide(pol, call("fetch"), session("x", "y", at=NOW - 5))
    assert (deferred.decision, deferred.defer_timeout_seconds) == (Decision.DEFER, 30)
    assert decide(pol, call("fetch"), session("x", "y", at=NOW - 120)).decision is Decision.ALLOW


def test_token_budgets_per_session_and_per_agent_day() -> None:
    pol = policy(
        """
        rules:
          - {id: session-tokens, limit: {tokens_per_session: 1000}, decision: STEP_UP}
          - {id: daily-tokens, limit: {tokens_per_agent_per_day: 5000}, decision: BLOCK}
          - {id: big-spender, when: 'session.tokens > 500', tools: [pay], decision: STEP_UP}
        """
    )
    assert pol.counts_agent_tokens
    record = session("search")
    record.spent(999)
    under = pol.evaluate(call("search"), record, NOW, agent_tokens_today=4999)
    assert (under.decision, under.matched_rule_ids) == (Decision.ALLOW, ("builtin.scope",))
    assert pol.evaluate(call("pay"), record, NOW).rule_id == "big-spender"
    record.spent(1)  # at the budget: the calls from now on are over it
    over = pol.evaluate(call("search"), record, NOW)
    assert (over.decision, over.rule_id, over.reason_code) == (
        Decision.STEP_UP,
        "session-tokens",
        "TOKEN_BUDGET",
    )
    daily = pol.evaluate(call("search"), session(), NOW, agent_tokens_today=5000)
    assert (daily.decision, daily.rule_id, daily.reason_code) == (
        Decision.BLOCK,
        "daily-tokens",
        "TOKEN_BUDGET",
    )
    assert not policy(
        "rules:\n  - {id: s, limit: {tokens_per_session: 1}, decision: BLOCK}\n"
    ).counts_agent_tokens
    restored = SessionRecord.from_state(record.to_state(NOW))
    assert restored.tokens == 1000
    legacy = record.to_state(NOW)
    del legacy["tokens"]  # a record stored before token limits
    assert SessionRecord.from_state(legacy).tokens == 0


def test_data_flow_after_reading_secrets_nothing_goes_out() -> None:
    pol = policy(
        """
        tags:
          reads_secrets: [get_secret, "vault_*"]
          sends_data_out: [send_email, "http_*"]
        rules:
          - id: no-exfiltration
            after_tags: [reads_secrets]
            tags: [sends_data_out]
            decision: BLOCK
            reason: data read from secrets may not leave
        """
    )
    assert decide(pol, call("http_post"), session("read_file")).decision is Decision.ALLOW
    blocked = decide(pol, call("http_post"), session("vault_read", "read_file"))
    assert (blocked.decision, blocked.reason_code) == (Decision.BLOCK, "SEQUENCE")
    assert decide(pol, call("vault_read"), session("vault_read")).decision is Decision.ALLOW


def test_sequence_after_tools_and_session_in_cel() -> None:
    pol = policy(
        """
        rules:
          - {id: no-pay-after-refund, after_tools: [refund], tools: [pay], decision: STEP_UP}
          - {id: third-search, when: 'tool == "search" && session.tool_calls >= 2', decision: BLOCK}
        """
    )
    assert decide(pol, call("pay"), session("search")).decision is Decision.ALLOW
    assert decide(pol, call("pay"), session("refund")).decision is Decision.STEP_UP
    assert decide(pol, call("search"), session("search")).decision is Decision.ALLOW
    assert decide(pol, call("search"), session("search", "search")).decision is Decision.BLOCK


def test_modify_masks_truncates_and_sets_arguments_without_touching_the_original() -> None:
    pol = policy(
        """
        rules:
          - id: redact
            tools: [lookup_customer]
            decision: MODIFY
            reason: PII is masked
            modify:
              mask: [ssn, card.number]
              truncate: {notes: 5}
              set: {limit: 10, options.safe: true}
        """
    )
    args = {"ssn": "123-45-6789", "card": {"number": "4111"}, "notes": "long notes here", "limit": 1000}
    result = decide(pol, call("lookup_customer", args))
    assert result.decision is Decision.MODIFY
    assert result.modified_args == {
        "ssn": "***",
        "card": {"number": "***"},
        "notes": "long ",
        "limit": 10,
        "options": {"safe": True},
    }
    assert args["ssn"] == "123-45-6789"  # the request's own args are untouched


def test_defer_carries_its_timeout() -> None:
    pol = policy(
        "rules:\n  - {id: later, tools: [bulk_export], decision: DEFER, defer_timeout_seconds: 45}\n"
    )
    result = decide(pol, call("bulk_export"))
    assert (result.decision, result.defer_timeout_seconds) == (Decision.DEFER, 45)


def test_the_most_restrictive_match_wins_and_all_matches_are_listed() -> None:
    pol = policy(
        """
        rules:
          - {id: mask, tools: [send_email], decision: MODIFY, modify: {mask: [body]}}
          - {id: approve, tools: [send_email], decision: STEP_UP}
          - {id: never-on-friday, tools: [send_email], when: 'args.day == "fri"', decision: BLOCK}
        """
    )
    monday = decide(pol, call("send_email", {"day": "mon"}))
    assert (monday.decision, monday.rule_id, monday.matched_rule_ids) == (
        Decision.STEP_UP,
        "approve",
        ("mask", "approve"),
    )
    friday = decide(pol, call("send_email", {"day": "fri"}))
    assert friday.decision is Decision.BLOCK
    assert friday.matched_rule_ids == ("mask", "approve", "never-on-friday")


def test_an_allow_rule_exempts_from_scope_but_not_from_other_rules() -> None:
    pol = policy(
        """
        rules:
          - {id: health-checks, tools: [ping], decision: ALLOW, reason: always fine}
          - {id: no-ping-in-prod, tools: [ping], environments: [prod], decision: BLOCK}
        """
    )
    staging = decide(pol, call("ping", environment="staging", approved_scope=frozenset()))
    assert (staging.decision, staging.reason) == (Decision.ALLOW, "always fine")
    assert decide(pol, call("ping", approved_scope=frozenset())).decision is Decision.BLOCK


def test_out_of_scope_joins_rule_matches() -> None:
    pol = policy("rules:\n  - {id: m, tools: [x], decision: MODIFY, modify: {set: {a: 1}}}\n")
    result = decide(pol, call("x", approved_scope=frozenset()))
    assert result.decision is Decision.STEP_UP
    assert result.matched_rule_ids == ("m", "builtin.scope")


def test_a_ten_rule_policy_decides_the_same_way_every_time() -> None:
    """The benchmark's kind of policy: repeated evaluation leaks no state between calls."""
    pol = policy(TEN_RULES)
    record = session("read_file")
    for _ in range(200):
        assert (
            decide(pol, call("send_email", {"to": "bob@acme.com", "body": "hi"}), record).decision
            is Decision.MODIFY
        )


TEN_RULES = """
tags:
  reads_secrets: [get_secret]
  sends_data_out: [send_email, "http_*"]
rules:
  - {id: r1, tools: ["delete_*"], decision: BLOCK}
  - {id: r2, tools: [send_email], when: '!args.to.endsWith("@acme.com")', decision: STEP_UP}
  - {id: r3, tools: [refund], when: 'args.amount >= 1000', decision: BLOCK}
  - {id: r4, after_tags: [reads_secrets], tags: [sends_data_out], decision: BLOCK}
  - {id: r5, limit: {calls: 1000}, decision: BLOCK}
  - {id: r6, tools: [web_search], limit: {calls_per_tool: 50}, decision: STEP_UP}
  - {id: r7, limit: {calls_per_minute: 600}, decision: DEFER}
  - {id: r8, tools: [deploy], environments: [prod], decision: STEP_UP}
  - {id: r9, tools: [send_email], decision: MODIFY, modify: {truncate: {body: 1000}}}
  - {id: r10, agents: ["intern-*"], decision: BLOCK}
"""


# -- load errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ("rules:\n  - {id: a, decision: BLOCK\n", 3, 1, "expected"),
        ("rules:\n  - id: a\n    decision: NOPE\n", 3, 15, "decision must be one of"),
        ("rules:\n  - id: a\n    decision: BLOCK\n    tool: [x]\n", 4, 11, "unknown key 'tool'"),
        ("rules:\n  - id: a\n    decision: BLOCK\n    when: 'args.x +'\n", 4, 20, "invalid CEL"),
        ("rules:\n  - id: a\n    decision: BLOCK\n    when: nosuchvar == 1\n", 4, 11, "undeclared reference"),
        ("rules:\n  - id: a\n    decision: BLOCK\n    when: |\n      args.a ) true\n", 5, 14, "invalid CEL"),
        ("rules:\n  - {id: a, decision: BLOCK}\n  - {id: a, decision: ALLOW}\n", 3, 10, "duplicate rule id"),
        ("rules:\n  - {id: a, decision: BLOCK, tags: [nope]}\n", 2, 36, "unknown tag"),
        ("rules:\n  - {id: a, decision: MODIFY}\n", 2, 23, "needs modify"),
        ("rules:\n  - {id: a, decision: BLOCK, limit: {calls: -1}}\n", 2, 45, "positive integer"),
        (
            "rules:\n  - {id: a, decision: BLOCK, limit: {calls: 1, calls_per_tool: 2}}\n",
            2,
            37,
            "exactly one",
        ),
        ("version: 2\n", 1, 10, "version must be 1"),
        ("rules: {}\n", 1, 8, "rules must be a list"),
    ],
)
def test_malformed_policies_are_refused_with_file_line_and_column(
    text: str, line: int, column: int, words: str
) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy(text, "ops/policy.yaml")
    error = caught.value
    assert words in error.message
    assert (error.file, error.line, error.column) == ("ops/policy.yaml", line, column)
    assert str(error).startswith(f"ops/policy.yaml:{line}:{column}: ")


@pytest.mark.parametrize("text", ["", "\n# rules to come\n"])
def test_an_empty_file_is_refused_and_a_bare_version_is_the_builtin_policy(text: str) -> None:
    with pytest.raises(PolicyError, match="the policy file is empty") as caught:
        load_policy(text, "empty.yaml")  # most likely the wrong file, or one cut short
    assert str(caught.value).startswith("empty.yaml: the policy")  # the whole file: no made-up 1:1
    pol = load_policy("version: 1\n", "scope-only.yaml")
    assert (pol.rules, pol.warnings) == ((), ())
    assert decide(pol, call("x", approved_scope=frozenset())).decision is Decision.STEP_UP


def test_a_policy_without_version_loads_with_a_warning() -> None:
    pol = load_policy("rules: []\n", "old.yaml")
    assert pol.warnings == (NO_VERSION_WARNING,)


@pytest.mark.parametrize("engine_type", [CppCelEngine, RustCelEngine])
def test_both_cel_engines_decide_alike(engine_type: type) -> None:
    try:
        engine = engine_type()
    except ImportError:
        pytest.skip(f"{engine_type.__name__} is not installed")
    pol = load_policy(TEN_RULES, "p.yaml", engine=engine)
    assert (
        decide(pol, call("send_email", {"to": "eve@evil.example", "body": ""})).decision is Decision.STEP_UP
    )
    assert decide(pol, call("refund", {"amount": 5})).decision is Decision.ALLOW
    assert decide(pol, call("refund", {})).reason_code == "RULE_ERROR"


def test_session_record_counts_only_what_ran() -> None:
    record = SessionRecord()
    now = time.time()
    record.ran("a", now - 120)
    record.ran("a", now)
    record.ran("b", now)
    assert (record.calls, record.tool_calls("a"), record.calls_since(now - 60)) == (3, 2, 2)
    assert list(record.tools) == ["a", "b"]
