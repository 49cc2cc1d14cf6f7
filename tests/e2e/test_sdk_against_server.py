"""The SDK against a real `thoth serve` on 127.0.0.1: every decision, holds, events, the demo."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import thoth
from tests.conftest import ThothServer
from thoth import ThothPolicyViolation
from thoth._runtime import runtime

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
POLICY = (ROOT / "examples" / "policy.yaml").read_text(encoding="utf-8")


class Tool:
    def __init__(self, name: str, fn: Callable[..., Any]) -> None:
        self.name = name
        self.fn = fn
        self.calls: list[dict[str, Any]] = []

    def run(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        return self.fn(**kwargs)


class Agent:
    def __init__(self, *tools: Tool) -> None:
        self.tools = list(tools)

    def tool(self, name: str) -> Tool:
        return next(t for t in self.tools if t.name == name)


def governed(
    server: ThothServer, *tools: Tool, enforcement: str = "progressive", **options: Any
) -> tuple[Agent, str]:
    session_id = f"e2e-{uuid.uuid4()}"
    agent = thoth.instrument(
        Agent(*tools),
        agent_id="e2e-agent",
        approved_scope=["read_invoice", "issue_refund", "export_report", "send_email"],
        tenant_id=server.tenant_id,
        enforcement=enforcement,
        api_url=server.url,
        api_key=server.api_key,
        session_id=session_id,
        step_up_poll_interval_seconds=0.1,
        step_up_timeout_minutes=1,
        **options,
    )
    return agent, session_id


def events_of(server: ThothServer, session_id: str, count: int) -> list[dict[str, Any]]:
    """The session's events once ``count`` have arrived (thoth.flush() covers every endpoint
    this process ever used, including servers of earlier tests that are gone)."""
    thoth.flush(timeout=2)
    deadline = time.monotonic() + 10
    while True:
        events = server.events(session_id)
        if len(events) >= count or time.monotonic() > deadline:
            return events
        time.sleep(0.05)


@pytest.fixture
def server(make_thoth_server: Callable[..., ThothServer]) -> ThothServer:
    return make_thoth_server(POLICY)


def test_allow_block_and_modify_through_the_sdk(server: ThothServer) -> None:
    read = Tool("read_invoice", lambda invoice_id: f"invoice {invoice_id}")
    delete = Tool("delete_customer", lambda customer_id: "deleted")
    export = Tool("export_report", lambda rows, include_pii: (rows, include_pii))
    agent, session_id = governed(server, read, delete, export)

    assert agent.tool("read_invoice").run(invoice_id="INV-1") == "invoice INV-1"
    with pytest.raises(ThothPolicyViolation) as caught:
        agent.tool("delete_customer").run(customer_id="C-1")
    assert caught.value.reason == "deleting customer data is never automated"
    assert caught.value.violation_id and caught.value.violation_id.startswith("vio_")
    assert delete.calls == []
    assert agent.tool("export_report").run(rows=10, include_pii=True) == (10, False)
    assert export.calls == [{"rows": 10, "include_pii": False}]

    events = events_of(server, session_id, 6)
    kinds = [(e["event_type"], e["tool_name"]) for e in events]
    assert ("TOOL_CALL_BLOCK", "delete_customer") in kinds
    assert ("TOOL_CALL_POST", "export_report") in kinds
    assert {e["chain_status"] for e in events} == {"verified"}  # the SDK's chain checks out


def test_step_up_waits_for_an_approver(server: ThothServer) -> None:
    refund = Tool("issue_refund", lambda invoice_id, amount: f"refunded {amount}")
    agent, session_id = governed(server, refund)
    approver = threading.Thread(target=lambda: server.approve(server.wait_for_hold(session_id)["hold_token"]))
    approver.start()
    assert agent.tool("issue_refund").run(invoice_id="INV-9", amount=2500) == "refunded 2500"
    approver.join(timeout=10)
    [hold] = server.holds("approved", session_id)
    assert (hold["tool_name"], hold["approver"]) == ("issue_refund", "pytest")


@pytest.mark.parametrize("how", ["sync", "async"])
def test_a_step_up_logs_its_approval_link_once_and_the_event_names_the_approver(
    make_thoth_server: Callable[..., ThothServer], how: str, caplog: pytest.LogCaptureFixture
) -> None:
    """With --public-url the SDK says once where to approve (by the hold's ref, never its
    token); the approved call's TOOL_CALL_POST names who approved it (a named admin key)."""
    named = [
        "--admin-key",
        "alice@acme.com=acme-corp:thoth_admin_alice_0123456789",
        "--public-url",
        "https://thoth.example.com",
    ]
    server = make_thoth_server(POLICY, extra_args=named)
    refund = Tool("issue_refund", lambda invoice_id, amount: f"refunded {amount}")
    agent, session_id = governed(server, refund)
    held: list[dict[str, Any]] = []

    def approve() -> None:
        held.append(server.wait_for_hold(session_id))
        with server.client("thoth_admin_alice_0123456789") as client:
            client.post(f"/v1/enforce/hold/{held[0]['hold_token']}/resolve", json={"resolution": "ALLOW"})

    approver = threading.Thread(target=approve)
    approver.start()
    with caplog.at_level(logging.WARNING, logger="thoth"):
        if how == "sync":
            result = agent.tool("issue_refund").run(invoice_id="INV-9", amount=2500)
        else:
            result = asyncio.run(async_refund(server, session_id)(invoice_id="INV-9", amount=2500))
    approver.join(timeout=10)
    assert result == "refunded 2500"
    links = [r.getMessage() for r in caplog.records if "waits for approval" in r.getMessage()]
    assert links == [
        f"thoth: issue_refund waits for approval at https://thoth.example.com/ui/holds/{held[0]['hold_ref']}"
    ]
    assert held[0]["hold_token"] not in caplog.text
    posts = [e for e in events_of(server, session_id, 2) if e["event_type"] == "TOOL_CALL_POST"]
    assert [e["metadata"].get("approver") for e in posts] == ["alice@acme.com"]
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
    [post] = [line for line in tail.stdout.splitlines() if "TOOL_CALL_POST" in line]
    assert post.endswith("  approver=alice@acme.com")


def async_refund(server: ThothServer, session_id: str) -> Callable[..., Any]:
    async def issue_refund(invoice_id: str, amount: int) -> str:
        return f"refunded {amount}"

    tracer = thoth.create_tracer(
        agent_id="e2e-agent",
        approved_scope=["read_invoice"],
        tenant_id=server.tenant_id,
        api_url=server.url,
        api_key=server.api_key,
        session_id=session_id,
        step_up_poll_interval_seconds=0.1,
    )
    return tracer.wrap_tool("issue_refund", issue_refund)


def test_a_denied_step_up_refuses_and_progressive_then_blocks(server: ThothServer) -> None:
    refund = Tool("issue_refund", lambda invoice_id, amount: "refunded")
    email = Tool("send_email", lambda to: "sent")
    agent, session_id = governed(server, refund, email)
    denier = threading.Thread(target=lambda: server.deny(server.wait_for_hold(session_id)["hold_token"]))
    denier.start()
    with pytest.raises(ThothPolicyViolation) as caught:
        agent.tool("issue_refund").run(invoice_id="INV-9", amount=5000)
    denier.join(timeout=10)
    assert caught.value.decision in ("STEP_UP", "BLOCK")
    assert refund.calls == []
    # after a denial, progressive mode blocks the next violation outright: no new hold
    with pytest.raises(ThothPolicyViolation) as blocked:
        agent.tool("send_email").run(to="eve@evil.example")
    assert blocked.value.reason_code == "REPEATED_VIOLATION"
    assert server.holds("pending", session_id) == []


@pytest.mark.parametrize("how", ["sync", "async"])
def test_an_enforcer_that_dies_during_a_hold_fails_closed_after_the_grace(
    server: ThothServer, how: str
) -> None:
    """The enforcer is killed while a STEP_UP hold is pending: the call keeps polling for the grace
    period (not the 1-minute step-up timeout), then refuses with enforcer_unreachable and says the
    hold may still be pending; the tool body never runs."""
    refund = Tool("issue_refund", lambda invoice_id, amount: "refunded")
    agent, session_id = governed(server, refund, step_up_unreachable_grace_seconds=1.0)
    killer = threading.Thread(target=lambda: (server.wait_for_hold(session_id), server.stop(signal.SIGKILL)))
    args = {"invoice_id": "INV-9", "amount": 5000}

    def call() -> None:
        if how == "sync":
            agent.tool("issue_refund").run(**args)
            return
        tracer = thoth.create_tracer(
            agent_id="e2e-agent",
            approved_scope=["issue_refund"],
            tenant_id=server.tenant_id,
            api_url=server.url,
            api_key=server.api_key,
            session_id=session_id,
            step_up_poll_interval_seconds=0.1,
            step_up_unreachable_grace_seconds=1.0,
        )
        asyncio.run(tracer.aauthorize("issue_refund", args))

    killer.start()
    started = time.monotonic()
    with pytest.raises(ThothPolicyViolation) as caught:
        call()
    waited = time.monotonic() - started
    killer.join(timeout=10)
    assert caught.value.reason_code == "enforcer_unreachable"
    assert "may still be pending" in caught.value.reason
    assert refund.calls == []
    assert waited < 30  # bounded by the 1 s grace (plus the wait for the hold), not the step-up timeout


def test_observe_mode_never_blocks_and_the_call_is_audited(server: ThothServer) -> None:
    delete = Tool("delete_customer", lambda customer_id: "deleted")
    agent, session_id = governed(server, delete, enforcement="observe")
    assert agent.tool("delete_customer").run(customer_id="C-1") == "deleted"
    events = events_of(server, session_id, 2)
    assert [e["event_type"] for e in events] == ["TOOL_CALL_PRE", "TOOL_CALL_POST"]
    assert {e["enforcement_mode"] for e in events} == {"observe"}
    # The SDK's background shadow check lets the enforcer record what it would have decided.
    assert runtime().background.wait_idle(10.0)
    engine = sa.create_engine(server.db_url)
    query = sa.text("SELECT decision, shadow_decision, mode FROM thoth_decisions WHERE session_id = :s")
    deadline = time.monotonic() + 10  # decision rows are written in groups, up to 50 ms late
    rows: list[Any] = []
    while not rows and time.monotonic() < deadline:
        with engine.connect() as conn:
            rows = list(conn.execute(query, {"s": session_id}))
        time.sleep(0.05)
    engine.dispose()
    assert [tuple(r) for r in rows] == [("ALLOW", "BLOCK", "observe")]


def test_the_demo_runs_end_to_end() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "run_demo.py")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for expected in ("blocked: deleting customer data", "include_pii=False", "refunded 2500", "demo OK"):
        assert expected in result.stdout
    assert "approved by demo-approver" in result.stdout  # the named admin key, not the OS user
    link = re.search(
        r"waits for approval at (http://127\.0\.0\.1:\d+/ui/holds/[0-9a-f]{20})$", result.stderr, re.M
    )
    assert link, result.stderr
