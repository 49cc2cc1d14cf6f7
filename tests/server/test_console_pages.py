"""The console's Sessions, Violations, Policies and Analytics pages on a real ``thoth serve``
(SQLite and PostgreSQL): what each shows of recorded decisions, holds and events, tenant scope,
windows (with decisions and holds backdated in the store itself), the draft policy check in the
CLI's words, and escaping of what agents sent."""

from __future__ import annotations

import html
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import ThothServer
from tests.server.test_api import chained_events
from tests.server.test_console_http import B_AGENT, TENANT_B, console
from thoth.server import store

pytestmark = pytest.mark.e2e

POLICY = """\
version: 1
rules:
  - id: no-deletes
    tools: ["delete_*"]
    decision: BLOCK
    reason: deleting customer data is never automated
  - id: large-refunds
    tools: [issue_refund]
    when: args.amount >= 1000
    decision: STEP_UP
    reason: refunds of 1000 or more need a human
  - id: never-used
    tools: [launch_rocket]
    decision: BLOCK
    reason: not today
"""
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def server(make_thoth_server: Callable[..., ThothServer]) -> ThothServer:
    return make_thoth_server(POLICY, extra_args=TENANT_B)


def call(
    server: ThothServer, session: str, tool: str, key: str | None = None, **extra: Any
) -> dict[str, Any]:
    body = {
        "tool_name": tool,
        "session_id": session,
        "enforcement_mode": "block",
        "approved_scope": [tool],
        "tool_args": {"amount": 5},
    } | extra
    return server.enforce(key, **body)


def page(client: httpx.Client, path: str, **params: str) -> str:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.text


def rows_of(text: str, table_id: str) -> list[str]:
    body = text.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    return re.findall(r"<tr[ >].*?</tr>", body.split("<tbody>", 1)[1], re.S)


def engine_of(server: ThothServer) -> sa.Engine:
    return store.create_engine(server.db_url)


def backdate(server: ThothServer, rows: list[dict[str, Any]]) -> None:
    """Decisions of days ago, written to the store as the enforcer would have."""
    engine = engine_of(server)
    with engine.begin() as conn:
        conn.execute(sa.insert(store.decisions), rows)
    engine.dispose()


def decision_row(server: ThothServer, tool: str, decision: str, rules: str, age: float) -> dict[str, Any]:
    return {
        "tenant_id": server.tenant_id,
        "session_id": f"old-{uuid.uuid4()}",
        "agent_id": "old-agent",
        "tool_name": tool,
        "kind": "decision",
        "decision": decision,
        "reason": "from before",
        "rule_ids": rules,
        "created_at": time.time() - age,
    }


def test_sessions_list_filters_and_a_timeline_with_its_chain(server: ThothServer) -> None:
    quiet, refused, other = (f"s-{uuid.uuid4()}" for _ in range(3))
    call(server, quiet, "read_file")
    call(server, refused, "delete_user", agent_id="cleaner")
    call(server, other, "read_file", key=B_AGENT, tenant_id="tenant-b")
    with server.client() as client:
        client.post("/v1/events/batch", json=chained_events(server, quiet, 3)).raise_for_status()
    broken = f"s-{uuid.uuid4()}"
    gap = chained_events(server, broken, 3)
    with server.client() as client:
        client.post("/v1/events/batch", json=[gap[0], gap[2]]).raise_for_status()
    with console(server, server.admin_key) as c:
        listed = page(c.http, "/ui/sessions")
        for session in (quiet, refused, broken):
            assert session in listed
        assert other not in listed  # tenant-b's session, for acme's admin
        [row] = [r for r in rows_of(listed, "sessions") if quiet in r]
        assert re.findall(r'class="num[^"]*">(\d+)<', row) == ["1", "0", "0", "3"]
        assert "1 broken" in next(r for r in rows_of(listed, "sessions") if broken in r)
        blocked = page(c.http, "/ui/sessions", decision="BLOCK")
        assert refused in blocked and quiet not in blocked and broken not in blocked
        assert quiet not in page(c.http, "/ui/sessions", agent="cleaner")
        assert refused in page(c.http, "/ui/sessions", agent="cleaner")
        assert "No sessions match." in page(c.http, "/ui/sessions", tenant="tenant-b")  # not acme's to see
        timeline = page(c.http, "/ui/session", tenant=server.tenant_id, id=quiet)
        assert "Verified: all 3 events link; head at index 2." in timeline
        assert timeline.count("TOOL_CALL_PRE") == 3 and "ALLOW" in timeline
        assert "Broken: 1 of 2 events did not link (first: gap at index 2)." in page(
            c.http, "/ui/session", tenant=server.tenant_id, id=broken
        )
        assert c.http.get("/ui/session", params={"tenant": "tenant-b", "id": other}).status_code == 404
        assert c.http.get("/ui/session", params={"tenant": server.tenant_id}).status_code == 404


def test_violations_show_blocks_and_holds_with_their_outcome_and_the_calls_record(
    server: ThothServer,
) -> None:
    session = f"v-{uuid.uuid4()}"
    blocked = call(server, session, "delete_user")
    held = call(server, session, "issue_refund", enforcement_mode="step_up", tool_args={"amount": 2500})
    assert (blocked["decision"], held["decision"]) == ("BLOCK", "STEP_UP")
    call(server, session, "read_file")
    with console(server, server.admin_key) as c:
        rows = rows_of(page(c.http, "/ui/violations"), "violations")
        assert len(rows) == 2  # the ALLOW is not a violation
        assert "waiting for approval" in rows[0] and "issue_refund" in rows[0]
        assert "no-deletes" in rows[1] and "deleting customer data is never automated" in rows[1]
        server.approve(held["hold_token"])
        rows = rows_of(page(c.http, "/ui/violations"), "violations")
        assert "approved by pytest" in rows[0]
        assert len(rows_of(page(c.http, "/ui/violations", decision="BLOCK"), "violations")) == 1
        record = page(c.http, f"/ui/calls/{held['decision_id']}")
        assert "STEP_UP" in record and "APPROVED" in record
        assert "&#34;amount&#34;: 2500" in record or "&quot;amount&quot;: 2500" in record
        assert held["hold_ref"] in record and held["hold_token"] not in record
        assert c.http.get("/ui/calls/no-such-call").status_code == 404
        assert c.http.get("/ui/calls/bad%20id").status_code == 404


def test_what_agents_sent_is_escaped_on_every_page(server: ThothServer) -> None:
    session = f"<b>{uuid.uuid4()}</b>"
    decided = call(server, session, XSS, agent_id=XSS, enforcement_mode="step_up", approved_scope=[])
    with console(server, server.admin_key) as c:
        for path, params in (
            ("/ui/sessions", {}),
            ("/ui/session", {"tenant": server.tenant_id, "id": session}),
            ("/ui/violations", {}),
            (f"/ui/calls/{decided['decision_id']}", {}),
            ("/ui/analytics", {}),
        ):
            text = page(c.http, path, **params)
            assert XSS not in text and "<b>" not in text, path
        assert html.escape(XSS) in page(c.http, "/ui/violations")


def test_pages_need_an_admin_and_take_a_bearer_key_read_only(server: ThothServer) -> None:
    with httpx.Client(base_url=server.url, follow_redirects=False) as anonymous:
        for path in ("/ui/sessions", "/ui/violations", "/ui/policies", "/ui/analytics"):
            gone = anonymous.get(path)
            assert (gone.status_code, gone.headers["location"]) == (303, f"/ui/login?next=%2Fui%2F{path[4:]}")
            agent = anonymous.get(path, headers={"Authorization": f"Bearer {server.api_key}"})
            assert agent.status_code == 403
            admin = anonymous.get(path, headers={"Authorization": f"Bearer {server.admin_key}"})
            assert admin.status_code == 200, path
        checked = anonymous.post(
            "/ui/policies/check",
            data={"draft": "version: 1"},
            headers={"Authorization": f"Bearer {server.admin_key}"},
        )
        assert checked.status_code == 303  # forms need a signed-in session


def test_policies_count_rule_matches_in_the_window(server: ThothServer) -> None:
    session = f"p-{uuid.uuid4()}"
    for tool in ("delete_user", "delete_order", "read_file"):
        call(server, session, tool)
    call(server, session, "issue_refund", enforcement_mode="step_up", tool_args={"amount": 5000})
    backdate(server, [decision_row(server, "delete_x", "BLOCK", '["no-deletes"]', 3 * 86_400)])
    with console(server, server.admin_key) as c:
        text = page(c.http, "/ui/policies")
        counts = dict(re.findall(r'data-rule="([^"]+)".*?class="num matches">(\d+)<', text, re.S))
        assert counts == {"no-deletes": "2", "large-refunds": "1", "never-used": "0"}
        week = page(c.http, "/ui/policies", window="7d")
        assert (
            dict(re.findall(r'data-rule="([^"]+)".*?class="num matches">(\d+)<', week, re.S))["no-deletes"]
            == "3"
        )
        assert "tools: delete_*" in text and "when: args.amount &gt;= 1000" in text
        assert "refunds of 1000 or more need a human" in text  # the file itself, as written


def test_the_draft_check_says_what_thoth_policy_check_says(server: ThothServer, tmp_path: Path) -> None:
    draft = "version: 1\nrules:\n  - id: r\n    tools: [x]\n    decision: MAYBE\n"
    path = tmp_path / "draft.yaml"
    path.write_text(draft, encoding="utf-8")
    cli = subprocess.run(
        [sys.executable, "-m", "thoth.cli", "policy", "check", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cli.returncode != 0
    expected = cli.stderr.strip().replace(str(path), "<draft>")
    with console(server, server.admin_key) as c:
        csrf = re.search(r'name="csrf" value="([^"]+)"', page(c.http, "/ui/policies"))
        assert csrf is not None
        bad = c.http.post("/ui/policies/check", data={"csrf": csrf.group(1), "draft": draft})
        assert bad.status_code == 200
        assert expected.startswith("<draft>:") and expected in html.unescape(bad.text)
        good = c.http.post("/ui/policies/check", data={"csrf": csrf.group(1), "draft": POLICY})
        assert "&lt;draft&gt;: OK, 3 rules, 0 tags" in good.text
        forged = c.http.post("/ui/policies/check", data={"draft": POLICY})
        assert forged.status_code == 403


def test_analytics_counts_draws_and_measures_approval_latency(server: ThothServer) -> None:
    session = f"a-{uuid.uuid4()}"
    for tool in ("delete_user", "delete_user", "delete_order", "read_file"):
        call(server, session, tool)
    now = time.time()
    engine = engine_of(server)
    holds = [
        {
            "hold_token": f"hold_test_{uuid.uuid4().hex}",
            "tenant_id": server.tenant_id,
            "agent_id": "a",
            "session_id": session,
            "tool_name": "issue_refund",
            "args_sha256": "0" * 64,
            "status": status,
            "created_at": now - 600 - waited,
            "expires_at": now + 600,
            "resolved_at": now - 600,
            "approver": "pytest" if status != "expired" else None,
            "hold_ref": uuid.uuid4().hex[:20],
        }
        for waited, status in [(10.0 * n, "approved" if n % 2 else "denied") for n in range(1, 11)]
        + [(5000.0, "expired")]
    ]
    with engine.begin() as conn:
        conn.execute(sa.insert(store.holds), holds)
    engine.dispose()
    with console(server, server.admin_key) as c:
        text = page(c.http, "/ui/analytics")
        totals = dict(re.findall(r'data-decision="([A-Z_]+)"><div class="value[^"]*">(\d+)<', text))
        assert (totals["BLOCK"], totals["ALLOW"]) == ("3", "1")
        latency = text.split('id="latency"', 1)[1].split("</div></div>", 1)[0]
        assert "55 s" in latency and "p90 1 min 31 s" in latency and "10 resolved" in latency
        tools = text.split('id="top-tools"', 1)[1].split("</svg>", 1)[0]
        assert tools.index("delete_user") < tools.index("delete_order")
        assert "<svg" in text.split('id="over-time"', 1)[1]
        b_admin = page(c.http, "/ui/analytics", tenant="tenant-b")
        assert (
            dict(re.findall(r'data-decision="([A-Z_]+)"><div class="value[^"]*">(\d+)<', b_admin))["BLOCK"]
            == "0"
        )
