"""The audit store: SQLAlchemy Core over SQLite (WAL) by default, PostgreSQL by URL.

Write functions take a Connection inside a transaction and are called only by the
writer thread (thoth.server.writer); read functions open their own connection.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any, Final, NamedTuple, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, InterfaceError, OperationalError

from thoth._usage import metadata_tokens
from thoth.policy.session import Fact, SessionRecord, utc_day
from thoth.server.chain import UNHASHED_FIELDS, ChainHead, Link, canonical_json, check_link, link_of
from thoth.server.redaction import scrub_event

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
    # values the server replaced with [REDACTED] before storing (thoth.server.redaction): the body
    # then no longer hashes to `hash`; the chain was checked on the event as sent
    sa.Column("redacted", sa.Integer, nullable=False, server_default="0"),
    # the decision of the governed call the event belongs to, as the event names it
    sa.Column("decision_id", sa.String(256)),
    sa.UniqueConstraint("tenant_id", "event_id", name="uq_thoth_events_tenant_event"),
    sa.Index("ix_thoth_events_session", "tenant_id", "session_id", "chain_index"),
    sa.Index("ix_thoth_events_decision_id", "tenant_id", "decision_id"),
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
    # what an approver reads: the call's arguments as thoth redacts event content (holds.redacted_args)
    sa.Column("redacted_args", sa.Text),
    # a name for the hold that is not its token (holds.ref_of): safe in a URL, a log or a chat message
    sa.Column("hold_ref", sa.String(32)),
    sa.Column("decision_id", sa.String(256)),  # the STEP_UP decision that made the hold
    sa.Index("ix_thoth_holds_tenant", "tenant_id", "created_at"),
    sa.Index("ix_thoth_holds_ref", "hold_ref", unique=True),
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
    sa.Column("violation_id", sa.String(64)),
    # the fields of the enforce request that the contract does not define (JSON), as sent
    sa.Column("extensions", sa.Text),
    sa.Column("decision_id", sa.String(256)),  # one per governed call: the answer's decision_id
    # what the policy read of the request (JSON, secrets scrubbed), for `thoth policy replay`
    sa.Column("request", sa.Text),
    sa.Index("ix_thoth_decisions_session", "tenant_id", "session_id", "id"),
    sa.Index("ix_thoth_decisions_decision_id", "tenant_id", "decision_id"),
    sa.Index("ix_thoth_decisions_violation", "violation_id"),
    sa.Index("ix_thoth_decisions_time", "created_at"),
)

tool_inventory = sa.Table(
    "thoth_tool_inventory",
    metadata,
    # what each agent says it can call (advisory): the last declaration of each tool wins
    sa.Column("tenant_id", sa.String(256), primary_key=True),
    sa.Column("agent_id", sa.String(256), primary_key=True),
    sa.Column("tool_name", sa.String(256), primary_key=True),
    sa.Column("description", sa.Text),
    sa.Column("input_schema", sa.Text),  # JSON
    sa.Column("source", sa.String(64)),
    sa.Column("updated_at", sa.Float, nullable=False),
)


sessions = sa.Table(
    "thoth_sessions",
    metadata,
    # what every decision of a session depends on, in one row: the record the policy reads
    # (JSON), the hash-chain head, and a version that each committed change increments, so a
    # replica's cached copy is used only while its version is still the stored one
    sa.Column("tenant_id", sa.String(256), primary_key=True),
    sa.Column("session_id", sa.String(256), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("chain_index", sa.Integer),
    sa.Column("chain_hash", sa.String(64)),
)

agent_tokens = sa.Table(
    "thoth_agent_tokens",
    metadata,
    # the LLM tokens an agent's LLM_INVOCATION events reported, per UTC day of receipt, in all its
    # sessions (a session's own count is in its record): what tokens_per_agent_per_day reads
    sa.Column("tenant_id", sa.String(256), primary_key=True),
    sa.Column("agent_id", sa.String(256), primary_key=True),
    sa.Column("day", sa.String(10), primary_key=True),
    sa.Column("tokens", sa.BigInteger, nullable=False),
)

server_secrets = sa.Table(
    "thoth_secrets",
    metadata,
    # what every replica on this store must share (the console's cookie key), by name: the
    # first replica that needs one creates it (server_secret)
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

console_sessions = sa.Table(
    "thoth_console_sessions",
    metadata,
    # a console sign-in, until it expires or its user signs out (deleted): named by a digest of
    # its id (the cookie holds the id) and its key by the KeyRing's digest (never the key)
    sa.Column("id_sha256", sa.String(64), primary_key=True),
    sa.Column("key_digest", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)

slack_requests = sa.Table(
    "thoth_slack_requests",
    metadata,
    # a signed Slack request already taken (its signature's digest), so a replay is refused; kept
    # while its timestamp could pass the signature check, swept as new requests arrive
    sa.Column("signature_sha256", sa.String(64), primary_key=True),
    sa.Column("received_at", sa.Float, nullable=False),
    sa.Index("ix_thoth_slack_requests_time", "received_at"),
)


class StoreConfigError(ValueError):
    """A store URL or setting that cannot work; the message says what to change."""


SQLITE_SYNCHRONOUS: Final = ("normal", "full")


def normalize_url(url: str) -> str:
    """``postgres://`` and ``postgresql://`` mean PostgreSQL through psycopg 3, the driver of the
    ``postgres`` extra; every other URL (an explicit ``postgresql+driver://`` too) is kept."""
    scheme, separator, rest = url.partition("://")
    if separator and scheme.lower() in ("postgres", "postgresql"):
        return f"postgresql+psycopg://{rest}"
    return url


def safe_url(url: str) -> str:
    """The URL as it may be shown: normalised, with its password hidden."""
    try:
        return make_url(normalize_url(url)).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):  # not a URL; a port that is not a number
        return "(not a database URL)"


def parse_url(url: str) -> URL:
    """The store URL, normalised; StoreConfigError for one that is not a SQLite or PostgreSQL URL."""
    try:
        parsed = make_url(normalize_url(url))
    except (ArgumentError, ValueError):
        raise StoreConfigError(
            "not a database URL (give e.g. sqlite:///thoth.db or postgresql://user@host:5432/db)"
        ) from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise StoreConfigError(
            f"unsupported store {parsed.get_backend_name()!r}: use sqlite:///PATH or postgresql://USER@HOST:PORT/DB"
        )
    _check_sqlite_directory(parsed)
    return parsed


def _check_sqlite_directory(parsed: URL) -> None:
    """SQLite creates a missing file but not its directory, and says only 'unable to open'."""
    path = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or path in ("", ":memory:") or path.startswith("file:"):
        return
    directory = Path(path).expanduser().absolute().parent
    if not directory.is_dir():
        raise StoreConfigError(
            f"the SQLite file's directory {directory} does not exist: create it, or give another --db"
        )


def new_engine(parsed: URL, **options: Any) -> Engine:
    """``sa.create_engine``, with StoreConfigError naming the extra when the driver is missing."""
    try:
        return sa.create_engine(parsed, **options)
    except ImportError:
        raise StoreConfigError(
            f"no driver for {parsed.get_backend_name()}: pip install 'thoth-sdk[server,postgres]'"
        ) from None


def create_engine(url: str, *, pool_size: int = 8, sqlite_synchronous: str = "normal") -> Engine:
    """An engine with the settings this store relies on (the schema is migrate.prepare's job).

    Raises StoreConfigError for a URL that cannot be used.
    """
    parsed = parse_url(url)
    options: dict[str, Any] = {"hide_parameters": True}  # no event content in any error or log
    if parsed.get_backend_name() == "sqlite":
        options["isolation_level"] = None  # transactions are begun by _sqlite_begin, as BEGIN IMMEDIATE
    else:
        options.update(pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_size, pool_timeout=3.0)
    engine = new_engine(parsed, **options)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", partial(_sqlite_pragmas, synchronous=sqlite_synchronous))
        sa.event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any, *, synchronous: str) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # NORMAL: a committed transaction survives a process crash (WAL); FULL: also a power loss
    cursor.execute(f"PRAGMA synchronous={synchronous.upper()}")
    # below the request deadline (store_timeout_seconds), so a locked store answers 503 in time
    cursor.execute("PRAGMA busy_timeout=3000")
    # measured (benchmarks/server_bench.py): a bigger page cache keeps the event-id index
    # in memory, and fewer checkpoints mean fewer fsyncs on the write path
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA wal_autocheckpoint=10000")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    """Writes take the database lock when they begin, so what they read stays true until commit
    (a deferred BEGIN would read first and could fail to upgrade its lock)."""
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("thoth_write") else "BEGIN")


def ping(engine: Engine) -> bool:
    """Whether the store answers a trivial query."""
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except (OperationalError, InterfaceError, sa.exc.TimeoutError):
        return False
    return True


# -- writes (writer thread only) ------------------------------------------------------------------


_DECISION_COLUMNS: Final = (
    "tenant_id",
    "session_id",
    "agent_id",
    "tool_name",
    "kind",
    "fact",
    "mode",
    "decision",
    "shadow_decision",
    "reason",
    "reason_code",
    "rule_ids",
    "latency_ms",
    "hold_token",
    "created_at",
    "violation_id",
    "extensions",
    "decision_id",
    "request",
)


def insert_decisions(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        sql = (
            f"INSERT INTO thoth_decisions ({', '.join(_DECISION_COLUMNS)}) "  # noqa: S608
            f"VALUES ({_marks(conn, len(_DECISION_COLUMNS))})"
        )
        conn.exec_driver_sql(sql, [tuple(row.get(c) for c in _DECISION_COLUMNS) for row in rows])


def insert_hold(conn: Connection, row: Mapping[str, Any]) -> None:
    columns = list(row)
    sql = f"INSERT INTO thoth_holds ({', '.join(columns)}) VALUES ({_marks(conn, len(columns))})"  # noqa: S608
    conn.exec_driver_sql(sql, tuple(row.values()))


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
    link: Link
    body: str
    # the first columns of its row, as _INSERT_COLUMNS names them: built here, off the writer thread
    row: tuple[str, str, str, str, str, int, str | None, str | None]
    signature: str | None
    ingested_at: str | None
    redacted: int  # values replaced before storing (thoth.server.redaction)
    tokens: int = 0  # LLM tokens an LLM_INVOCATION event reports (for token limits)

    @property
    def agent_id(self) -> str:
        return self.row[3]  # _INSERT_COLUMNS: tenant_id, event_id, session_id, agent_id, ...


def prepare_event(event: Mapping[str, Any], event_id: str, *, redact: bool = True) -> PreparedEvent:
    """``event_id`` is the event's id in its canonical form (``schemas.canonical_event_id``).
    The chain link is of the event as sent; the body stored is redacted unless ``redact`` is off."""
    canonical = canonical_json({k: v for k, v in event.items() if k not in UNHASHED_FIELDS})
    link = link_of(event, canonical)
    tenant, session, claimed = event["tenant_id"], event["session_id"], event.get("hash")
    stored, redacted = scrub_event(event) if redact else (event, 0)
    body = (
        canonical_json({k: v for k, v in stored.items() if k not in UNHASHED_FIELDS})
        if redacted
        else canonical
    )
    return PreparedEvent(
        tenant,
        event_id,
        session,
        link,
        body.decode("utf-8"),
        (
            tenant,
            event_id,
            session,
            event["agent_id"],
            event["event_type"],
            link.chain_index,
            claimed,
            event.get("decision_id"),
        ),
        event.get("signature"),
        event.get("ingested_at"),
        redacted,
        reported_tokens(event),
    )


#: More tokens than one model call can report: such a count is a bug or a lie, and is not counted.
_MAX_TOKENS_PER_EVENT: Final = 100_000_000


def reported_tokens(event: Mapping[str, Any]) -> int:
    """The tokens an LLM_INVOCATION event's metadata reports: ``total_tokens``, else input plus
    output (what the SDK sends, thoth._usage); 0 for other events and for counts that are not
    whole numbers in range (the event is stored all the same)."""
    if event.get("event_type") != "LLM_INVOCATION":
        return 0
    metadata = event.get("metadata")
    if not isinstance(metadata, Mapping):
        return 0
    total = metadata_tokens(metadata)
    return total if total <= _MAX_TOKENS_PER_EVENT else 0


def stored_event(row: Mapping[str, Any]) -> dict[str, Any]:
    """The event as it was sent, from a stored row."""
    event: dict[str, Any] = json.loads(row["body"])
    for key in ("hash", "signature", "ingested_at"):
        if row[key] is not None:
            event[key] = row[key]
    event["redacted"] = row["redacted"]
    return event


def _select(conn: Connection, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Rows of a hot-path SELECT, planned for these values on PostgreSQL.

    psycopg prepares a statement run five times, and PostgreSQL then reuses one generic plan
    for it, made from the table's statistics at that moment: made while a table was still
    small, it scans the table for ever after (measured: 10 ms per event batch at 20,000
    events, growing). Writes stay prepared: decisions/s at 32 connections were 17-34% higher
    with them (two pairs of runs).
    """
    with _driver_errors(conn, sql):
        driver: Any = conn.connection.driver_connection
        if conn.dialect.name == "postgresql":
            return list(driver.execute(sql, params, prepare=False).fetchall())
        return list(driver.execute(sql, tuple(params)).fetchall())


def _write_many(conn: Connection, sql: str, rows: Sequence[tuple[Any, ...]]) -> int:
    """Run a hot-path write once per row; the number of rows it changed.

    Straight on the driver's cursor, without SQLAlchemy's execution context (on SQLite, 13.2 us
    -> 9.7 us for an executemany of ten small rows).
    """
    with _driver_errors(conn, sql):
        driver: Any = conn.connection.driver_connection
        cursor = driver.cursor()
        try:
            cursor.executemany(sql, rows)
            return int(cursor.rowcount)
        finally:
            cursor.close()


@contextlib.contextmanager
def _driver_errors(conn: Connection, sql: str) -> Iterator[None]:
    """Driver errors as SQLAlchemy would raise them (OperationalError and so on), without
    parameters, so the writer tells an unavailable store from a faulty job as it does for
    statements run through SQLAlchemy."""
    dbapi = conn.dialect.loaded_dbapi
    try:
        yield
    except dbapi.Error as exc:
        raise sa.exc.DBAPIError.instance(
            sql, None, exc, dbapi.Error, hide_parameters=True, dialect=conn.dialect
        ) from None


def _marks(conn: Connection, count: int) -> str:
    """Driver placeholders: the hot paths skip SQLAlchemy's per-row parameter handling."""
    style = conn.dialect.paramstyle
    mark = "?" if style == "qmark" else "%s" if style in ("format", "pyformat") else None
    if mark is None:
        raise NotImplementedError(f"paramstyle {style}")
    return ", ".join([mark] * count)


class SessionRow(NamedTuple):
    tenant_id: str
    session_id: str
    version: int
    state: str
    chain_index: int | None
    chain_hash: str | None


def lock_sessions(
    conn: Connection, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], SessionRow | None]:
    """The sessions' rows, locked until the transaction ends (None: no row yet, a new session).

    On PostgreSQL missing rows are created first (version 0), since only an existing row
    can be locked, and rows are locked in key order, so that two transactions cannot
    deadlock; on SQLite the transaction already holds the database's write lock.
    """
    found: dict[tuple[str, str], SessionRow | None] = dict.fromkeys(sorted(keys))
    if not found:
        return found
    params = [part for key in found for part in key]
    pairs = ", ".join([f"({_marks(conn, 2)})"] * len(found))
    postgres = conn.dialect.name == "postgresql"
    created: set[tuple[str, str]] = set()
    if postgres:
        values = ", ".join([f"({_marks(conn, 2)}, 0, '{{}}')"] * len(found))
        inserted = conn.exec_driver_sql(
            "INSERT INTO thoth_sessions (tenant_id, session_id, version, state) "  # noqa: S608
            f"VALUES {values} ON CONFLICT DO NOTHING RETURNING tenant_id, session_id",
            tuple(params),
        )
        created = {(tenant, session) for tenant, session in inserted}
    columns = "tenant_id, session_id, version, state, chain_index, chain_hash"
    if postgres:
        sql = (
            f"SELECT {columns} FROM thoth_sessions WHERE (tenant_id, session_id) IN (VALUES {pairs}) "  # noqa: S608
            "ORDER BY tenant_id, session_id FOR UPDATE"
        )
    else:  # SQLite plans `IN (VALUES ...)` of two or more rows as a scan of the whole table
        sql = (
            f"SELECT {', '.join('s.' + c for c in columns.split(', '))} FROM (VALUES {pairs}) AS k "  # noqa: S608
            "JOIN thoth_sessions AS s ON s.tenant_id = k.column1 AND s.session_id = k.column2"
        )
    rows = _select(conn, sql, params)
    for row in rows:
        key = (row[0], row[1])
        if key not in created:  # a row just created stands for no row: a new session
            found[key] = SessionRow(*row)
    return found


def save_sessions(conn: Connection, rows: Sequence[SessionRow]) -> None:
    """Upsert the sessions' rows (their versions already incremented)."""
    if not rows:
        return
    sql = (
        "INSERT INTO thoth_sessions (tenant_id, session_id, version, state, chain_index, chain_hash) "  # noqa: S608
        f"VALUES ({_marks(conn, 6)}) ON CONFLICT (tenant_id, session_id) DO UPDATE SET "
        "version = excluded.version, state = excluded.state, "
        "chain_index = excluded.chain_index, chain_hash = excluded.chain_hash"
    )
    conn.exec_driver_sql(sql, [tuple(row) for row in rows])


def session_facts_in(conn: Connection, tenant: str, session: str) -> list[Fact]:
    """What the decision log says about a session, oldest first (to rebuild its record)."""
    m = _marks(conn, 1)
    rows = _select(
        conn,
        "SELECT fact, tool_name, created_at FROM thoth_decisions "  # noqa: S608
        f"WHERE tenant_id = {m} AND session_id = {m} AND fact IS NOT NULL ORDER BY id",
        (tenant, session),
    )
    return [Fact(fact, tool, at) for fact, tool, at in rows]


def chain_head_in(conn: Connection, tenant: str, session: str) -> ChainHead | None:
    """The session's chain head, from its stored events (to rebuild it)."""
    m = _marks(conn, 1)
    rows = _select(
        conn,
        f"SELECT chain_index, hash FROM thoth_events WHERE tenant_id = {m} AND session_id = {m} "  # noqa: S608
        "AND chain_status IN ('verified', 'gap') ORDER BY chain_index DESC LIMIT 1",
        (tenant, session),
    )
    return ChainHead(rows[0][0], rows[0][1]) if rows else None


class IngestState(Protocol):
    """What ingest reads and updates of each session (a Txn): its chain head and its record."""

    def head(self, key: tuple[str, str]) -> ChainHead | None: ...

    def move_head(self, key: tuple[str, str], head: ChainHead | None) -> None: ...

    def session(self, key: tuple[str, str]) -> SessionRecord: ...


_INSERT_COLUMNS = (
    "tenant_id, event_id, session_id, agent_id, event_type, chain_index, hash, decision_id, "
    "chain_status, received_at, body, signature, ingested_at, redacted"
)


def ingest_events(
    conn: Connection, batch: Sequence[PreparedEvent], heads: IngestState, now: float
) -> dict[str, Any]:
    """Store new events (idempotent by tenant and canonical event_id) and check each session's chain.

    An id already stored (or earlier in the batch) with the same content is a duplicate; with
    different content it is a conflict: the first stands, and the sender is told which ids.
    The tokens of new LLM_INVOCATION events are added to their session's record and their
    agent's day, so a resent event is never counted twice.
    """
    stored = _stored_bodies(conn, batch)
    rows: list[tuple[Any, ...]] = []
    duplicates = breaks = redacted = 0
    conflicts: list[str] = []
    moved: dict[tuple[str, str], ChainHead | None] = {}  # each session's head as this batch moves it
    spent: dict[tuple[str, str], int] = {}  # tokens per (tenant, agent)
    for event in sorted(batch, key=_chain_order):
        key = (event.tenant_id, event.event_id)
        if key in stored:
            if _same_content(stored[key], event):
                duplicates += 1
            else:
                conflicts.append(event.event_id)
            continue
        stored[key] = event.body
        session = (event.tenant_id, event.session_id)
        head = moved[session] if session in moved else heads.head(session)
        status, moved[session] = check_link(event.link, head)
        if status != "verified" and status != "unchained":
            breaks += 1
        rows.append((*event.row, status, now, event.body, event.signature, event.ingested_at, event.redacted))
        redacted += event.redacted > 0
        if event.tokens:
            heads.session(session).spent(event.tokens)
            agent = (event.tenant_id, event.agent_id)
            spent[agent] = spent.get(agent, 0) + event.tokens
    for session, head in moved.items():  # once per session, not once per event
        heads.move_head(session, head)
    add_agent_tokens(conn, spent, utc_day(now))
    if rows:
        sql = (
            f"INSERT INTO thoth_events ({_INSERT_COLUMNS}) VALUES ({_marks(conn, 14)}) "  # noqa: S608
            "ON CONFLICT (tenant_id, event_id) DO NOTHING"
        )
        _write_many(conn, sql, rows)
    return {
        "accepted": len(rows),
        "duplicates": duplicates,
        "chain_breaks": breaks,
        "redacted": redacted,
        "conflicts": len(conflicts),
        "conflict_event_ids": conflicts[:MAX_CONFLICT_IDS],
    }


MAX_CONFLICT_IDS: Final = 100


def add_agent_tokens(conn: Connection, spent: Mapping[tuple[str, str], int], day: str) -> None:
    """Add each (tenant, agent)'s tokens to its count for ``day``."""
    if not spent:
        return
    sql = (
        f"INSERT INTO thoth_agent_tokens (tenant_id, agent_id, day, tokens) VALUES ({_marks(conn, 4)}) "  # noqa: S608
        "ON CONFLICT (tenant_id, agent_id, day) "
        "DO UPDATE SET tokens = thoth_agent_tokens.tokens + excluded.tokens"
    )
    rows = [(tenant, agent, day, tokens) for (tenant, agent), tokens in sorted(spent.items())]
    _write_many(conn, sql, rows)


def agent_tokens_on(conn: Connection, tenant: str, agent: str, day: str) -> int:
    """The tokens an agent spent on ``day`` (in the writer's transaction, for a decision)."""
    m = _marks(conn, 1)
    rows = _select(
        conn,
        f"SELECT tokens FROM thoth_agent_tokens WHERE tenant_id = {m} AND agent_id = {m} AND day = {m}",  # noqa: S608
        (tenant, agent, day),
    )
    return int(rows[0][0]) if rows else 0


def _stored_bodies(conn: Connection, batch: Sequence[PreparedEvent]) -> dict[tuple[str, str], str]:
    """The stored bodies of the batch's ids that are already stored."""
    by_tenant: dict[str, list[str]] = {}
    for event in batch:
        by_tenant.setdefault(event.tenant_id, []).append(event.event_id)
    found: dict[tuple[str, str], str] = {}
    for tenant, ids in by_tenant.items():
        sql = (
            f"SELECT event_id, body FROM thoth_events WHERE tenant_id = {_marks(conn, 1)} "  # noqa: S608
            f"AND event_id IN ({_marks(conn, len(ids))})"
        )
        found.update(((tenant, event_id), body) for event_id, body in _select(conn, sql, (tenant, *ids)))
    return found


def _same_content(stored_body: str, event: PreparedEvent) -> bool:
    """Whether a resend carries what is stored, whichever form of the id each one used."""
    if stored_body == event.body:
        return True
    return _content(stored_body, event.event_id) == _content(event.body, event.event_id)


def _content(body: str, event_id: str) -> bytes:
    return canonical_json(json.loads(body) | {"event_id": event_id})


def _chain_order(event: PreparedEvent) -> tuple[str, str, int]:
    """Chained events of a session in index order (a batch may be reordered in transit)."""
    return (event.tenant_id, event.session_id, event.link.chain_index)


# -- reads ----------------------------------------------------------------------------------------


def get_hold(engine: Engine, token: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(holds).where(holds.c.hold_token == token)).mappings().first()
    return dict(row) if row else None


def get_hold_by_ref(engine: Engine, ref: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(holds).where(holds.c.hold_ref == ref)).mappings().first()
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
    decision_id: str | None = None,
    since: float | None = None,
    until: float | None = None,
) -> list[dict[str, Any]]:
    """Oldest first by id. A time window filters on received_at while the id index is walked: the
    ids of a window are nearly contiguous, so paging through it reads each row about once."""
    query = sa.select(events).where(events.c.id > after_id)
    if decision_id is not None:
        query = query.where(events.c.decision_id == decision_id)
    if since is not None:
        query = query.where(events.c.received_at >= since)
    if until is not None:
        query = query.where(events.c.received_at < until)
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


def recorded_decisions(
    conn: Connection,
    columns: Sequence[str],
    tenant: str | None = None,
    since: float | None = None,
    until: float | None = None,
) -> Iterator[sa.RowMapping]:
    """The decision log of a window (``since <= created_at < until``), by tenant, oldest first,
    streamed (a server-side cursor on PostgreSQL) so a million rows are never all in memory."""
    query = sa.select(*(decisions.c[name] for name in columns))
    if tenant is not None:
        query = query.where(decisions.c.tenant_id == tenant)
    if since is not None:
        query = query.where(decisions.c.created_at >= since)
    if until is not None:
        query = query.where(decisions.c.created_at < until)
    query = query.order_by(decisions.c.tenant_id, decisions.c.created_at, decisions.c.id)
    result = conn.execution_options(stream_results=True, yield_per=1000).execute(query)
    yield from result.mappings()


def recorded_token_spend(
    conn: Connection, tenant: str | None = None, since: float | None = None, until: float | None = None
) -> Iterator[tuple[str, str, str, float, int]]:
    """(tenant, session, agent, received_at, tokens) of each LLM_INVOCATION event of a window that
    reports tokens, by tenant, oldest first, streamed: what token limits counted, for replay."""
    query = sa.select(
        events.c.tenant_id, events.c.session_id, events.c.agent_id, events.c.received_at, events.c.body
    ).where(events.c.event_type == "LLM_INVOCATION")
    if tenant is not None:
        query = query.where(events.c.tenant_id == tenant)
    if since is not None:
        query = query.where(events.c.received_at >= since)
    if until is not None:
        query = query.where(events.c.received_at < until)
    query = query.order_by(events.c.tenant_id, events.c.received_at, events.c.id)
    result = conn.execution_options(stream_results=True, yield_per=1000).execute(query)
    for tenant_id, session_id, agent_id, received_at, body in result:
        try:
            tokens = reported_tokens(json.loads(body))
        except ValueError:
            continue
        if tokens:
            yield tenant_id, session_id, agent_id, received_at, tokens


def decision_by_violation(
    engine: Engine, tenants: frozenset[str] | None, violation_id: str
) -> dict[str, Any] | None:
    query = sa.select(decisions).where(decisions.c.violation_id == violation_id)
    if tenants is not None:
        query = query.where(decisions.c.tenant_id.in_(sorted(tenants)))
    with engine.connect() as conn:
        row = conn.execute(query.limit(1)).mappings().first()
    return dict(row) if row is not None else None


def upsert_tools(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Record each tool as its agent last declared it."""
    keys = ("tenant_id", "agent_id", "tool_name")
    columns = (*keys, "description", "input_schema", "source", "updated_at")
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in keys)
    sql = (
        f"INSERT INTO thoth_tool_inventory ({', '.join(columns)}) VALUES ({_marks(conn, len(columns))}) "  # noqa: S608
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
    )
    conn.exec_driver_sql(sql, [tuple(row[c] for c in columns) for row in rows])


def list_tools(
    engine: Engine,
    tenants: frozenset[str] | None,
    tenant: str | None,
    agent: str | None,
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    table = tool_inventory
    query = sa.select(table)
    if tenants is not None:
        query = query.where(table.c.tenant_id.in_(sorted(tenants)))
    if tenant is not None:
        query = query.where(table.c.tenant_id == tenant)
    if agent is not None:
        query = query.where(table.c.agent_id == agent)
    query = query.order_by(table.c.tenant_id, table.c.agent_id, table.c.tool_name).limit(limit).offset(offset)
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


# -- per-server secrets and console sessions ------------------------------------------------------


def server_secret(conn: Connection, name: str, candidate: str, now: float) -> str:
    """The secret called ``name``: ``candidate`` unless another replica stored one first (write)."""
    conn.execute(
        sa.text(
            "INSERT INTO thoth_secrets (name, value, created_at) VALUES (:name, :value, :now) "
            "ON CONFLICT (name) DO NOTHING"
        ),
        {"name": name, "value": candidate, "now": now},
    )
    value = conn.execute(sa.select(server_secrets.c.value).where(server_secrets.c.name == name)).scalar_one()
    return str(value)


def insert_console_session(conn: Connection, row: Mapping[str, Any], now: float) -> None:
    """Record a sign-in (write); expired sign-ins are swept here, so the table stays small."""
    conn.execute(console_sessions.delete().where(console_sessions.c.expires_at <= now))
    conn.execute(console_sessions.insert().values(dict(row)))


def delete_console_session(conn: Connection, id_sha256: str) -> None:
    """Sign out (write): the cookie that named this session no longer opens it."""
    conn.execute(console_sessions.delete().where(console_sessions.c.id_sha256 == id_sha256))


def get_console_session(engine: Engine, id_sha256: str, now: float) -> dict[str, Any] | None:
    query = sa.select(console_sessions).where(
        console_sessions.c.id_sha256 == id_sha256, console_sessions.c.expires_at > now
    )
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    return dict(row) if row is not None else None


def first_slack_request(conn: Connection, signature_sha256: str, now: float, keep_seconds: float) -> bool:
    """Record a signed Slack request (write): True the first time, False for a replay. Rows older
    than ``keep_seconds`` are swept first (their timestamps no longer pass the check anyway)."""
    conn.execute(slack_requests.delete().where(slack_requests.c.received_at < now - keep_seconds))
    taken = conn.execute(
        sa.text(
            "INSERT INTO thoth_slack_requests (signature_sha256, received_at) VALUES (:digest, :now) "
            "ON CONFLICT (signature_sha256) DO NOTHING"
        ),
        {"digest": signature_sha256, "now": now},
    )
    return bool(taken.rowcount)


def now() -> float:
    return time.time()


def iter_rule_ids(raw: str | None) -> Iterable[str]:
    return json.loads(raw) if raw else ()
