"""The server suite runs on both stores: every test that starts a server runs on SQLite and on
a real PostgreSQL (ids ``[sqlite]`` and ``[postgresql]``).

* ``postgres_server``: one PostgreSQL for the session (``tests._postgres``: the server named
  by ``THOTH_TEST_POSTGRES_URL``, or a throwaway cluster); skips with the reason when there is
  none (``.ci/run`` installs PostgreSQL and fails on skips).
* ``pg_url``: a fresh empty PostgreSQL database.
* ``store_url``: a fresh empty store of the test's kind.
* ``make_thoth_server`` / ``thoth_server``: as in tests/conftest.py, on a fresh store of the
  test's kind unless the caller passes ``db_url``.

The store kind is a session-scoped parameter, so pytest runs the SQLite half, then the
PostgreSQL half, with one shared ``thoth_server`` per store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import _postgres
from tests.conftest import ThothServer

STORES = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[_postgres.Server]:
    reason = _postgres.missing_reason()
    if reason is not None:
        pytest.skip(f"no PostgreSQL: {reason}")
    server = _postgres.server_from_environment()
    yield server
    server.remove()


@pytest.fixture
def pg_url(postgres_server: _postgres.Server) -> str:
    return postgres_server.fresh_database()


@pytest.fixture(scope="session", params=STORES, ids=STORES)
def store_kind(request: pytest.FixtureRequest) -> str:
    """The store this test runs on; PostgreSQL is started only when a test needs it."""
    kind: str = request.param
    if kind == "postgresql":
        request.getfixturevalue("postgres_server")
    return kind


def _fresh_store(kind: str, request: pytest.FixtureRequest, sqlite_path: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{sqlite_path}"
    server: _postgres.Server = request.getfixturevalue("postgres_server")
    return server.fresh_database()


@pytest.fixture
def store_url(store_kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return _fresh_store(store_kind, request, tmp_path / "store.db")


@pytest.fixture
def make_thoth_server(
    make_thoth_server: Callable[..., ThothServer], store_kind: str, request: pytest.FixtureRequest
) -> Callable[..., ThothServer]:
    """tests/conftest.py's factory, each server on a fresh store of this test's kind. On SQLite
    that is the factory's own default (thoth.db in the server's workdir)."""

    def make(policy_text: str | None = None, **options: Any) -> ThothServer:
        if options.get("db_url") is None and store_kind == "postgresql":
            server: _postgres.Server = request.getfixturevalue("postgres_server")
            options["db_url"] = server.fresh_database()
        return make_thoth_server(policy_text, **options)

    return make


@pytest.fixture(scope="session")
def thoth_server(
    store_kind: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ThothServer]:
    workdir = tmp_path_factory.mktemp(f"thoth-server-{store_kind}")
    server = ThothServer(workdir, db_url=_fresh_store(store_kind, request, workdir / "thoth.db")).start()
    yield server
    server.stop()
