"""Schema versions of the store (thoth.server.migrate), on SQLite and on a real PostgreSQL.

Each test gets a fresh empty database of its kind (``empty_db``). "Legacy" databases are built
from ``LEGACY``, a frozen copy of the tables thoth created before schema versions (store.py's
``metadata.create_all`` at the release before migrations), not from today's store.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.pool import NullPool

from tests.conftest import ThothServer, free_port
from tests.server.test_api import chained_events
from thoth.server import holds, migrate, store

STORES = ["sqlite", "postgresql"]
HEAD = "0010_agent_tokens"
PASSWORD = "s3cret-pw-do-not-print"

LEGACY = sa.MetaData()
sa.Table(
    "thoth_events",
    LEGACY,
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
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("signature", sa.Text),
    sa.Column("ingested_at", sa.String(64)),
    sa.UniqueConstraint("tenant_id", "event_id", name="uq_thoth_events_tenant_event"),
    sa.Index("ix_thoth_events_session", "tenant_id", "session_id", "chain_index"),
)
sa.Table(
    "thoth_holds",
    LEGACY,
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
sa.Table(
    "thoth_decisions",
    LEGACY,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(256), nullable=False),
    sa.Column("session_id", sa.String(256), nullable=False),
    sa.Column("agent_id", sa.String(256), nullable=False),
    sa.Column("tool_name", sa.String(256), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("fact", sa.String(16)),
    sa.Column("mode", sa.String(16)),
    sa.Column("decision", sa.String(16), nullable=False),
    sa.Column("shadow_decision", sa.String(16)),
    sa.Column("reason", sa.Text),
    sa.Column("reason_code", sa.String(64)),
    sa.Column("rule_ids", sa.Text),
    sa.Column("latency_ms", sa.Float),
    sa.Column("hold_token", sa.String(256)),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Index("ix_thoth_decisions_session", "tenant_id", "session_id", "id"),
)
LEGACY_EVENT = {
    "tenant_id": "acme",
    "event_id": "evt-legacy-1",
    "session_id": "s-1",
    "agent_id": "a-1",
    "event_type": "tool_call",
    "chain_status": "unchained",
    "received_at": 1.5,
    "body": "{}",
}


@pytest.fixture(params=STORES, ids=STORES)
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh empty database: a SQLite file under tmp_path, or ``pg_url`` (skips without PostgreSQL)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


# -- helpers --------------------------------------------------------------------------------------


def engine(url: str) -> sa.Engine:
    return sa.create_engine(store.normalize_url(url), poolclass=NullPool)


def schema_differences(url: str) -> list[Any]:
    """What Alembic's autogenerate would change to make the database match store.metadata."""

    def thoth_only(name: str | None, type_: str, _parents: Any) -> bool:
        return not (type_ == "table" and name == migrate.VERSION_TABLE)

    db = engine(url)
    try:
        with db.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"include_name": thoth_only, "compare_type": True, "compare_server_default": True}
            )
            return list(compare_metadata(context, store.metadata))
    finally:
        db.dispose()


def tables(url: str) -> set[str]:
    db = engine(url)
    try:
        return set(sa.inspect(db).get_table_names())
    finally:
        db.dispose()


def make_legacy(url: str) -> None:
    """A database as thoth made it before schema versions, with one event in it."""
    db = engine(url)
    try:
        LEGACY.create_all(db)
        with db.begin() as conn:
            conn.execute(LEGACY.tables["thoth_events"].insert(), LEGACY_EVENT)
    finally:
        db.dispose()


def event_ids(url: str) -> list[str]:
    db = engine(url)
    try:
        with db.connect() as conn:
            return list(conn.execute(sa.select(store.events.c.event_id)).scalars())
    finally:
        db.dispose()


def set_stored_revision(url: str, revision: str) -> None:
    db = engine(url)
    try:
        with db.begin() as conn:
            conn.exec_driver_sql(f"UPDATE {migrate.VERSION_TABLE} SET version_num = '{revision}'")  # noqa: S608
    finally:
        db.dispose()


def with_password(url: str) -> str:
    """The PostgreSQL URL with a password (the test cluster trusts every connection, so it is
    accepted and ignored); SQLite URLs have none."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return url
    return parsed.set(password=PASSWORD).render_as_string(hide_password=False)


def thoth(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("THOTH_")}
    return subprocess.run(
        [sys.executable, "-m", "thoth.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env=clean | (env or {}),
    )


# -- tests ----------------------------------------------------------------------------------------


def test_normalize_url_gives_psycopg_for_postgres_and_keeps_the_rest() -> None:
    assert store.normalize_url("postgres://u@h:5432/d") == "postgresql+psycopg://u@h:5432/d"
    assert store.normalize_url("postgresql://u:p@h/d") == "postgresql+psycopg://u:p@h/d"
    assert store.normalize_url("postgresql+psycopg://u@h/d") == "postgresql+psycopg://u@h/d"
    assert store.normalize_url("postgresql+psycopg2://u@h/d") == "postgresql+psycopg2://u@h/d"
    assert store.normalize_url("sqlite:///thoth.db") == "sqlite:///thoth.db"
    assert store.safe_url("postgres://u:hunter2@h/d") == "postgresql+psycopg://u:***@h/d"


def test_head_is_the_newest_revision() -> None:
    assert migrate.head() == HEAD


def test_an_empty_database_is_created_at_head_and_matches_the_store(empty_db: str) -> None:
    assert migrate.current(empty_db) is None
    migrate.prepare(empty_db, migrate=False)
    assert migrate.current(empty_db) == HEAD
    assert schema_differences(empty_db) == []
    migrate.prepare(empty_db, migrate=False)  # at head: nothing to do
    assert migrate.status(empty_db).describe() == f"{HEAD} (head)"


def test_each_revision_upgrades_to_the_next(empty_db: str) -> None:
    assert migrate.upgrade(empty_db, "0001_initial") == "0001_initial"
    assert tables(empty_db) == {"thoth_events", "thoth_holds", "thoth_decisions", migrate.VERSION_TABLE}
    assert migrate.upgrade(empty_db) == HEAD
    assert schema_differences(empty_db) == []


def test_a_legacy_database_is_refused_then_upgraded_with_migrate_keeping_its_rows(empty_db: str) -> None:
    make_legacy(empty_db)
    url = with_password(empty_db)
    with pytest.raises(migrate.SchemaError) as refused:
        migrate.prepare(url, migrate=False)
    message = str(refused.value)
    assert "\n" not in message
    assert "0001_initial" in message
    assert HEAD in message
    assert f"`thoth db upgrade --db {store.safe_url(url)}`" in message
    assert "--migrate" in message
    assert PASSWORD not in message
    assert migrate.VERSION_TABLE not in tables(empty_db)  # a refusal writes nothing
    assert migrate.status(empty_db).legacy

    migrate.prepare(url, migrate=True)
    assert migrate.current(empty_db) == HEAD
    assert event_ids(empty_db) == ["evt-legacy-1"]
    assert schema_differences(empty_db) == []


def test_a_database_behind_is_refused_unless_migrate(empty_db: str) -> None:
    migrate.upgrade(empty_db, "0001_initial")
    with pytest.raises(migrate.SchemaError, match=rf"at 0001_initial, this thoth serve needs {HEAD}"):
        migrate.prepare(empty_db, migrate=False)
    assert migrate.current(empty_db) == "0001_initial"
    migrate.prepare(empty_db, migrate=True)
    assert migrate.current(empty_db) == HEAD


def test_a_newer_unknown_revision_is_refused(empty_db: str, tmp_path: Path) -> None:
    migrate.prepare(empty_db, migrate=False)
    set_stored_revision(empty_db, "9999_future")
    for allowed in (False, True):
        with pytest.raises(migrate.SchemaError, match=r"at 9999_future, which this thoth does not know"):
            migrate.prepare(empty_db, migrate=allowed)
    with pytest.raises(migrate.SchemaError, match="newer thoth"):
        migrate.upgrade(empty_db)
    assert migrate.current(empty_db) == "9999_future"

    refused = thoth("db", "upgrade", "--db", empty_db, cwd=tmp_path)
    assert refused.returncode == 1
    assert refused.stderr.startswith("thoth: the database schema is at 9999_future")
    assert "Traceback" not in refused.stderr
    shown = thoth("db", "current", "--db", empty_db, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("9999_future (newer than this thoth knows")


def test_db_current_and_upgrade_commands(empty_db: str, tmp_path: Path) -> None:
    url = with_password(empty_db)
    before = thoth("db", "current", "--db", url, cwd=tmp_path)
    assert before.returncode == 0, before.stderr
    assert before.stdout.startswith("none (empty database")

    upgraded = thoth("db", "upgrade", "--db", url, cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.strip() == f"{HEAD} (created)"
    assert PASSWORD not in upgraded.stdout + upgraded.stderr

    again = thoth("db", "upgrade", env={"THOTH_SERVER_DB_URL": url}, cwd=tmp_path)  # --db from the env
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == f"{HEAD} (already current)"

    after = thoth("db", "current", "--db", url, cwd=tmp_path)
    assert after.stdout.strip() == f"{HEAD} (head)"
    assert schema_differences(empty_db) == []


def test_db_upgrade_stamps_and_upgrades_a_legacy_database(empty_db: str, tmp_path: Path) -> None:
    make_legacy(empty_db)
    shown = thoth("db", "current", "--db", empty_db, cwd=tmp_path)
    assert shown.stdout.startswith("none (thoth tables from before schema versions")
    upgraded = thoth("db", "upgrade", "--db", empty_db, cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.strip() == f"{HEAD} (upgraded from 0001_initial)"
    assert event_ids(empty_db) == ["evt-legacy-1"]


def test_db_commands_default_to_thoth_db_in_the_working_directory(tmp_path: Path) -> None:
    result = thoth("db", "upgrade", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert migrate.current(f"sqlite:///{tmp_path / 'thoth.db'}") == HEAD


def test_postgres_scheme_is_accepted(pg_url: str, tmp_path: Path) -> None:
    plain = pg_url.replace("postgresql+psycopg://", "postgres://", 1)
    assert plain.startswith("postgres://")
    result = thoth("db", "upgrade", "--db", plain, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert migrate.current(pg_url) == HEAD


def test_an_unreachable_database_gives_one_line_without_the_password(tmp_path: Path) -> None:
    url = f"postgresql://thoth:{PASSWORD}@127.0.0.1:{free_port()}/nowhere"
    result = thoth("db", "current", "--db", url, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("thoth: cannot use the database postgresql+psycopg://thoth:***@127.0.0.1")
    assert PASSWORD not in result.stderr


def test_concurrent_prepare_on_one_empty_database_creates_it_once(empty_db: str, tmp_path: Path) -> None:
    """Processes released together (each waits for a go file after its imports) all succeed."""
    script = (
        "import os, sys, time\n"
        "from thoth.server.migrate import prepare\n"
        "open(sys.argv[2] + '.ready', 'w').close()\n"
        "while not os.path.exists(sys.argv[3]): time.sleep(0.001)\n"
        "prepare(sys.argv[1], migrate=False)\n"
    )
    go = tmp_path / "go"
    ready = [tmp_path / f"p{i}" for i in range(4)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, empty_db, str(marker), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for marker in ready
    ]
    deadline = time.monotonic() + 60
    while not all(Path(f"{marker}.ready").exists() for marker in ready) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    results = [process.communicate(timeout=60) for process in processes]
    assert [process.returncode for process in processes] == [0] * len(processes), results
    assert migrate.current(empty_db) == HEAD
    assert schema_differences(empty_db) == []


def test_thoth_serve_on_a_database_behind_exits_2_with_one_line_and_starts_with_migrate(
    empty_db: str, tmp_path: Path
) -> None:
    migrate.upgrade(empty_db, "0001_initial")
    command = [sys.executable, "-m", "thoth.cli", "serve", "--port", str(free_port())]
    env = {k: v for k, v in os.environ.items() if not k.startswith("THOTH_")}
    try:
        refused = subprocess.run(
            [*command, "--db", empty_db, "--insecure-dev"],
            capture_output=True,
            text=True,
            timeout=30,
            cwd=tmp_path,
            env=env,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("thoth serve started on a database whose schema is behind")
    assert refused.returncode == 2, refused.stderr
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1, refused.stderr
    assert f"the database schema is at 0001_initial, this thoth serve needs {HEAD}" in lines[0]
    assert f"`thoth db upgrade --db {store.safe_url(empty_db)}`" in lines[0]
    assert "--migrate" in lines[0]
    assert migrate.current(empty_db) == "0001_initial"

    server = ThothServer(tmp_path / "migrating", db_url=empty_db, extra_args=["--migrate"]).start()
    try:
        assert migrate.current(empty_db) == HEAD
    finally:
        server.stop()


LIMIT_POLICY = """
version: 1
scope: ignore
rules:
  - {id: three-reads, tools: [read_file], limit: {calls_per_tool: 3}, decision: BLOCK}
"""


def test_a_legacy_sessions_history_still_counts_after_the_upgrade(empty_db: str, tmp_path: Path) -> None:
    """Limits and chains of sessions from before thoth_sessions are rebuilt from the stored
    decisions and events, not started afresh."""
    server = ThothServer(tmp_path / "legacy", db_url=empty_db, policy_text=LIMIT_POLICY)
    session, now = "legacy-session", time.time()
    events = chained_events(server, session, 3)
    db = engine(empty_db)
    try:
        LEGACY.create_all(db)
        with db.begin() as conn:
            for event in events[:2]:
                prepared = store.prepare_event(event, event["event_id"])
                conn.execute(
                    LEGACY.tables["thoth_events"].insert(),
                    {
                        "tenant_id": server.tenant_id,
                        "event_id": event["event_id"],
                        "session_id": session,
                        "agent_id": "test-agent",
                        "event_type": event["event_type"],
                        "chain_index": event["chain_index"],
                        "hash": event["hash"],
                        "chain_status": "verified",
                        "received_at": now,
                        "body": prepared.body,
                    },
                )
            for _ in range(3):  # three reads already ran in that session
                conn.execute(
                    LEGACY.tables["thoth_decisions"].insert(),
                    {
                        "tenant_id": server.tenant_id,
                        "session_id": session,
                        "agent_id": "test-agent",
                        "tool_name": "read_file",
                        "kind": "decision",
                        "fact": "ran",
                        "decision": "ALLOW",
                        "created_at": now,
                    },
                )
    finally:
        db.dispose()
    server.extra_args = ["--migrate"]
    server.start()
    try:
        answer = server.enforce(
            session_id=session, tool_name="read_file", tool_args={}, enforcement_mode="block"
        )
        assert (answer["decision"], answer["matched_rule_ids"]) == ("BLOCK", ["three-reads"])
        fresh = server.enforce(
            session_id="a-new-session", tool_name="read_file", tool_args={}, enforcement_mode="block"
        )
        assert fresh["decision"] == "ALLOW"
        with server.client() as client:
            result = client.post("/v1/events/batch", json=events[2:]).json()
        assert (result["accepted"], result["chain_breaks"]) == (
            1,
            0,
        )  # the chain went on from the stored head
    finally:
        server.stop()


def test_holds_made_before_refs_get_their_ref_on_upgrade(empty_db: str) -> None:
    """0006 backfills hold_ref from each token, the same ref a new hold gets (holds.ref_of)."""
    migrate.upgrade(empty_db, "0005_event_redaction")
    tokens = ["hold_before_refs_one_0123456789", "hold_before_refs_two_0123456789"]
    insert = sa.text(
        "INSERT INTO thoth_holds (hold_token, tenant_id, agent_id, session_id, tool_name, args_sha256, "
        "status, created_at, expires_at) VALUES (:token, 't', 'a', 's', 'x', :digest, 'pending', 1.0, 2.0)"
    )
    db = engine(empty_db)
    try:
        with db.begin() as conn:
            conn.execute(insert, [{"token": token, "digest": "0" * 64} for token in tokens])
        migrate.upgrade(empty_db)
        with db.connect() as conn:
            refs = dict(
                tuple(row) for row in conn.execute(sa.text("SELECT hold_token, hold_ref FROM thoth_holds"))
            )
    finally:
        db.dispose()
    assert refs == {token: holds.ref_of(token) for token in tokens}
    assert len(set(refs.values())) == 2
