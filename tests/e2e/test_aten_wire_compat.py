"""A deployed aten-thoth 0.1.10 client must be served by `thoth serve` (wire-facts.md).

The requests below are byte-for-byte the shapes aten-thoth 0.1.10 sends: its
EnforcerClient posts with ``x-api-key`` only, its StepUpClient and HttpEmitter use
``Authorization: Bearer`` only, and its BehavioralEvent serialises unset optional
fields as null and leaves the chain fields empty.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.conftest import ThothServer


def _aten_enforce_body(server: ThothServer, session_id: str, tool: str, calls: list[str]) -> dict[str, Any]:
    return {  # EnforcerClient._payload of aten-thoth 0.1.10
        "agent_id": "aten-agent",
        "tenant_id": server.tenant_id,
        "user_id": "system",
        "tool_name": tool,
        "session_id": session_id,
        "session_tool_calls": calls,
        "approved_scope": ["read_file"],
        "enforcement_mode": "step_up",
        "environment": "prod",
        "enforcement_trace_id": session_id,
        "tool_args": {"args": ["/tmp/report.txt"]},
    }


def _aten_event(server: ThothServer, session_id: str, event_type: str) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return {  # BehavioralEvent.model_dump(mode="json") of aten-thoth 0.1.10
        "event_id": str(uuid.uuid4()),
        "tenant_id": server.tenant_id,
        "agent_id": "aten-agent",
        "session_id": session_id,
        "user_id": "system",
        "source_type": "agent_tool_call",
        "event_type": event_type,
        "content": "('/tmp/report.txt',)",
        "metadata": {},
        "approved_scope": ["read_file"],
        "enforcement_mode": "step_up",
        "session_tool_calls": [],
        "tool_name": "read_file",
        "endpoint_id": None,
        "hostname": None,
        "occurred_at": now,
        "ingested_at": now,
        "ttl": int(time.time()) + 90 * 24 * 3600,
        "violation_id": None,
        "chain_index": 0,
        "hash": "",
        "previous_hash": "",
        "signature": "",
    }


def test_aten_enforce_hold_and_events_are_served(thoth_server: ThothServer) -> None:
    session_id = str(uuid.uuid4())
    with httpx.Client(base_url=thoth_server.url, timeout=10.0) as http:
        allowed = http.post(
            "/v1/enforce",
            headers={"x-api-key": thoth_server.api_key},
            json=_aten_enforce_body(thoth_server, session_id, "read_file", ["read_file"]),
        )
        assert allowed.status_code == 200 and allowed.json()["decision"] == "ALLOW"

        held = http.post(
            "/v1/enforce",
            headers={"x-api-key": thoth_server.api_key},
            json=_aten_enforce_body(thoth_server, session_id, "send_email", ["read_file", "send_email"]),
        )
        assert held.status_code == 200
        decision = held.json()
        assert decision["decision"] == "STEP_UP" and decision["hold_token"]

        bearer = {"Authorization": f"Bearer {thoth_server.api_key}"}
        pending = http.get(f"/v1/enforce/hold/{decision['hold_token']}", headers=bearer)
        assert pending.status_code == 200 and pending.json()["resolved"] is False
        thoth_server.approve(decision["hold_token"])
        approved = http.get(f"/v1/enforce/hold/{decision['hold_token']}", headers=bearer).json()
        assert (approved["resolved"], approved["resolution"]) == (True, "ALLOW")

        batch = [_aten_event(thoth_server, session_id, kind) for kind in ("TOOL_CALL_PRE", "TOOL_CALL_POST")]
        stored = http.post(
            "/v1/events/batch", headers={**bearer, "Content-Type": "application/json"}, json=batch
        )
        assert 200 <= stored.status_code < 300, stored.text
        again = http.post("/v1/events/batch", headers=bearer, json=batch)  # a retried batch is idempotent
        assert 200 <= again.status_code < 300

    events = thoth_server.events(session_id=session_id)
    assert [e["event_type"] for e in events] == ["TOOL_CALL_PRE", "TOOL_CALL_POST"]
    assert all(e["chain_status"] == "unchained" for e in events)
