"""The audit store: SQLAlchemy Core over SQLite (WAL) by default, PostgreSQL by URL.

Write functions take a Connection inside a transaction and are called only by the
writer thread (thoth.server.writer); read functions open their own connection.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from thoth.server.chain import UNHASHED_FIELDS, ChainHead, Link, canonical_json, check_link, link_of
from thoth.server.session import Fact

metadata = sa.MetaData()

events = sa.Table(
    "thoth_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(256), nullable=False),
    sa.Column("event_id", sa.String(64), nullable=False),
    sa.Column("session_id", sa.String(256), nullable=False),
    sa.Column("agent_id", sa.String(256), nullable=False),
    sa.Column("event_type", sa.String(32), nullable=False),
    sa.Column("chain_index", sa.Integer),
    sa.Column("hash", sa.String(64)),
    sa.Column("chain_status", sa.String(16), nullable=False),
    sa.Column("received_at", sa.Float, nullable=False),
    # the event as sent, in canonical JSON without hash, signature and ingested_at (kept apart):
    # the bytes that were hashed, so a stored event can be re-verified
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("signature", sa.Text),
    sa.Column("ingested_at", sa.String(64)),
    sa.UniqueConstraint("tenant_id", "event_id", name="uq_thoth_events_tenant_event"),
    sa.Index("ix_thoth_events_session", "tenant_id", "session_id", "chain_index"),
)

holds = sa.Table(
    "thoth_holds",
    metadata,
    sa.Column("hold_token", sa.String(256), primary_key=True),
    sa.Column("tenant_id", sa.String(256), nullable=False),
    sa.Column("agent_id", sa.String(256), nullable=False),
    sa.Column("session_id", sa.String(256), nullable=False),
    sa.Column("user_id", sa.String(256)),
    sa.Column("tool_name", sa.String(256), nullable=False),
    sa.Column("args_sha256", sa.String(64), nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("rule_id", sa.String(256)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("resolved_at", sa.Float),
    sa.Column("approver", sa.String(256)),
    sa.Column("resolution_reason", sa.Text),
    sa.Index("ix_thoth_holds_tenant", "tenant_id", "created_at"),
)

decisions = sa.Table(
    "thoth_decisions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(256), nullable=False),
    sa.Column("session_id", sa.String(256), nullable=False),
    sa.Column("agent_id", sa.String(256), nullable=False),
    sa.Column("tool_name", sa.String(256), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # decision | hold_approved | hold_denied
    sa.Column("fact", sa.String(16)),  # what the session record learns: ran | refused | hold_denied
    sa.Column("mode", sa.String(16)),
    sa.Column("decision", sa.String(16), nullable=False),
    sa.Column("shadow_decision", sa.String(16)),
    sa.Column("reason", sa.Text),
    sa.Column("reason_code", sa.String(64)),
    sa.Column("rule_ids", sa.Text),  # JSON list
    sa.Column("latency_ms", sa.Float),
    sa.Column("hold_token", sa.String(256)),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Index("ix_thoth_decisions_session", "tenant_id", "session_id", "id"),
)


def create_engine(url: str) -> Engine:
    """An engine with the settings this store relies on; creates the tables."""
    engine = sa.create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    metadata.create_all(engine)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes in WAL mode
    cursor.execute("PRAGMA busy_timeout=5000")
    # measured (benchmarks/server_bench.py): a bigger page cache keeps the event-id index
    # in memory, and fewer checkpoints mean fewer fsyncs on the write path
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA wal_autocheckpoint=10000")
    cursor.close()


# -- writes (writer thread only) ------------------------------------------------------------------


def insert_decisions(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        conn.execute(decisions.insert(), list(rows))


def insert_hold(conn: Connection, row: Mapping[str, Any]) -> None:
    conn.execute(holds.insert(), dict(row))


def resolve_hold(
    conn: Connection, token: str, status: str, approver: str | None, reason: str | None, now: float
) -> bool:
    """Resolve a pending, unexpired hold; False when it was already resolved or expired."""
    result = conn.execute(
        holds.update()
        .where(holds.c.hold_token == token, holds.c.status == "pending", holds.c.expires_at > now)
        .values(status=status, resolved_at=now, approver=approver, resolution_reason=reason)
    )
    return result.rowcount == 1


def expire_hold(conn: Connection, token: str, now: float) -> bool:
    """Mark a pending hold past its expiry as expired; True only for the call that did it."""
    result = conn.execute(
        holds.update()
        .where(holds.c.hold_token == token, holds.c.status == "pending", holds.c.expires_at <= now)
        .values(status="expired", resolved_at=now)
    )
    return result.rowcount == 1


class PreparedEvent(NamedTuple):
    """A validated event, canonicalised and hashed before it reaches the writer thread."""

    tenant_id: str
    event_id: str
    session_id: str
    agent_id: str
    event_type: str
    link: Link
    body: str
    hash: str | None
    signature: str | None
    ingested_at: str | None


def prepare_event(event: Mapping[str, Any]) -> PreparedEvent:
    canonical = canonical_json({k: v for k, v in event.items() if k not in UNHASHED_FIELDS})
    return PreparedEvent(
        tenant_id=event["tenant_id"],
        event_id=event["event_id"],
        session_id=event["session_id"],
        agent_id=event["agent_id"],
        event_type=event["event_type"],
        link=link_of(event, canonical),
        body=canonical.decode("utf-8"),
        hash=event.get("hash"),
        signature=event.get("signature"),
        ingested_at=event.get("ingested_at"),
    )


def stored_event(row: Mapping[str, Any]) -> dict[str, Any]:
    """The event as it was sent, from a stored row."""
    event: dict[str, Any] = json.loads(row["body"])
    for key in ("hash", "signature", "ingested_at"):
        if row[key] is not None:
            event[key] = row[key]
    return event


def _marks(conn: Connection, count: int) -> str:
    """Driver placeholders: the hot paths skip SQLAlchemy's per-row parameter handling."""
    style = conn.dialect.paramstyle
    mark = "?" if style == "qmark" else "%s" if style in ("format", "pyformat") else None
    if mark is None:
        raise NotImplementedError(f"paramstyle {style}")
    return ", ".join([mark] * count)


class ChainHeads:
    """Each session's chain head, cached; loaded from the store on a miss (writer thread only)."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._heads: dict[tuple[str, str], ChainHead | None] = {}
        self._capacity = capacity

    def get(self, conn: Connection, key: tuple[str, str]) -> ChainHead | None:
        if key in self._heads:
            return self._heads[key]
        m = _marks(conn, 1)
        row = conn.exec_driver_sql(
            f"SELECT chain_index, hash FROM thoth_events WHERE tenant_id = {m} AND session_id = {m} "  # noqa: S608
            "AND chain_status IN ('verified', 'gap') ORDER BY chain_index DESC LIMIT 1",
            key,
        ).first()
        head = ChainHead(row[0], row[1]) if row else None
        self.set(key, head)
        return head

    def set(self, key: tuple[str, str], head: ChainHead | None) -> None:
        if len(self._heads) >= self._capacity:
            self._heads.pop(next(iter(self._heads)))
        self._heads[key] = head

    def forget(self) -> None:
        self._heads.clear()


_INSERT_COLUMNS = (
    "tenant_id, event_id, session_id, agent_id, event_type, chain_index, hash, "
    "chain_status, received_at, body, signature, ingested_at"
)


def ingest_events(
    conn: Connection, batch: Sequence[PreparedEvent], heads: ChainHeads, now: float
) -> dict[str, int]:
    """Store new events (idempotent by tenant and event_id) and check each session's chain."""
    existing = _existing_ids(conn, batch)
    rows: list[tuple[Any, ...]] = []
    duplicates = breaks = 0
    seen: set[tuple[str, str]] = set()
    for event in sorted(batch, key=_chain_order):
        key = (event.tenant_id, event.event_id)
        if key in existing or key in seen:
            duplicates += 1
            continue
        seen.add(key)
        session = (event.tenant_id, event.session_id)
        check = check_link(event.link, heads.get(conn, session))
        heads.set(session, check.new_head)
        if check.status not in ("verified", "unchained"):
            breaks += 1
        rows.append(
            (
                event.tenant_id,
                event.event_id,
                event.session_id,
                event.agent_id,
                event.event_type,
                event.link.chain_index,
                event.hash,
                check.status,
                now,
                event.body,
                event.signature,
                event.ingested_at,
            )
        )
    if rows:
        sql = f"INSERT INTO thoth_events ({_INSERT_COLUMNS}) VALUES ({_marks(conn, 12)})"  # noqa: S608
        conn.exec_driver_sql(sql, rows)
    return {"accepted": len(rows), "duplicates": duplicates, "chain_breaks": breaks}


def _existing_ids(conn: Connection, batch: Sequence[PreparedEvent]) -> set[tuple[str, str]]:
    by_tenant: dict[str, list[str]] = {}
    for event in batch:
        by_tenant.setdefault(event.tenant_id, []).append(event.event_id)
    found: set[tuple[str, str]] = set()
    for tenant, ids in by_tenant.items():
        sql = (
            f"SELECT event_id FROM thoth_events WHERE tenant_id = {_marks(conn, 1)} "  # noqa: S608
            f"AND event_id IN ({_marks(conn, len(ids))})"
        )
        found.update((tenant, event_id) for (event_id,) in conn.exec_driver_sql(sql, (tenant, *ids)))
    return found


def _chain_order(event: PreparedEvent) -> tuple[str, str, int]:
    """Chained events of a session in index order (a batch may be reordered in transit)."""
    return (event.tenant_id, event.session_id, event.link.chain_index)


# -- reads ----------------------------------------------------------------------------------------


def session_facts(engine: Engine, tenant: str, session: str) -> list[Fact]:
    query = (
        sa.select(decisions.c.fact, decisions.c.tool_name, decisions.c.created_at)
        .where(
            decisions.c.tenant_id == tenant,
            decisions.c.session_id == session,
            decisions.c.fact.is_not(None),
        )
        .order_by(decisions.c.id)
    )
    with engine.connect() as conn:
        return [Fact(row.fact, row.tool_name, row.created_at) for row in conn.execute(query)]


def get_hold(engine: Engine, token: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(holds).where(holds.c.hold_token == token)).mappings().first()
    return dict(row) if row else None


def list_holds(
    engine: Engine,
    tenants: frozenset[str] | None,
    status: str | None,
    tenant: str | None,
    session: str | None,
    limit: int,
    offset: int,
    now: float,
) -> list[dict[str, Any]]:
    query = sa.select(holds)
    if tenants is not None:
        query = query.where(holds.c.tenant_id.in_(sorted(tenants)))
    if tenant is not None:
        query = query.where(holds.c.tenant_id == tenant)
    if session is not None:
        query = query.where(holds.c.session_id == session)
    if status == "expired":
        overdue = sa.and_(holds.c.status == "pending", holds.c.expires_at <= now)
        query = query.where(sa.or_(holds.c.status == "expired", overdue))
    elif status == "pending":
        query = query.where(holds.c.status == "pending", holds.c.expires_at > now)
    elif status is not None:
        query = query.where(holds.c.status == status)
    query = query.order_by(holds.c.created_at.desc(), holds.c.hold_token).limit(limit).offset(offset)
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


def list_events(
    engine: Engine,
    tenants: frozenset[str] | None,
    session: str | None,
    agent: str | None,
    event_type: str | None,
    after_id: int,
    limit: int,
) -> list[dict[str, Any]]:
    query = sa.select(events).where(events.c.id > after_id)
    if tenants is not None:
        query = query.where(events.c.tenant_id.in_(sorted(tenants)))
    if session is not None:
        query = query.where(events.c.session_id == session)
    if agent is not None:
        query = query.where(events.c.agent_id == agent)
    if event_type is not None:
        query = query.where(events.c.event_type == event_type)
    query = query.order_by(events.c.id).limit(limit)
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


def list_decisions(
    engine: Engine, tenant: str | None, session: str | None, limit: int
) -> list[dict[str, Any]]:
    query = sa.select(decisions)
    if tenant is not None:
        query = query.where(decisions.c.tenant_id == tenant)
    if session is not None:
        query = query.where(decisions.c.session_id == session)
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(query.order_by(decisions.c.id).limit(limit)).mappings()]


def now() -> float:
    return time.time()


def iter_rule_ids(raw: str | None) -> Iterable[str]:
    return json.loads(raw) if raw else ()
