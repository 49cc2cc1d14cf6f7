"""``thoth events export`` against a real ``thoth serve`` (SQLite and PostgreSQL): every event of
the window, oldest first, as JSON Lines or CSV, each with its chain status, the broken sessions
named at the end, and memory that does not grow with the number of events (measured)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import time
import tracemalloc
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ThothServer
from tests.server.test_api import chained_events
from tests.server.test_cli import as_user, thoth
from thoth import cli

pytestmark = pytest.mark.e2e


@pytest.fixture
def server(make_thoth_server: Callable[..., ThothServer]) -> ThothServer:
    return make_thoth_server()


def post(server: ThothServer, events: list[dict[str, Any]]) -> None:
    with server.client() as client:
        for start in range(0, len(events), 1000):
            client.post("/v1/events/batch", json=events[start : start + 1000]).raise_for_status()


def test_an_export_is_every_event_in_order_with_its_chain_and_the_breaks_named(server: ThothServer) -> None:
    whole, broken = f"export-{uuid.uuid4()}", f"export-{uuid.uuid4()}"
    kept = chained_events(server, whole, 3)
    gap = chained_events(server, broken, 4)
    post(server, kept + gap[:2] + gap[3:])  # index 2 of the second session never arrives
    user = as_user(server, server.api_key)
    jsonl = thoth("events", "export", env=user)
    assert jsonl.returncode == 0, jsonl.stderr
    exported = [json.loads(line) for line in jsonl.stdout.splitlines()]
    stored = sorted(
        kept + gap[:2] + gap[3:], key=lambda e: (e["session_id"], e["chain_index"])
    )  # as a batch is kept
    assert [e["event_id"] for e in exported] == [e["event_id"] for e in stored]
    status = {e["event_id"]: e["chain_status"] for e in exported}
    assert [status[e["event_id"]] for e in kept + gap[:2] + gap[3:]] == ["verified"] * 5 + ["gap"]
    assert {e["event_id"]: e["metadata"] for e in exported}[kept[0]["event_id"]] == {"n": 0}
    assert jsonl.stderr.splitlines() == [
        "exported 6 events; 1 sessions with a broken chain",
        f"  chain broken: tenant {server.tenant_id} session {broken}: gap at index 3",
    ]
    table = thoth("events", "export", "--format", "csv", "--session", whole, env=user)
    assert table.returncode == 0, table.stderr
    header, *rows = list(csv.reader(io.StringIO(table.stdout)))
    assert header[:3] == ["received_at", "occurred_at", "tenant_id"]
    assert [row[header.index("event_id")] for row in rows] == [e["event_id"] for e in kept]
    assert {row[header.index("chain_status")] for row in rows} == {"verified"}


def test_since_and_until_cut_the_window_by_when_the_server_received_events(
    server: ThothServer, tmp_path: Path
) -> None:
    session = f"export-{uuid.uuid4()}"
    before = chained_events(server, session, 2)
    after = chained_events(server, session, 2, start=2, previous=before[-1]["hash"])
    post(server, before)
    time.sleep(0.05)
    cut = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
    time.sleep(0.05)
    post(server, after)
    user = as_user(server, server.api_key)
    out = tmp_path / "late.jsonl"
    late = thoth("events", "export", "--since", cut, "--out", str(out), env=user)
    assert late.returncode == 0, late.stderr
    assert [json.loads(line)["event_id"] for line in out.read_text().splitlines()] == [
        e["event_id"] for e in after
    ]
    assert out.stat().st_mode & 0o777 == 0o600
    early = thoth("events", "export", "--until", cut, "--since", "1h", env=user)
    assert [json.loads(line)["event_id"] for line in early.stdout.splitlines()] == [
        e["event_id"] for e in before
    ]
    bad = thoth("events", "export", "--since", "last tuesday", env=user)
    assert bad.returncode == 1
    assert bad.stderr.startswith("thoth: --since/--until: 'last tuesday' is neither a time")


def export_peak(server: ThothServer, out: Path) -> tuple[int, int]:
    """Peak bytes allocated by one in-process export, and the events it wrote."""
    argv = ["events", "export", "--out", str(out), "--url", server.url, "--api-key", server.api_key]
    tracemalloc.start()
    try:
        assert cli.main(argv) == 0
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak, len(out.read_text().splitlines())


def test_memory_stays_flat_as_the_export_grows(server: ThothServer, tmp_path: Path) -> None:
    """Peak memory for 2,000 events and for 8,000: the second holds four times the events and
    must not need much more (one page of 1,000 is in memory at a time)."""
    post(server, chained_events(server, f"export-{uuid.uuid4()}", 2000))
    small_peak, small = export_peak(server, tmp_path / "small.jsonl")
    post(server, chained_events(server, f"export-{uuid.uuid4()}", 6000))
    large_peak, large = export_peak(server, tmp_path / "large.jsonl")
    assert (small, large) == (2000, 8000)
    print(f"export peak: {small} events {small_peak / 1e6:.2f} MB, {large} events {large_peak / 1e6:.2f} MB")
    assert large_peak < small_peak * 1.5
