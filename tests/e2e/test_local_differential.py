"""Local and remote decisions agree: generated calls and session histories over every rule kind,
decided by a real `thoth serve` and in process from the bundle it serves, before and after a
policy update (SIGHUP)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

from tests.conftest import ThothServer
from thoth._decisions import normalize_enforce_payload
from thoth._local import BundleSource, as_decision
from thoth._transport import Transport
from thoth.policy import Call

pytestmark = pytest.mark.e2e

POLICY_A = """
version: 1
hold_timeout_seconds: 120
tags:
  reads_secrets: [get_secret, "vault_*"]
  sends_data_out: [send_email, "http_*"]
rules:
  - {id: no-deletes, tools: ["delete_*"], decision: BLOCK, reason: never}
  - {id: big-refund, tools: [issue_refund], when: "args.amount >= 1000", decision: STEP_UP,
     hold_timeout_seconds: 60}
  - id: mask-customer
    tools: [lookup_customer]
    decision: MODIFY
    modify: {mask: [ssn, card.number], truncate: {notes: 5}, set: {limit: 10, meta.source: thoth}}
  - {id: plain-note, tools: [lookup_customer], when: "has(args.notes)", decision: MODIFY,
     modify: {set: {noted: true}}}
  - {id: external-mail, tools: [send_email], when: '!args.to.endsWith("@acme.com")', decision: STEP_UP}
  - {id: no-exfiltration, after_tags: [reads_secrets], tags: [sends_data_out], decision: BLOCK}
  - {id: search-budget, tools: [web_search], limit: {calls_per_tool: 3}, decision: BLOCK}
  - {id: session-budget, limit: {calls: 8}, decision: BLOCK, code: TOO_MANY}
  - {id: burst, tools: ["http_*"], limit: {calls_per_minute: 4}, decision: BLOCK}
  - {id: after-vault, after_tools: ["vault_*"], tools: [lookup_customer], decision: DEFER,
     defer_timeout_seconds: 30}
  - {id: prod-export, tools: [export_report], environments: [prod], decision: STEP_UP}
  - {id: trusted-search, agents: ["trusted-*"], tools: [web_search], decision: ALLOW, reason: trusted}
  - {id: busy-session, when: "session.calls > 4 && tool == 'http_get'", decision: BLOCK}
  - {id: seen-secrets, when: "'reads_secrets' in session.tags && tool == 'read_file'", decision: STEP_UP}
  - {id: audit-intent, tools: [get_secret], when: 'context.session_intent.contains("audit")', decision: ALLOW}
  - {id: broken-condition, tools: [weird], when: "args.missing.field == 1", decision: BLOCK}
"""

POLICY_B = """
version: 1
scope: ignore
hold_timeout_seconds: 300
rules:
  - {id: no-reads, tools: ["read_*"], decision: BLOCK}
  - {id: refunds-held, tools: [issue_refund], decision: STEP_UP}
  - {id: mail-masked, tools: [send_email], decision: MODIFY, modify: {mask: [to]}}
  - {id: secret-budget, tools: [get_secret, "vault_*"], limit: {calls: 2}, decision: BLOCK}
  - {id: deferred-http, tools: ["http_*"], when: "size(session.tools) >= 2", decision: DEFER}
"""

TOOLS = (
    "get_secret",
    "vault_read",
    "send_email",
    "http_get",
    "delete_user",
    "issue_refund",
    "lookup_customer",
    "web_search",
    "export_report",
    "weird",
    "read_file",
)
COMPARED = (
    "decision",
    "reason",
    "decision_reason_code",
    "matched_rule_ids",
    "modified_tool_args",
    "shadow_decision",
    "defer_timeout_seconds",
    "step_up_timeout_seconds",
    "policy_version",
)

ARGS: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "issue_refund": st.fixed_dictionaries({"amount": st.integers(0, 5000)}),
    "send_email": st.fixed_dictionaries({"to": st.sampled_from(["bob@acme.com", "eve@evil.example"])}),
    "lookup_customer": st.fixed_dictionaries(
        {"id": st.text(max_size=5)},
        optional={
            "ssn": st.text(max_size=11),
            "notes": st.text(max_size=12),
            "card": st.fixed_dictionaries({"number": st.text(max_size=4)}),
        },
    ),
}


@st.composite
def agents(draw: st.DrawFn) -> dict[str, Any]:
    """One agent's fixed part of its requests (what ThothConfig sets)."""
    return {
        "agent_id": draw(st.sampled_from(["trusted-bot", "helper"])),
        "user_id": "tester",
        "approved_scope": draw(st.lists(st.sampled_from(TOOLS), unique=True, max_size=len(TOOLS))),
        "enforcement_mode": draw(st.sampled_from(["block", "step_up", "progressive", "observe"])),
        "environment": draw(st.sampled_from(["prod", "dev"])),
        "session_intent": draw(st.sampled_from(["", "quarterly audit"])),
    }


@st.composite
def calls(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    tool = draw(st.sampled_from(TOOLS))
    return tool, draw(ARGS.get(tool, st.just({})))


@pytest.fixture
def server(make_thoth_server: Callable[..., ThothServer]) -> ThothServer:
    return make_thoth_server(POLICY_A)


def agree(server: ThothServer, source: BundleSource, agent: dict[str, Any], sequence: list[Any]) -> int:
    """Decide each call both ways, in one new session; return how many decisions were compared."""
    body = agent | {"tenant_id": server.tenant_id, "session_id": f"diff-{uuid.uuid4()}"}
    ran: list[str] = []
    with server.client() as client:
        for tool, args in sequence:
            request = body | {
                "tool_name": tool,
                "tool_args": args,
                "session_tool_calls": list(ran),
                "enforcement_trace_id": body["session_id"],
            }
            local = source.decide(Call.from_request(request), request["session_id"])
            assert isinstance(local, dict), local
            response = client.post("/v1/enforce", json=request)
            assert response.status_code == 200, response.text
            remote = response.json()
            for field in COMPARED:
                assert local.get(field) == remote.get(field), (field, tool, args, local, remote)
            if local["decision"] in ("ALLOW", "BLOCK", "MODIFY"):  # what the SDK acts on, made two ways
                assert as_decision(local) == normalize_enforce_payload(local)
            if remote["decision"] in ("ALLOW", "MODIFY"):
                ran.append(tool)
    return len(sequence)


def test_local_and_remote_decisions_agree_before_and_after_a_policy_update(
    server: ThothServer, tmp_path: Path
) -> None:
    source = BundleSource(
        Transport(server.url, server.api_key, connect_timeout=2.0, request_timeout=5.0),
        public_key=None,
        refresh_seconds=60.0,
        max_age_seconds=3600.0,
        cache_file=tmp_path / "bundle.json",
        timeout_seconds=5.0,
    )
    compared: list[int] = []

    @settings(
        max_examples=120,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(agent=agents(), sequence=st.lists(calls(), min_size=1, max_size=12))
    def differential(agent: dict[str, Any], sequence: list[Any]) -> None:
        compared.append(agree(server, source, agent, sequence))

    assert source.refresh()
    assert source.bundle is not None
    first_version = source.bundle.policy_version
    differential()

    assert server.policy_path is not None
    server.policy_path.write_text(POLICY_B, encoding="utf-8")
    server.reload()
    deadline = time.monotonic() + 10
    while source.bundle.policy_version == first_version:
        assert time.monotonic() < deadline, "the reloaded policy never reached the bundle"
        source.refresh()
        time.sleep(0.05)
    differential()
    assert sum(compared) >= 240  # two runs of at least 120 sequences of at least one call
