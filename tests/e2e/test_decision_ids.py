"""One decision id per governed call, end to end, against a real ``thoth serve``: the SDK's call
id goes out as the enforce request's action_attestation_id, the server answers and stores it as
the decision's ``decision_id`` (with its hold and the hold's resolution), every event of the call
carries it, ``GET /v1/events?decision_id=`` lists exactly that call's events, a refusal names it,
and ``thoth events tail`` prints it. Sync, async, step-up approved and denied, and a block."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

import thoth
from tests.conftest import ThothServer
from thoth import ThothPolicyViolation
from thoth.server import store

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
POLICY = (ROOT / "examples" / "policy.yaml").read_text(encoding="utf-8")


@pytest.fixture
def server(make_thoth_server: Callable[..., ThothServer]) -> ThothServer:
    return make_thoth_server(POLICY)


def tracer_for(server: ThothServer, session_id: str) -> Any:
    return thoth.create_tracer(
        agent_id="ids-agent",
        approved_scope=["read_invoice", "issue_refund"],
        tenant_id=server.tenant_id,
        api_url=server.url,
        api_key=server.api_key,
        session_id=session_id,
        step_up_poll_interval_seconds=0.1,
        step_up_timeout_minutes=1,
    )


def events_of_call(server: ThothServer, decision_id: str, count: int) -> list[dict[str, Any]]:
    thoth.flush(timeout=5)
    with server.client() as client:
        for _ in range(100):
            items: list[dict[str, Any]] = client.get(
                "/v1/events", params={"decision_id": decision_id}
            ).json()["items"]
            if len(items) >= count:
                return items
            threading.Event().wait(0.05)
    return items


def decision_rows(server: ThothServer, session_id: str) -> list[dict[str, Any]]:
    engine = sa.create_engine(server.db_url)
    try:
        with engine.connect() as conn:
            query = sa.select(store.decisions).where(store.decisions.c.session_id == session_id)
            return [dict(row) for row in conn.execute(query.order_by(store.decisions.c.id)).mappings()]
    finally:
        engine.dispose()


@pytest.mark.parametrize("how", ["sync", "async"])
def test_an_allowed_call_its_decision_and_its_events_share_one_id(server: ThothServer, how: str) -> None:
    session_id = f"ids-{uuid.uuid4()}"
    tracer = tracer_for(server, session_id)

    def read_invoice(invoice_id: str) -> str:
        return f"invoice {invoice_id}"

    async def aread_invoice(invoice_id: str) -> str:
        return f"invoice {invoice_id}"

    if how == "sync":
        assert tracer.wrap_tool("read_invoice", read_invoice)(invoice_id="INV-1") == "invoice INV-1"
    else:
        governed = tracer.wrap_tool("read_invoice", aread_invoice)
        assert asyncio.run(governed(invoice_id="INV-1")) == "invoice INV-1"
    [row] = decision_rows(server, session_id)
    decision_id = row["decision_id"]
    assert decision_id
    events = events_of_call(server, decision_id, 2)
    assert [(e["event_type"], e["decision_id"], e["metadata"]["call_id"]) for e in events] == [
        ("TOOL_CALL_PRE", decision_id, decision_id),
        ("TOOL_CALL_POST", decision_id, decision_id),
    ]


def test_a_frameworks_repeated_call_id_still_gets_one_decision_id_per_call(server: ThothServer) -> None:
    """Fake and local models reuse tool-call ids (``call_0``), and a graph resumed from a checkpoint
    runs a call again under its id: each governed call still has its own decision id, and its
    events keep the framework's id as ``call_id``."""
    session_id = f"ids-{uuid.uuid4()}"
    tracer = tracer_for(server, session_id)
    permits = [tracer.authorize("read_invoice", {"invoice_id": "INV-1"}, call_id="call_0") for _ in range(2)]
    for permit in permits:
        permit.finish(result="ok")
    rows = decision_rows(server, session_id)
    assert [row["decision_id"] for row in rows] == [permit.decision_id for permit in permits]
    assert permits[0].decision_id != permits[1].decision_id
    for permit in permits:
        assert permit.call_id == "call_0"
        events = events_of_call(server, permit.decision_id, 2)
        assert [(e["event_type"], e["metadata"]["call_id"]) for e in events] == [
            ("TOOL_CALL_PRE", "call_0"),
            ("TOOL_CALL_POST", "call_0"),
        ]
    with pytest.raises(ThothPolicyViolation) as caught:
        tracer.authorize("delete_customer", {"customer_id": "C-1"}, call_id="call_0")
    assert caught.value.decision_id not in {permit.decision_id for permit in permits}
    assert caught.value.decision_id == decision_rows(server, session_id)[-1]["decision_id"]


def test_a_blocked_call_names_its_decision_on_the_refusal_and_the_block_event(server: ThothServer) -> None:
    session_id = f"ids-{uuid.uuid4()}"
    tracer = tracer_for(server, session_id)
    with pytest.raises(ThothPolicyViolation) as caught:
        tracer.authorize("delete_customer", {"customer_id": "C-1"})
    decision_id = caught.value.decision_id
    assert decision_id is not None
    [row] = decision_rows(server, session_id)
    assert (row["decision"], row["decision_id"]) == ("BLOCK", decision_id)
    events = events_of_call(server, decision_id, 2)
    assert [e["event_type"] for e in events] == ["TOOL_CALL_PRE", "TOOL_CALL_BLOCK"]
    assert {e["violation_id"] for e in events[1:]} == {caught.value.violation_id}


@pytest.mark.parametrize("resolution", ["ALLOW", "BLOCK"])
def test_a_step_up_its_hold_and_its_resolution_keep_the_calls_id(
    server: ThothServer, resolution: str
) -> None:
    session_id = f"ids-{uuid.uuid4()}"
    tracer = tracer_for(server, session_id)

    def resolve() -> None:
        hold = server.wait_for_hold(session_id)
        (server.approve if resolution == "ALLOW" else server.deny)(hold["hold_token"])

    resolver = threading.Thread(target=resolve)
    resolver.start()
    refund = tracer.wrap_tool("issue_refund", lambda amount: f"refunded {amount}")
    if resolution == "ALLOW":
        assert refund(amount=2500) == "refunded 2500"
        decision_id = None
    else:
        with pytest.raises(ThothPolicyViolation) as caught:
            refund(amount=2500)
        decision_id = caught.value.decision_id
    resolver.join(timeout=10)
    rows = decision_rows(server, session_id)
    assert [r["kind"] for r in rows] == [
        "decision",
        "hold_approved" if resolution == "ALLOW" else "hold_denied",
    ]
    ids = {r["decision_id"] for r in rows}
    assert len(ids) == 1
    [the_id] = ids
    assert decision_id in (None, the_id)
    [hold] = server.holds(session_id=session_id)
    engine = sa.create_engine(server.db_url)
    with engine.connect() as conn:
        stored = conn.execute(
            sa.select(store.holds.c.decision_id).where(store.holds.c.hold_token == hold["hold_token"])
        )
        assert stored.scalar_one() == the_id
    engine.dispose()
    last = "TOOL_CALL_POST" if resolution == "ALLOW" else "TOOL_CALL_BLOCK"
    assert [e["event_type"] for e in events_of_call(server, the_id, 2)] == ["TOOL_CALL_PRE", last]


def test_the_enforce_answer_carries_the_id_sent_or_one_the_server_made(server: ThothServer) -> None:
    base = {
        "tool_name": "read_invoice",
        "approved_scope": ["read_invoice"],
        "session_id": f"ids-{uuid.uuid4()}",
    }
    sent = server.enforce(**base, action_attestation_id="call-123.abc:7")
    assert sent["decision_id"] == "call-123.abc:7"
    made = server.enforce(**base)
    odd = server.enforce(**base, action_attestation_id="has spaces / and slashes")
    for answer in (made, odd):
        assert answer["decision_id"].startswith("dec_")
        assert len(answer["decision_id"]) == 28
    assert made["decision_id"] != odd["decision_id"]


def test_events_are_filtered_by_decision_id_and_a_bad_one_is_a_400(server: ThothServer) -> None:
    with server.client() as client:
        assert client.get("/v1/events", params={"decision_id": "nobody-1"}).json()["items"] == []
        for bad in ("", "a b", "x" * 257, "<script>"):
            response = client.get("/v1/events", params={"decision_id": bad})
            assert response.status_code == 400, bad
            assert response.json()["code"] == "bad_request"
    other = httpx.get(f"{server.url}/v1/events", params={"decision_id": "x"})
    assert other.status_code == 401


def test_thoth_events_tail_prints_each_events_decision(server: ThothServer) -> None:
    session_id = f"ids-{uuid.uuid4()}"
    tracer = tracer_for(server, session_id)
    tracer.wrap_tool("read_invoice", lambda invoice_id: "ok")(invoice_id="INV-2")
    [row] = decision_rows(server, session_id)
    events_of_call(server, row["decision_id"], 2)
    env = {k: v for k, v in os.environ.items() if not k.startswith("THOTH_")}
    env |= {"THOTH_API_URL": server.url, "THOTH_API_KEY": server.api_key}
    tail = subprocess.run(
        [sys.executable, "-m", "thoth.cli", "events", "tail", "--session", session_id],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=True,
    )
    lines = [line for line in tail.stdout.splitlines() if "TOOL_CALL_" in line]
    assert len(lines) == 2
    assert all(f"  decision={row['decision_id']}" in line for line in lines)
