"""The event-ingest writes on a real store (SQLite and PostgreSQL): the session locks a batch
takes, duplicates and conflicts inside one transaction, and driver errors as the writer sees them."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from thoth._chain import event_hash
from thoth.server import migrate, store
from thoth.server.state import SessionStates


def _engine(url: str) -> Iterator[Engine]:
    migrate.prepare(url, migrate=False)
    engine = store.create_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    yield from _engine(store_url)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """For what only SQLite has (its query planner, its file lock): not run on PostgreSQL at all."""
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    yield from _engine(sqlite_url)


def _chained(session: str, count: int, start: int = 0, previous: str = "") -> list[dict[str, Any]]:
    events = []
    for index in range(start, start + count):
        event = {
            "event_id": f"00000000-0000-4000-8000-{index:06d}{abs(hash(session)) % 10**6:06d}",
            "tenant_id": "acme",
            "agent_id": "agent",
            "session_id": session,
            "event_type": "TOOL_CALL_PRE",
            "occurred_at": "2026-11-25T10:00:00Z",
            "content": f"call {index}",
            "chain_index": index,
            "previous_hash": previous,
        }
        event["hash"] = previous = event_hash(event)
        events.append(event)
    return events


def _ingest(engine: Engine, states: SessionStates, events: list[dict[str, Any]]) -> dict[str, Any]:
    batch = [store.prepare_event(event, event["event_id"]) for event in events]
    keys = {(event.tenant_id, event.session_id) for event in batch}
    with engine.connect().execution_options(thoth_write=True) as conn, conn.begin():
        txn = states.begin(conn, keys, time.time())
        result = store.ingest_events(conn, batch, txn, txn.now)
        states.commit(txn)
    states.committed(txn)
    return result


def _statuses(engine: Engine) -> dict[tuple[str, int], str]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(store.events.c.session_id, store.events.c.chain_index, store.events.c.chain_status)
        )
        return {(session, index): status for session, index, status in rows}


def test_a_batch_over_many_sessions_moves_each_head_once_and_in_order(engine: Engine) -> None:
    states = SessionStates()
    first = _chained("s1", 3) + _chained("s2", 2)
    assert _ingest(engine, states, list(reversed(first)))["chain_breaks"] == 0  # reordered in transit
    # the heads were stored: a fresh process (empty cache) continues both chains
    more = _chained("s1", 2, 3, first[2]["hash"]) + _chained("s2", 1, 2, first[4]["hash"])
    result = _ingest(engine, SessionStates(), more)
    assert (result["accepted"], result["chain_breaks"]) == (3, 0)
    assert set(_statuses(engine).values()) == {"verified"}


def test_a_break_inside_a_batch_is_counted_and_the_chain_goes_on_from_the_gap(engine: Engine) -> None:
    events = _chained("s1", 4)
    del events[1]  # index 1 missing: 2 is a gap, 3 verifies against 2
    result = _ingest(engine, SessionStates(), events)
    assert (result["accepted"], result["chain_breaks"]) == (3, 1)
    assert _statuses(engine) == {("s1", 0): "verified", ("s1", 2): "gap", ("s1", 3): "verified"}


def test_resends_are_duplicates_and_changed_resends_conflicts_in_the_same_batch(engine: Engine) -> None:
    states = SessionStates()
    events = _chained("s1", 2)
    _ingest(engine, states, events)
    changed = events[1] | {"content": "something else"}
    fresh = _chained("s1", 1, 2, events[1]["hash"])
    result = _ingest(engine, states, [events[0], changed, *fresh, fresh[0]])
    assert (result["accepted"], result["duplicates"], result["conflicts"]) == (1, 2, 1)
    assert result["conflict_event_ids"] == [events[1]["event_id"]]
    assert result["chain_breaks"] == 0


def test_locking_several_sessions_finds_each_row(engine: Engine) -> None:
    states = SessionStates()
    for session in ("a", "b", "c"):
        _ingest(engine, states, _chained(session, 1))
    with engine.connect().execution_options(thoth_write=True) as conn, conn.begin():
        rows = store.lock_sessions(conn, [("acme", "c"), ("acme", "a"), ("acme", "new")])
    assert rows[("acme", "new")] is None
    assert {key: row.chain_index for key, row in rows.items() if row is not None} == {
        ("acme", "a"): 0,
        ("acme", "c"): 0,
    }


def test_sqlite_locks_several_sessions_by_their_key_not_by_a_scan(sqlite_engine: Engine) -> None:
    """SQLite plans `(a, b) IN (VALUES (?, ?), (?, ?))` as a scan of the whole sessions table:
    every group commit of two or more sessions read every session row."""
    engine = sqlite_engine
    statements: list[str] = []
    with engine.connect().execution_options(thoth_write=True) as conn, conn.begin():
        driver = _sqlite(conn)
        driver.set_trace_callback(statements.append)
        store.lock_sessions(conn, [("acme", "a"), ("acme", "b"), ("acme", "c")])
        driver.set_trace_callback(None)
        locking = [s for s in statements if "thoth_sessions" in s]
        assert len(locking) == 1
        plan = driver.execute("EXPLAIN QUERY PLAN " + locking[0]).fetchall()
    details = [row[3] for row in plan]
    assert not any(detail.startswith("SCAN thoth_sessions") or detail == "SCAN s" for detail in details), (
        details
    )
    assert any("USING" in detail and "INDEX" in detail for detail in details), details


def test_a_locked_store_is_an_operational_error_for_the_writer(
    sqlite_engine: Engine, sqlite_url: str
) -> None:
    """Statements the ingest runs straight on the driver fail as SQLAlchemy's do, so the writer
    still answers 503 (not 500) when the store is locked or down (a second SQLite writer holds
    the lock)."""
    engine, store_url = sqlite_engine, sqlite_url
    states = SessionStates()
    events = _chained("s1", 1)
    with engine.connect() as conn:  # connected (its pragmas set) before the other writer locks
        _sqlite(conn).execute("PRAGMA busy_timeout=50")
        holder = sqlite3.connect(store_url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            with conn.begin():  # a deferred transaction: the lock is met by the insert itself
                txn = states.begin(conn, {("acme", "s1")}, time.time())
                batch = [store.prepare_event(events[0], events[0]["event_id"])]
                with pytest.raises(sa.exc.OperationalError):
                    store.ingest_events(conn, batch, txn, txn.now)
        finally:
            holder.rollback()
            holder.close()


def _sqlite(conn: Connection) -> sqlite3.Connection:
    driver = conn.connection.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    return driver
