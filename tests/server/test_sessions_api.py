"""GET /v1/sessions and GET /v1/sessions/{id}, and `thoth sessions`, on a real ``thoth serve``
(SQLite and PostgreSQL): a generated history with planted anomalies is written to the store in
bulk, one live session goes through POST /v1/enforce, then the API and the CLI are read."""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import attrs
import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import ThothServer
from tests.server.conftest import _fresh_store
from tests.server.test_cli import as_user, thoth
from tests.server.test_console_http import B_AGENT, TENANT_B, console
from tests.server.test_console_pages import rows_of
from tests.unit.test_behaviour import PLANTS, history, plant
from thoth.server import migrate, store

pytestmark = pytest.mark.e2e

ALL_TENANTS = "thoth_all_tenants_0123456789abcdef"
LIVE = "live-session-wire-money"
EVIL = "evil-\x1b[2J-session"
EVIL_TOOL = "<b>evil\x1b]0;x\x07</b>"
SESSION_FIELDS = {
    "tenant_id",
    "session_id",
    "agent_id",
    "calls",
    "first_at",
    "last_at",
    "decisions",
    "anomaly",
}
ANOMALY_FIELDS = {
    *("status", "score", "baseline_sessions", "baseline_truncated", "new_tools", "sequence_z", "rate_z"),
    "reasons",
}


@attrs.frozen
class Served:
    server: ThothServer
    planted: frozenset[str]  # the planted sessions, the live one and the evil one (a new tool each)
    rows: int  # decisions in the store


def _row(tenant: str, session: str, agent: str, tool: str, at: float) -> dict[str, Any]:
    return {
        "tenant_id": tenant,
        "session_id": session,
        "agent_id": agent,
        "tool_name": tool,
        "kind": "decision",
        "decision": "ALLOW",
        "created_at": at,
    }


def _history_rows(tenant: str, start: float) -> tuple[list[dict[str, Any]], set[str]]:
    """tests/unit/test_behaviour.py's five agents (agent-0..4) of 40 sessions, six of them planted."""
    agents = history()
    rng = random.Random(99)
    planted = {plant(agents[a], s, kind, rng) for a, s, kind in PLANTS}
    rows = [
        _row(tenant, session.session_id, f"agent-{number}", tool, start + at)
        for number, agent in enumerate(agents)
        for session in agent.sessions
        for tool, at in session.calls
    ]
    return rows, planted


@pytest.fixture(scope="module")
def served(
    store_kind: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    workdir = tmp_path_factory.mktemp(f"sessions-{store_kind}")
    url = _fresh_store(store_kind, request, workdir / "thoth.db")
    migrate.prepare(url, migrate=False)
    start = time.time() - 3 * 86_400  # the history's 40 hours end two days ago: inside 7d, not 24h
    rows, planted = _history_rows("acme-corp", start)
    rows += [_row("acme-corp", EVIL, "agent-1", EVIL_TOOL, start + 3600 * i) for i in range(2)]
    rows += [_row("tenant-b", s, "b-agent", "read", start + i) for i, s in enumerate(["a0-s0", "b-1", "b-2"])]
    engine = store.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.insert(store.decisions), rows)
    engine.dispose()
    extra = [*TENANT_B, "--api-key", ALL_TENANTS]
    server = ThothServer(workdir / "server", db_url=url, extra_args=extra).start()
    for tool, scope in (("a0_tool1", ["a0_tool1"]), ("a0_tool2", ["a0_tool2"]), ("wire_money", ["a0_tool1"])):
        server.enforce(
            agent_id="agent-0",
            session_id=LIVE,
            tool_name=tool,
            tool_args={},
            approved_scope=scope,
            enforcement_mode="block",
        )
    yield Served(server, frozenset({*planted, LIVE, EVIL}), len(rows) + 3)
    server.stop()


def get(served: Served, path: str, key: str | None = None, **params: str) -> httpx.Response:
    with served.server.client(key) as client:
        return client.get(path, params=params)


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def test_the_list_puts_planted_and_live_anomalies_on_top(served: Served) -> None:
    page = ok(get(served, "/v1/sessions", sort="anomaly", limit="8"))
    assert set(page) == {"items", "sort", "window", "rows_read", "truncated"}
    assert (page["sort"], page["window"], page["rows_read"], page["truncated"]) == (
        "anomaly",
        "7d",
        served.rows - 3,  # tenant-b's three are not this key's
        False,
    )
    assert {item["session_id"] for item in page["items"]} == served.planted
    scores = [item["anomaly"]["score"] for item in page["items"]]
    assert scores == sorted(scores, reverse=True) and scores[-1] > 0.9
    for item in page["items"]:
        assert set(item) == SESSION_FIELDS and set(item["anomaly"]) == ANOMALY_FIELDS
        assert item["tenant_id"] == "acme-corp"
    everything = ok(get(served, "/v1/sessions", sort="anomaly", limit="1000"))["items"]
    assert len(everything) == 202  # 200 generated, the evil one, the live one
    recent = ok(get(served, "/v1/sessions", limit="2"))["items"]
    assert [item["session_id"] for item in recent] == [LIVE, "a0-s39"]


def test_one_session_has_its_counts_score_and_reasons(served: Served) -> None:
    live = ok(get(served, f"/v1/sessions/{LIVE}"))
    first, last = (dt.datetime.fromisoformat(live[name]) for name in ("first_at", "last_at"))
    assert first <= last and time.time() - first.timestamp() < 600
    assert {k: v for k, v in live.items() if k not in ("first_at", "last_at", "anomaly")} == {
        "tenant_id": "acme-corp",
        "session_id": LIVE,
        "agent_id": "agent-0",
        "calls": 3,
        "decisions": {"ALLOW": 2, "BLOCK": 1, "STEP_UP": 0, "MODIFY": 0, "DEFER": 0},
    }
    anomaly = live["anomaly"]
    assert (anomaly["status"], anomaly["baseline_sessions"], anomaly["new_tools"]) == ("scored", 40, 1)
    assert anomaly["baseline_truncated"] is False and anomaly["score"] > 0.9
    assert [reason["kind"] for reason in anomaly["reasons"]] == ["new_tool", "unusual_rate"]  # a burst
    assert anomaly["reasons"][0] == {
        "kind": "new_tool",
        "message": "new tool 'wire_money': used in none of the agent's 40 other sessions",
        "tool": "wire_money",
    }
    listed = ok(get(served, "/v1/sessions", sort="anomaly", limit="10"))["items"]
    for item in listed:  # the same session, the same answer, listed or alone
        assert ok(get(served, "/v1/sessions/" + quote(item["session_id"], safe=""))) == item
    burst = next(item for item in listed if item["session_id"] == "a2-s11-unusual_rate")
    [rate] = [r for r in burst["anomaly"]["reasons"] if r["kind"] == "unusual_rate"]
    assert set(rate) == {"kind", "message", "calls_per_minute", "baseline_calls_per_minute", "z"}
    assert rate["calls_per_minute"] > 10 * rate["baseline_calls_per_minute"]


def test_the_window_chooses_the_baseline(served: Served) -> None:
    page = ok(get(served, "/v1/sessions", window="24h", sort="anomaly"))
    assert [item["session_id"] for item in page["items"]] == [LIVE]
    assert page["rows_read"] == 3
    alone = ok(get(served, f"/v1/sessions/{LIVE}", window="90m"))["anomaly"]
    assert alone == {
        "status": "insufficient_baseline",
        "score": None,
        "baseline_sessions": 0,
        "baseline_truncated": False,
        "new_tools": 0,
        "sequence_z": None,
        "rate_z": None,
        "reasons": [],
    }


def test_tenant_scope_404_and_400(served: Served) -> None:
    theirs = ok(get(served, "/v1/sessions", B_AGENT))["items"]
    assert sorted(item["session_id"] for item in theirs) == ["a0-s0", "b-1", "b-2"]
    assert {item["anomaly"]["status"] for item in theirs} == {"insufficient_baseline"}
    assert get(served, "/v1/sessions/b-1").status_code == 404  # tenant-b's, for acme's key
    assert get(served, "/v1/sessions/no-such-session").json() == {
        "code": "not_found",
        "message": "no such session",
    }
    refused = get(served, "/v1/sessions", tenant_id="tenant-b")
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    assert get(served, "/v1/sessions/b-1", tenant_id="tenant-b").status_code == 403
    # an id two tenants use: a key of both must say which
    ambiguous = get(served, "/v1/sessions/a0-s0", ALL_TENANTS)
    assert (ambiguous.status_code, ambiguous.json()["code"]) == (409, "ambiguous_session")
    assert "give tenant_id" in ambiguous.json()["message"]
    b_side = ok(get(served, "/v1/sessions/a0-s0", ALL_TENANTS, tenant_id="tenant-b"))
    assert (b_side["tenant_id"], b_side["agent_id"], b_side["calls"]) == ("tenant-b", "b-agent", 1)
    assert ok(get(served, "/v1/sessions/a0-s0"))["agent_id"] == "agent-0"  # acme's, for acme's key
    for params, says in (
        ({"window": "5x"}, "window must be"),
        ({"window": "0d"}, "window must be"),
        ({"window": "1000d"}, "window must be"),
        ({"sort": "score"}, "sort must be one of: recent, anomaly"),
        ({"limit": "0"}, "limit must be"),
        ({"agent_id": "x" * 257}, "agent_id must be"),
    ):
        answer = get(served, "/v1/sessions", **params)
        assert answer.status_code == 400 and answer.json()["code"] == "bad_request", params
        assert says in answer.json()["message"]
    assert get(served, "/v1/sessions/" + "x" * 257).status_code == 400
    with httpx.Client(base_url=served.server.url) as anonymous:
        assert anonymous.get("/v1/sessions").status_code == 401


def test_the_cli_lists_shows_and_escapes(served: Served) -> None:
    server = served.server
    env = as_user(server, server.api_key)
    listed = thoth("sessions", "--anomalous", "--limit", "8", env=env)
    assert listed.returncode == 0, listed.stderr
    header, *lines = listed.stdout.splitlines()
    assert header.split() == ["SCORE", "LAST", "ACTIVE", "CALLS", "AGENT", "SESSION", "REASONS"]
    assert {line.split()[4] for line in lines} == served.planted - {EVIL} | {"evil-\\x1b[2J-session"}
    shown = thoth("sessions", "show", LIVE, env=env)
    assert shown.returncode == 0, shown.stderr
    assert "calls     3 (ALLOW 2, BLOCK 1)" in shown.stdout
    assert "  - new tool 'wire_money': used in none of the agent's 40 other sessions" in shown.stdout
    as_json = thoth("sessions", "--window", "24h", "show", LIVE, "--json", env=env)
    assert json.loads(as_json.stdout) == ok(get(served, f"/v1/sessions/{LIVE}", window="24h"))
    missing = thoth("sessions", "show", "no-such-session", env=env)
    assert (missing.returncode, missing.stderr) == (1, "thoth: HTTP 404: not_found: no such session\n")
    evil = thoth("sessions", "show", EVIL, env=env)
    assert evil.returncode == 0, evil.stderr
    log = server.log()  # the access log names the route, never the id an agent chose
    assert "GET /v1/sessions/{session_id} 200" in log and "evil-" not in log and LIVE not in log
    assert "\x1b" not in evil.stdout and "\x07" not in evil.stdout
    assert "session   evil-\\x1b[2J-session" in evil.stdout


def test_the_console_shows_the_score_and_the_reasons(served: Served) -> None:
    server = served.server
    live = ok(get(served, f"/v1/sessions/{LIVE}"))["anomaly"]
    with console(server, server.admin_key) as c:
        listed = c.http.get("/ui/sessions").text
        [row] = [r for r in rows_of(listed, "sessions") if LIVE in r]
        # three calls in well under a second: a burst too
        reason = "new tool &#39;wire_money&#39;: used in none of the agent&#39;s 40 other sessions (+1 more)"
        assert f'<td class="anomaly high" title="{reason}">{live["score"]:.2f}</td>' in row
        agent_1 = rows_of(c.http.get("/ui/sessions", params={"agent": "agent-1"}).text, "sessions")
        assert len(agent_1) == 41
        levels = re.findall(r'<td class="anomaly (\w+)"', "".join(agent_1))
        assert sorted(levels).count("high") == 2  # a1-s7's unusual order, the evil session's new tool
        page = c.http.get("/ui/session", params={"tenant": server.tenant_id, "id": EVIL}).text
    assert "&lt;b&gt;evil" in page and "<b>evil" not in page
    assert re.search(r'id="anomaly-score">\d\.\d\d</span> <span class="note">against 40 other sessions', page)
    [reasons] = re.findall(r'<ul class="reasons" id="anomaly-reasons">(.*?)</ul>', page, re.S)
    assert (
        reasons.count("<li>") == 1 and "new tool &#39;&lt;b&gt;evil\\x1b]0;x\\x07&lt;/b&gt;&#39;" in reasons
    )
