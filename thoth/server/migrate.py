"""Schema versions of the ``thoth serve`` store, managed by Alembic (``thoth/server/migrations``).

``prepare`` runs when the server starts: an empty database is created at the newest schema,
so the embedded SQLite default just works; a database whose schema is behind is refused with
the command to run, unless the server was started with ``--migrate``. ``thoth db upgrade`` and
``thoth db current`` call ``upgrade`` and ``status``.

Checks and upgrades run under a lock held for their whole transaction (``pg_advisory_lock`` on
PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), so replicas starting together on one new database
create it once. Each call uses its own engine without a pool: nothing outlives the call, and on
PostgreSQL closing the connection releases the advisory lock whatever happened.

Errors: ``SchemaError`` for the schema, ``ValueError`` for a URL or driver that cannot be used,
``sqlalchemy.exc.SQLAlchemyError`` when the database cannot be reached (``error_line`` turns it
into one line without SQL parameters). Alembic never configures logging here (no ini file, no
``fileConfig``); URLs are only ever shown with the password hidden.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final, NamedTuple

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from thoth.server.store import new_engine, parse_url, safe_url

log = logging.getLogger("thoth.server.migrate")
# Alembic logs "Context impl SQLiteImpl." and the like at INFO on every check; thoth logs what
# it changed itself. An application that set Alembic's level keeps it.
if logging.getLogger("alembic").level == logging.NOTSET:
    logging.getLogger("alembic").setLevel(logging.WARNING)

SCRIPT_LOCATION: Final = str(Path(__file__).with_name("migrations"))
#: not Alembic's default ``alembic_version``: a PostgreSQL database shared with another
#: application that uses Alembic must not mix its revisions with thoth's
VERSION_TABLE: Final = "thoth_alembic_version"
#: the schema of thoth before schema versions (its ``metadata.create_all``), which 0001 creates
BASELINE: Final = "0001_initial"
BASELINE_TABLES: Final = frozenset(("thoth_events", "thoth_holds", "thoth_decisions"))
#: the key of thoth's session-level advisory lock on PostgreSQL (the bytes of "thothmig")
PG_LOCK_KEY: Final = int.from_bytes(b"thothmig", "big")
#: how long a process waits for another's SQLite write lock before giving up
SQLITE_BUSY_SECONDS: Final = 60.0


class SchemaError(Exception):
    """The database's schema cannot be used by this thoth; the message (one line) says what to run."""


class Status(NamedTuple):
    """Where a database's schema stands against this thoth's migrations."""

    current: str | None  # the stored revision; None when there is no version table
    head: str  # the newest revision this thoth knows
    legacy: bool  # thoth tables from before schema versions (counted as BASELINE), not stamped
    known: bool  # current is None or one of this thoth's revisions

    def describe(self) -> str:
        """One line for ``thoth db current``: the revision first, then what it means."""
        if self.legacy:
            return (
                f"none (thoth tables from before schema versions: `thoth db upgrade` stamps "
                f"{BASELINE} and upgrades to {self.head})"
            )
        if self.current is None:
            return f"none (empty database: `thoth db upgrade` or `thoth serve` creates {self.head})"
        if self.current == self.head:
            return f"{self.current} (head)"
        if not self.known:
            return f"{self.current} (newer than this thoth knows: its newest is {self.head})"
        return f"{self.current} (behind: this thoth needs {self.head}; run `thoth db upgrade`)"


def error_line(url: str, exc: BaseException) -> str:
    """One line for a database that cannot be used: the error class and the driver's first line,
    never the SQL parameters that SQLAlchemy's own message appends."""
    cause = getattr(exc, "orig", None) or exc
    first = (str(cause).strip().splitlines() or [""])[0][:200]
    return f"cannot use the database {safe_url(url)}: {type(cause).__name__}: {first}".rstrip(": ")


def prepare(url: str, *, migrate: bool) -> None:
    """Make the store usable at start-up: create an empty database at head, upgrade one that is
    behind when ``migrate`` is true, else raise SchemaError saying what to run. A refusal writes
    nothing (a legacy database is stamped BASELINE only as part of an upgrade)."""
    with _locked(url) as conn:
        status = _status(conn)
        if status.current == status.head:
            return
        if not status.known:
            raise SchemaError(_newer_message(status))
        if status.current is None and not status.legacy:
            _upgrade(conn, status, "head")
            log.info("created the store's schema at %s", status.head)
            return
        if not migrate:
            raise SchemaError(_behind_message(url, status))
        _upgrade(conn, status, "head")
        log.info("upgraded the store's schema from %s to %s", status.current or BASELINE, status.head)


def upgrade(url: str, revision: str = "head") -> str:
    """``thoth db upgrade``: bring the schema to ``revision`` (a legacy database is stamped
    BASELINE first); returns the revision now current."""
    with _locked(url) as conn:
        status = _status(conn)
        if not status.known:
            raise SchemaError(_newer_message(status))
        _upgrade(conn, status, revision)
        now = _stored_revision(conn)
    assert now is not None  # an upgrade always leaves a revision
    return now


def current(url: str) -> str | None:
    """The stored revision, or None (an empty database, or one from before schema versions)."""
    return status(url).current


def status(url: str) -> Status:
    """Where the schema stands, read without the lock and without writing."""
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            return _status(conn)
    finally:
        engine.dispose()


def head() -> str:
    """The newest revision this thoth knows."""
    revision = _script().get_current_head()
    assert revision is not None  # the migrations are one line of revisions
    return revision


# -- internals ------------------------------------------------------------------------------------


def _behind_message(url: str, status: Status) -> str:
    at = f"{BASELINE} (tables from before schema versions)" if status.legacy else status.current
    return (
        f"the database schema is at {at}, this thoth serve needs {status.head}: "
        f"run `thoth db upgrade --db {safe_url(url)}` or start with --migrate"
    )


def _newer_message(status: Status) -> str:
    return (
        f"the database schema is at {status.current}, which this thoth does not know (its newest is "
        f"{status.head}): a newer thoth upgraded it; run that version"
    )


def _config(conn: Connection | None = None) -> Config:
    """Alembic's configuration, built here: no alembic.ini, so nothing configures logging."""
    config = Config(attributes={"connection": conn} if conn is not None else None)
    config.set_main_option("script_location", SCRIPT_LOCATION.replace("%", "%%"))
    return config


def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def _stored_revision(conn: Connection) -> str | None:
    context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def _status(conn: Connection) -> Status:
    script = _script()
    newest = script.get_current_head()
    assert newest is not None
    stored = _stored_revision(conn)
    legacy = stored is None and _has_legacy_tables(conn)
    known = stored is None or stored in {rev.revision for rev in script.walk_revisions()}
    return Status(current=stored, head=newest, legacy=legacy, known=known)


def _has_legacy_tables(conn: Connection) -> bool:
    """Whether thoth's tables exist without a version; SchemaError if only some of them do."""
    present = set(sa.inspect(conn).get_table_names()) & BASELINE_TABLES
    if present and present != BASELINE_TABLES:
        missing = ", ".join(sorted(BASELINE_TABLES - present))
        raise SchemaError(
            f"the database has some of thoth's tables but not {missing}, and no schema version: "
            "repair it by hand or use a new database"
        )
    return bool(present)


def _upgrade(conn: Connection, status: Status, revision: str) -> None:
    config = _config(conn)
    if status.legacy:
        command.stamp(config, BASELINE)
    command.upgrade(config, revision)


@contextlib.contextmanager
def _locked(url: str) -> Iterator[Connection]:
    """A connection in a transaction that holds thoth's schema lock; committed on success."""
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                _pg_advisory_lock(conn)  # released when the connection closes (no pool)
            with conn.begin():  # BEGIN IMMEDIATE on SQLite: see _sqlite_begin
                yield conn
    finally:
        engine.dispose()


def _pg_advisory_lock(conn: Connection) -> None:
    key = {"key": PG_LOCK_KEY}
    if not conn.execute(sa.text("SELECT pg_try_advisory_lock(:key)"), key).scalar():
        log.info("waiting for another process that is checking or upgrading the store's schema")
        conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), key)
    conn.commit()  # a session-level lock: it outlives this transaction


def _engine(url: str) -> Engine:
    """A short-lived engine without a pool; ValueError for a URL or driver that cannot be used."""
    parsed = parse_url(url)
    options: dict[str, Any] = {"poolclass": NullPool}
    sqlite = parsed.get_backend_name() == "sqlite"
    if sqlite and parsed.get_driver_name() == "pysqlite":
        options["connect_args"] = {"timeout": SQLITE_BUSY_SECONDS}
    engine = new_engine(parsed, **options)
    if sqlite:
        sa.event.listen(engine, "connect", _sqlite_connect)
        sa.event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # sqlite3 would commit each DDL statement by itself; SQLAlchemy emits the BEGIN instead
    dbapi_connection.isolation_level = None


def _sqlite_begin(conn: Connection) -> None:
    # the write lock from the start: a second process waits here until the first has committed
    conn.exec_driver_sql("BEGIN IMMEDIATE")
