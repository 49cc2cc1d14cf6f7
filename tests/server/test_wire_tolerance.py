"""Liberal in what it accepts: released clients' extension fields and event-id forms (issue 16).

The shapes below are what atensec-thoth 0.5.25 and aten-thoth 0.1.15 send (read from their
``EnforcerClient._payload`` and ``BehavioralEvent``); the compatibility matrix (tests/compat)
drives the real clients, these check what the server does with each field.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import sqlalchemy as sa
import yaml

from tests._contract import SPEC_PATH
from tests.conftest import ThothServer
from tests.server.test_api import chained_events, new_session
from thoth._chain import event_hash
from thoth.server import store


def _atensec_enforce(server: ThothServer, session: str, tool: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {  # EnforcerClient._payload of atensec-thoth 0.5.25
        "agent_id": "atensec-agent",
        "tenant_id": server.tenant_id,
        "user_id": "system",
        "identity_binding": {"agent_id": "atensec-agent", "tenant_id": server.tenant_id, "user_id": "system"},
        "tool_name": tool,
        "session_id": session,
        "session_tool_calls": [tool],
        "approved_scope": ["read_file"],
        "enforcement_mode": "block",
        "environment": "prod",
        "enforcement_trace_id": session,
        "action_attestation_id": str(uuid.uuid4()),
        "metadata": {"mcp_runtime_identity": "svc-a"},
        "auth_context": {"service_identity": "svc-a"},
        "task_context": {"initiated_by": "alice", "task_id": "t-1", "chain": ["a"]},
        "model_name": "gpt-x",
    }
    body.update(extra)
    return body


def _decision_rows(server: ThothServer, session: str) -> list[dict[str, Any]]:
    engine = sa.create_engine(server.db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(store.decisions).where(store.decisions.c.session_id == session))
            return [dict(row) for row in rows.mappings()]
    finally:
        engine.dispose()


def test_an_atensec_request_is_decided_and_its_extension_fields_are_kept(thoth_server: ThothServer) -> None:
    session = new_session()
    with thoth_server.client() as client:
        answer = client.post("/v1/enforce", json=_atensec_enforce(thoth_server, session, "read_file"))
    assert answer.status_code == 200, answer.text
    decision = answer.json()
    assert decision["decision"] == "ALLOW"
    assert decision["decision_envelope_version"] == "1"
    assert decision["policy_references"] == [
        f"policy:{decision['policy_version']}#{rule}" for rule in decision["matched_rule_ids"]
    ]
    (row,) = _decision_rows(thoth_server, session)
    assert json.loads(row["extensions"]) == {
        "metadata": {"mcp_runtime_identity": "svc-a"},
        "auth_context": {"service_identity": "svc-a"},
        "model_name": "gpt-x",
    }


def test_a_call_bound_to_another_identity_is_blocked(thoth_server: ThothServer) -> None:
    session = new_session()
    binding = {"agent_id": "someone-else", "tenant_id": thoth_server.tenant_id}
    with thoth_server.client() as client:
        body = _atensec_enforce(thoth_server, session, "read_file", identity_binding=binding)
        decision = client.post("/v1/enforce", json=body).json()
    assert decision["decision"] == "BLOCK"
    assert decision["decision_reason_code"] == "identity_mismatch"
    assert decision["matched_rule_ids"] == ["builtin.identity_binding"]
    assert "identity_binding.agent_id" in decision["reason"]


def test_extension_fields_beyond_the_bound_are_refused_with_the_reason(thoth_server: ThothServer) -> None:
    session = new_session()
    with thoth_server.client() as client:
        many = client.post(
            "/v1/enforce",
            json=_atensec_enforce(thoth_server, session, "read_file", **{f"x{n}": n for n in range(62)}),
        )
        big = client.post(
            "/v1/enforce", json=_atensec_enforce(thoth_server, session, "read_file", blob="x" * 17_000)
        )
    assert many.status_code == 422
    assert "at most 64 fields the contract does not define, not 65" in many.json()["message"]
    assert big.status_code == 422
    assert "at most 16384" in big.json()["message"]
    assert _decision_rows(thoth_server, session) == []


def _event(server: ThothServer, session: str, event_id: str, **extra: Any) -> dict[str, Any]:
    event = chained_events(server, session, 1)[0]
    event.update(event_id=event_id, **extra)
    event["hash"] = event_hash({k: v for k, v in event.items() if k != "hash"})
    return event


def test_tenant_prefixed_ids_are_one_event_in_either_form(thoth_server: ThothServer) -> None:
    session, bare = new_session(), str(uuid.uuid4())
    prefixed = _event(thoth_server, session, f"{thoth_server.tenant_id}:{bare.upper()}", purpose="billing")
    with thoth_server.client() as client:
        first = client.post("/v1/events/batch", json=[prefixed]).json()
        again = client.post("/v1/events/batch", json=[dict(prefixed, event_id=bare)]).json()
    assert (first["accepted"], first["duplicates"]) == (1, 0)
    assert (again["accepted"], again["duplicates"], again["conflicts"]) == (0, 1, 0)
    (stored,) = thoth_server.events(session)
    assert stored["event_id"] == prefixed["event_id"]  # as sent: the hash covers it
    assert stored["purpose"] == "billing"  # an extension field, kept
    assert stored["chain_status"] == "verified"


def test_a_resend_with_other_content_is_a_conflict_the_sender_sees(thoth_server: ThothServer) -> None:
    session, event_id = new_session(), str(uuid.uuid4())
    original = _event(thoth_server, session, event_id)
    changed = dict(original, content='{"path": "/etc/shadow"}', event_id=event_id.upper())
    with thoth_server.client() as client:
        client.post("/v1/events/batch", json=[original]).raise_for_status()
        answer = client.post("/v1/events/batch", json=[changed]).json()
        in_one_batch = client.post(
            "/v1/events/batch", json=[dict(original, event_id=str(uuid.uuid4()).upper())] * 2
        ).json()
    assert answer == {
        "accepted": 0,
        "duplicates": 0,
        "chain_breaks": 0,
        "redacted": 0,
        "conflicts": 1,
        "conflict_event_ids": [event_id],
    }
    assert (in_one_batch["accepted"], in_one_batch["duplicates"], in_one_batch["conflicts"]) == (1, 1, 0)
    stored = [e for e in thoth_server.events(session) if e["event_id"] == event_id]
    assert [e["content"] for e in stored] == [original["content"]]  # the first one stands


def test_a_prefix_of_another_tenant_is_refused(thoth_server: ThothServer) -> None:
    session = new_session()
    event = _event(thoth_server, session, f"other-tenant:{uuid.uuid4()}")
    with thoth_server.client() as client:
        answer = client.post("/v1/events/batch", json=[event])
    assert answer.status_code == 403
    assert "tenant prefix" in answer.json()["message"]
    assert thoth_server.events(session) == []


def test_the_tool_inventory_is_recorded_per_agent_and_replaced(thoth_server: ThothServer) -> None:
    tenant = thoth_server.tenant_id
    first = {
        "agent_id": "inv-agent",
        "source": "python_sdk",
        "tools": [
            {"name": "send_email", "description": "Send", "input_schema": {"type": "object"}},
            {"name": "read_file", "description": "Read", "input_schema": {}},
        ],
    }
    with thoth_server.client() as client:
        assert client.post(f"/{tenant}/thoth/tool-inventory", json=first).json() == {"stored": 2}
        update = {"agent_id": "inv-agent", "tools": [{"name": "send_email", "description": "Send mail"}]}
        assert client.post(f"/{tenant}/thoth/tool-inventory", json=update).json() == {"stored": 1}
        other = client.post("/other-tenant/thoth/tool-inventory", json=first)
        bad = client.post(f"/{tenant}/thoth/tool-inventory", json={"agent_id": "inv-agent", "tools": []})
        listed = client.get("/v1/tool-inventory", params={"agent_id": "inv-agent"}).json()
    assert other.status_code == 403
    assert bad.status_code == 422
    assert [(t["name"], t["description"], t["source"]) for t in listed["items"]] == [
        ("read_file", "Read", "python_sdk"),
        ("send_email", "Send mail", None),
    ]


def test_events_may_carry_the_key_as_atensecs_ingest_token(thoth_server: ThothServer) -> None:
    session = new_session()
    event = _event(thoth_server, session, str(uuid.uuid4()))
    with httpx.Client(base_url=thoth_server.url, timeout=10) as client:
        accepted = client.post(
            "/v1/events/batch", json=[event], headers={"X-Thoth-Event-Ingest-Token": thoth_server.api_key}
        )
        wrong = client.post("/v1/events/batch", json=[event], headers={"X-Thoth-Event-Ingest-Token": "nope"})
        not_for_enforce = client.post(
            "/v1/enforce",
            json=_atensec_enforce(thoth_server, session, "read_file"),
            headers={"X-Thoth-Event-Ingest-Token": thoth_server.api_key},
        )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["accepted"] == 1
    assert wrong.status_code == 401
    assert not_for_enforce.status_code == 401


def test_explain_tells_the_stored_decision_and_the_rule(make_thoth_server: Any) -> None:
    server = make_thoth_server(
        policy_text=(
            "version: 1\nrules:\n  - id: no-wire\n    tools: [wire_money]\n    decision: BLOCK\n"
            "    reason: money moves need a ticket\n"
        )
    )
    session = new_session()
    with server.client() as client:
        blocked = client.post("/v1/enforce", json=_atensec_enforce(server, session, "wire_money")).json()
        asked = {"tool_name": "wire_money", "violation_id": blocked["violation_id"], "decision": "ALLOW"}
        stored = client.post("/v1/explain", json=asked).json()
        stated = client.post("/v1/explain", json={"tool_name": "read_file", "decision": "ALLOW"}).json()
    assert blocked["decision"] == "BLOCK"
    assert stored["source"] == "stored"  # the client's claim of ALLOW does not change what is explained
    assert stored["decision"] == "BLOCK"
    assert stored["violation_id"] == blocked["violation_id"]
    assert "no-wire" in stored["why_it_was_blocked"]
    assert "money moves need a ticket" in stored["why_it_was_blocked"]
    assert stored["severity"] == "high"
    assert (stated["source"], stated["violation_id"], stated["severity"]) == ("request", "", "low")


def test_lenient_bodies_still_refuse_unbounded_fields(thoth_server: ThothServer) -> None:
    """Explain and tool-inventory bodies ignore fields they do not know, up to the spec's bound."""
    doc = _spec_schemas()
    padded = {f"x_{n}": 1 for n in range(doc["ExplainRequest"]["maxProperties"])}
    inventory = {"agent_id": "a", "tools": [{"name": "t"}]}
    with thoth_server.client() as client:
        explain = client.post("/v1/explain", json={"tool_name": "t", **padded})
        inventory_too_wide = client.post(
            "/acme/thoth/tool-inventory",
            json={**inventory, **{f"x_{n}": 1 for n in range(doc["ToolInventory"]["maxProperties"])}},
        )
        at_bound = client.post("/v1/explain", json={"tool_name": "t", **dict(list(padded.items())[1:])})
    assert (explain.status_code, inventory_too_wide.status_code, at_bound.status_code) == (422, 422, 200)
    assert "at most 128 fields" in explain.json()["message"]


def _spec_schemas() -> dict[str, Any]:
    return dict(yaml.safe_load(SPEC_PATH.read_text())["components"]["schemas"])


def test_a_client_that_predates_modify_and_defer_is_told_block(make_thoth_server: Any) -> None:
    """aten-thoth 0.1.0-0.1.6 send no tool_args and no enforcement_trace_id, and run the tool on
    a MODIFY or DEFER they cannot read: they get BLOCK. Later clients get the policy's answer."""
    server = make_thoth_server(
        policy_text=(
            "version: 1\nrules:\n"
            "  - id: mask-ssn\n    tools: [lookup_customer]\n    decision: MODIFY\n"
            "    modify: {mask: [ssn]}\n"
            "  - id: wait\n    tools: [export_report]\n    decision: DEFER\n"
        )
    )
    scope = ["lookup_customer", "export_report"]
    legacy = {"session_tool_calls": [], "approved_scope": scope, "enforcement_mode": "progressive"}
    answers = {}
    for tool in scope:
        old = server.enforce(tool_name=tool, session_id=new_session(), **legacy)
        new = server.enforce(tool_name=tool, session_id=new_session(), enforcement_trace_id="t-1", **legacy)
        args = server.enforce(tool_name=tool, session_id=new_session(), tool_args={"ssn": "1"}, **legacy)
        answers[tool] = (old["decision"], old["decision_reason_code"], new["decision"], args["decision"])
        assert "this client cannot apply" in old["reason"]
        assert old["violation_id"].startswith("vio_")
    assert answers == {
        "lookup_customer": ("BLOCK", "CLIENT_CANNOT_APPLY", "MODIFY", "MODIFY"),
        "export_report": ("BLOCK", "CLIENT_CANNOT_APPLY", "DEFER", "DEFER"),
    }
