"""The store fails under a running ``thoth serve``: 503 ``store_unavailable``, never a 500, then recovery.

Three real faults: another process holds SQLite's write lock (``BEGIN EXCLUSIVE``, as a backup
tool or a second program would); another session holds PostgreSQL's tables locked (``LOCK
TABLE ... IN EXCLUSIVE MODE``, as a migration would); and the PostgreSQL server stops (a
cluster of the test's own, stopped and started again on its port). A lock is held until every
request has answered, so the server cannot wait it out: each request that needs the store
must answer 503 with ``Retry-After`` within the request deadline (the SDK fails closed on it).
When the store is back the next requests succeed, with no restart of the server. The requests
carry a password in tool arguments and event content: it must reach neither a response nor
the server's log, and no log line may dump SQL parameters.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import pytest
import sqlalchemy as sa

from tests import _postgres
from tests.conftest import ThothServer
from tests.server.test_api import chained_events, new_session
from thoth.server.chain import event_hash

pytestmark = pytest.mark.timeout(120)

POLICY = "rules:\n  - {id: cap, limit: {calls_per_tool: 5}, decision: BLOCK}\n"
SECRET = "hunter2-secret-xyz"
DEADLINE_SECONDS = 10.0  # a request answers within this, store or no store
CLIENT_TIMEOUT_SECONDS = 15.0  # longer than the deadline, so a late answer is seen as late


class Answer(NamedTuple):
    what: str
    status: int  # 0: no answer within CLIENT_TIMEOUT_SECONDS
    retry_after: str | None
    text: str
    seconds: float


class Request(NamedTuple):
    what: str
    method: str
    path: str
    body: Any = None


# -- requests and checks -----------------------------------------------------------------------------


def secret_requests(server: ThothServer, session: str) -> list[Request]:
    """What agents send while the store is gone: a call that would be allowed, one that would be
    held, and an event batch; each carries the password."""

    def call(tool: str, mode: str) -> dict[str, Any]:
        return {
            "agent_id": "test-agent",
            "tenant_id": server.tenant_id,
            "tool_name": tool,
            "session_id": session,
            "approved_scope": ["read_file"],
            "enforcement_mode": mode,
            "tool_args": {"path": "/etc/app.conf", "password": SECRET},
        }

    events = chained_events(server, session, 3)
    for event in events:
        event["content"] = json.dumps({"login": "admin", "password": SECRET})
    return [
        Request("enforce (would allow)", "POST", "/v1/enforce", call("read_file", "block")),
        Request("enforce (would hold)", "POST", "/v1/enforce", call("wire_money", "step_up")),
        Request("events batch", "POST", "/v1/events/batch", relinked(events)),
    ]


def relinked(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Hash a chain again after its contents changed, so that a working store verifies it."""
    previous = ""
    for event in events:
        event["previous_hash"] = previous
        event["hash"] = event_hash(event)
        previous = event["hash"]
    return events


def send(server: ThothServer, request: Request) -> Answer:
    with httpx.Client(
        base_url=server.url, headers={"x-api-key": server.api_key}, timeout=CLIENT_TIMEOUT_SECONDS
    ) as client:
        started = time.monotonic()
        try:
            response = client.request(request.method, request.path, json=request.body)
        except httpx.TimeoutException:
            return Answer(request.what, 0, None, "(no answer in time)", time.monotonic() - started)
        seconds = time.monotonic() - started
    return Answer(
        request.what, response.status_code, response.headers.get("Retry-After"), response.text, seconds
    )


def answers_during(
    server: ThothServer, fault: AbstractContextManager[None], extra: tuple[Request, ...] = ()
) -> list[Answer]:
    """The secret-bearing requests (and ``extra``), all at once while ``fault`` lasts; the fault
    ends when every one has answered or given up."""
    server.enforce(tool_name="read_file", session_id=new_session(), approved_scope=["read_file"])
    requests = [*secret_requests(server, new_session()), *extra]
    with fault, concurrent.futures.ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(lambda request: send(server, request), requests))


def assert_store_unavailable(answer: Answer) -> None:
    assert answer.status == 503, answer
    body = json.loads(answer.text)
    assert body["code"] == "store_unavailable", answer
    assert isinstance(body["message"], str)
    assert answer.retry_after is not None, answer
    assert answer.retry_after.isdigit(), answer
    assert int(answer.retry_after) >= 1, answer
    assert answer.seconds < DEADLINE_SECONDS, answer
    assert SECRET not in answer.text


def assert_recovered(server: ThothServer) -> None:
    """The first requests after the store is back succeed: the server recovered by itself."""
    session = new_session()
    allowed, held, ingested = (send(server, request) for request in secret_requests(server, session))
    assert (allowed.status, json.loads(allowed.text).get("decision")) == (200, "ALLOW"), allowed
    assert (held.status, json.loads(held.text).get("decision")) == (200, "STEP_UP"), held
    assert (ingested.status, json.loads(ingested.text).get("accepted")) == (200, 3), ingested
    assert [e["chain_status"] for e in server.events(session)] == ["verified"] * 3


def assert_log_clean(server: ThothServer) -> None:
    """No secret and no SQL parameter dump in the log (offending lines are shown redacted)."""
    server.stop()  # the log is written from a queue: stopping writes what is still queued
    offending = [
        f"line {number}: {line.replace(SECRET, '<SECRET>')[:200]}"
        for number, line in enumerate(server.log().splitlines(), 1)
        if SECRET in line or "[parameters:" in line
    ]
    assert offending == []


def health(server: ThothServer) -> tuple[int, dict[str, Any]]:
    response = httpx.get(f"{server.url}/healthz", timeout=CLIENT_TIMEOUT_SECONDS)
    return response.status_code, response.json()


# -- the faults --------------------------------------------------------------------------------------


def sqlite_path(server: ThothServer) -> Path:
    assert server.db_url.startswith("sqlite:///")
    return Path(server.db_url.removeprefix("sqlite:///"))


@contextlib.contextmanager
def sqlite_write_lock(server: ThothServer) -> Iterator[None]:
    """Another process's write transaction on the server's SQLite file: nobody else may write."""
    conn = sqlite3.connect(sqlite_path(server), isolation_level=None, timeout=10.0)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        yield
        conn.execute("ROLLBACK")
    finally:
        conn.close()


_THOTH_TABLES = (
    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE 'thoth%'"
)


@contextlib.contextmanager
def postgres_table_lock(server: ThothServer) -> Iterator[None]:
    """Another session holds every thoth table in EXCLUSIVE mode: reads pass, writes wait."""
    engine = sa.create_engine(server.db_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            tables = conn.execute(sa.text(_THOTH_TABLES)).scalars().all()
            assert tables, "the server created no tables"
            names = ", ".join(f'"{name}"' for name in tables)
            conn.exec_driver_sql(f"LOCK TABLE {names} IN EXCLUSIVE MODE")  # names from pg_tables
            yield
            conn.rollback()
    finally:
        engine.dispose()


@contextlib.contextmanager
def postgres_stopped(cluster: _postgres.Cluster) -> Iterator[None]:
    """The cluster stops ("fast": the server's pooled connections are cut too), then starts again."""
    cluster.stop("fast")
    try:
        yield
    finally:
        start_again(cluster)


def start_again(cluster: _postgres.Cluster) -> None:
    """Start the stopped cluster again on the port it had: the running thoth serve knows only that URL."""
    port = cluster.port
    cluster.start()
    assert cluster.port == port, "the cluster came back on another port"


# -- fixtures ----------------------------------------------------------------------------------------


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[[str | None], ThothServer]]:
    """Start a server on a given store URL (None: its own SQLite file); stopped after the test."""
    started: list[ThothServer] = []

    def start(db_url: str | None) -> ThothServer:
        server = ThothServer(tmp_path / f"server{len(started)}", policy_text=POLICY, db_url=db_url)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def own_postgres() -> Iterator[_postgres.Cluster]:
    """A cluster of this test's own (the shared one must keep running for the other tests)."""
    reason = _postgres.missing_reason()
    if reason is not None:
        pytest.skip(f"no PostgreSQL: {reason}")
    if _postgres.find_bindir() is None:
        pytest.skip("stopping PostgreSQL under the server needs its binaries (initdb, pg_ctl) here")
    cluster = _postgres.Cluster()
    try:
        yield cluster.start()
    finally:
        cluster.remove()


# -- tests -------------------------------------------------------------------------------------------


def test_a_locked_sqlite_store_answers_503_store_unavailable_and_recovers(
    start_server: Callable[[str | None], ThothServer],
) -> None:
    server = start_server(None)
    for answer in answers_during(server, sqlite_write_lock(server)):
        assert_store_unavailable(answer)
    assert_recovered(server)


def test_a_locked_postgresql_store_answers_503_store_unavailable_and_recovers(
    start_server: Callable[[str | None], ThothServer], pg_url: str
) -> None:
    server = start_server(pg_url)
    for answer in answers_during(server, postgres_table_lock(server)):
        assert_store_unavailable(answer)
    assert_recovered(server)


def test_postgresql_down_answers_503_store_unavailable_and_recovers(
    start_server: Callable[[str | None], ThothServer], own_postgres: _postgres.Cluster
) -> None:
    server = start_server(own_postgres.fresh_database())
    assert health(server)[0] == 200
    listing = Request("holds list", "GET", "/v1/holds")
    probe = Request("health", "GET", "/healthz")
    *answers, healthz = answers_during(server, postgres_stopped(own_postgres), (listing, probe))
    for answer in answers:
        assert_store_unavailable(answer)
    assert healthz.status == 503, healthz
    assert json.loads(healthz.text).get("store") == "unreachable", healthz
    assert healthz.seconds < DEADLINE_SECONDS, healthz

    assert_recovered(server)
    status, body = health(server)
    assert (status, body["status"], body.get("store")) == (200, "ok", "ok")


@pytest.mark.parametrize("fault", ["sqlite-locked", "postgresql-locked", "postgresql-down"])
def test_the_log_keeps_no_secret_and_no_sql_parameters_through_a_fault(
    start_server: Callable[[str | None], ThothServer], request: pytest.FixtureRequest, fault: str
) -> None:
    if fault == "sqlite-locked":
        server = start_server(None)
        context: AbstractContextManager[None] = sqlite_write_lock(server)
    elif fault == "postgresql-locked":
        server = start_server(request.getfixturevalue("pg_url"))
        context = postgres_table_lock(server)
    else:
        cluster: _postgres.Cluster = request.getfixturevalue("own_postgres")
        server = start_server(cluster.fresh_database())
        context = postgres_stopped(cluster)
    answers = answers_during(server, context, (Request("health", "GET", "/healthz"),))
    assert all(SECRET not in answer.text for answer in answers)
    assert_recovered(server)
    assert_log_clean(server)
