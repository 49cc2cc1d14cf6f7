"""Each session's state, read and written inside the transaction that records a decision.

The store is the one source of truth: a session's row in ``thoth_sessions`` holds the
record the policy reads and the hash-chain head, with a version that every committed
change increments. A transaction locks the rows of the sessions it touches (``SELECT ...
FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` locks the whole database), so two
enforcer processes on one database serialise per session and answer as one would.

The per-process cache only saves parsing: a cached record is used when its version is the
one just read under the lock, and is dropped when its transaction rolls back.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
from sqlalchemy.engine import Connection

from thoth.policy.session import SessionRecord, replay
from thoth.server import store
from thoth.server.chain import ChainHead

SessionKey = tuple[str, str]  # (tenant_id, session_id)


@attrs.define
class SessionState:
    record: SessionRecord
    head: ChainHead | None
    version: int


@attrs.define
class Txn:
    """What a write sees: the connection, the locked sessions, and the decision rows to log."""

    conn: Connection
    now: float
    states: dict[SessionKey, SessionState]
    dirty: set[SessionKey] = attrs.field(factory=set)
    decision_rows: list[Mapping[str, Any]] = attrs.field(factory=list)

    def session(self, key: SessionKey) -> SessionRecord:
        """The session's record, to read and update (marks it changed)."""
        self.dirty.add(key)
        return self.states[key].record

    def head(self, key: SessionKey) -> ChainHead | None:
        return self.states[key].head

    def move_head(self, key: SessionKey, head: ChainHead | None) -> None:
        state = self.states[key]
        if head != state.head:
            state.head = head
            self.dirty.add(key)

    def log_decision(self, row: Mapping[str, Any]) -> None:
        self.decision_rows.append(row)


class SessionStates:
    """Loads the locked sessions of a transaction and saves the changed ones (writer thread only)."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._capacity = capacity
        self._cache: OrderedDict[SessionKey, SessionState] = OrderedDict()

    def begin(self, conn: Connection, keys: Iterable[SessionKey], now: float) -> Txn:
        rows = store.lock_sessions(conn, sorted(set(keys)))
        states = {key: self._state(conn, key, row) for key, row in rows.items()}
        return Txn(conn, now, states)

    def _state(self, conn: Connection, key: SessionKey, row: store.SessionRow | None) -> SessionState:
        if row is None:  # a new session: every session with history has a row (migration 0002)
            return SessionState(SessionRecord(), None, 0)
        if row.version == 0:  # history from before this table: rebuilt from it once
            record = replay(store.session_facts_in(conn, *key))
            return SessionState(record, store.chain_head_in(conn, *key), 0)
        cached = self._cache.get(key)
        if cached is not None and cached.version == row.version:
            self._cache.move_to_end(key)
            return cached
        head = None
        if row.chain_index is not None and row.chain_hash is not None:
            head = ChainHead(row.chain_index, row.chain_hash)
        return SessionState(SessionRecord.from_state(json.loads(row.state)), head, row.version)

    def commit(self, txn: Txn) -> None:
        """Write the changed sessions (inside the transaction, before it commits)."""
        rows = []
        for key in sorted(txn.dirty):
            state = txn.states[key]
            state.version += 1
            head = state.head
            rows.append(
                store.SessionRow(
                    key[0],
                    key[1],
                    state.version,
                    json.dumps(state.record.to_state(txn.now), separators=(",", ":")),
                    head.index if head is not None else None,
                    head.hash if head is not None else None,
                )
            )
        store.save_sessions(txn.conn, rows)

    def committed(self, txn: Txn) -> None:
        """The transaction committed: its states are the stored ones now."""
        for key, state in txn.states.items():
            self._cache[key] = state
            self._cache.move_to_end(key)
        while len(self._cache) > self._capacity:
            self._cache.popitem(last=False)

    def rolled_back(self, txn: Txn) -> None:
        """The transaction rolled back: the records it changed in place are wrong now."""
        for key in txn.states:
            self._cache.pop(key, None)
