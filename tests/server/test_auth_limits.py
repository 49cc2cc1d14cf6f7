"""Guessing keys over HTTP on a real ``thoth serve`` (SQLite and PostgreSQL): the per-client
limiter of refused keys (thoth/server/_limiter.py) on the API and the console's sign-in, and
keys named in logs and approvals by a fingerprint keyed with the store's secret."""

from __future__ import annotations

import hashlib
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.conftest import ThothServer
from tests.server.test_console_http import console
from thoth.server._limiter import THRESHOLD

pytestmark = pytest.mark.e2e

_FINGERPRINT = re.compile(r"key #([0-9a-f]{8}) acts for every tenant")


def _status(server: ThothServer, key: str) -> httpx.Response:
    with server.client(key) as client:
        return client.get("/v1/holds")


def test_a_client_guessing_keys_is_locked_out_and_even_the_right_key_waits(
    make_thoth_server: Callable[..., ThothServer],
) -> None:
    server = make_thoth_server()
    guesses = [f"thoth_guess_{n:04d}" for n in range(THRESHOLD)]
    assert [_status(server, key).status_code for key in guesses] == [401] * THRESHOLD
    locked = _status(server, "thoth_guess_one_too_many")
    assert locked.status_code == 429
    assert locked.json()["code"] == "rate_limited"
    wait = int(locked.headers["retry-after"])
    assert wait >= 1
    right = _status(server, server.admin_key)  # answering it would tell a guesser it had hit
    assert right.status_code == 429 and int(right.headers["retry-after"]) <= wait
    with server.client(server.api_key) as client:  # the agent's enforce too: same client
        assert client.post("/v1/enforce", json={"tool_name": "x", "session_id": "s"}).status_code == 429
    time.sleep(wait + 0.2)
    assert _status(server, server.admin_key).status_code == 200
    log = server.log()
    assert "locked out" in log
    assert not any(key in log for key in [*guesses, server.admin_key, server.api_key])


def test_an_agent_retrying_one_stale_key_keeps_its_401_and_locks_no_one_out(
    make_thoth_server: Callable[..., ThothServer],
) -> None:
    server = make_thoth_server()
    answers = [_status(server, "thoth_rotated_out_yesterday").status_code for _ in range(3 * THRESHOLD)]
    assert answers == [401] * (3 * THRESHOLD)
    assert _status(server, server.admin_key).status_code == 200


def test_the_consoles_sign_in_counts_with_the_api_and_answers_a_page(
    make_thoth_server: Callable[..., ThothServer],
) -> None:
    server = make_thoth_server()
    with console(server) as browser:
        refused = [browser.sign_in(f"thoth_guess_{n:04d}").status_code for n in range(THRESHOLD)]
        assert refused == [401] * THRESHOLD
        locked = browser.sign_in("thoth_guess_one_too_many")
        assert locked.status_code == 429
        assert "text/html" in locked.headers["content-type"] and "Too many" in locked.text
        assert browser.sign_in(server.admin_key).status_code == 429
    assert _status(server, server.admin_key).status_code == 429  # one limiter for both doors


def _fingerprint_in(server: ThothServer) -> str:
    found = _FINGERPRINT.findall(server.log())
    assert found, server.log()
    return str(found[-1])


def test_a_key_is_named_by_a_fingerprint_keyed_by_its_store_the_same_on_every_replica(
    make_thoth_server: Callable[..., ThothServer], tmp_path: Path
) -> None:
    shared = "thoth_every_tenant_key_0123456789"
    server = make_thoth_server(extra_args=["--api-key", shared])
    fingerprint = _fingerprint_in(server)
    assert fingerprint != hashlib.sha256(shared.encode()).hexdigest()[:8]  # unkeyed: confirms guesses
    replica = server.replica(tmp_path / "replica").start()
    try:
        assert _fingerprint_in(replica) == fingerprint  # one secret per store, shared by replicas
    finally:
        replica.stop()
    server.restart()
    assert _fingerprint_in(server) == fingerprint  # and kept across restarts
    other = make_thoth_server(extra_args=["--api-key", shared])  # another store, another secret
    assert _fingerprint_in(other) != fingerprint


def test_a_request_without_a_key_is_told_401_even_from_a_locked_out_client(
    make_thoth_server: Callable[..., ThothServer],
) -> None:
    server = make_thoth_server()
    assert [_status(server, f"thoth_guess_{n:04d}").status_code for n in range(THRESHOLD + 1)][-1] == 429
    with httpx.Client(base_url=server.url, timeout=10.0) as anonymous:  # nothing to guess with
        assert anonymous.get("/v1/holds").status_code == 401


def test_auth_failure_limit_zero_turns_the_limiter_off_and_a_bad_value_stops_the_start(
    make_thoth_server: Callable[..., ThothServer],
) -> None:
    server = make_thoth_server(extra_args=["--auth-failure-limit", "0"])
    statuses = {_status(server, f"thoth_guess_{n:04d}").status_code for n in range(3 * THRESHOLD)}
    assert statuses == {401}
    assert _status(server, server.admin_key).status_code == 200
    bad = ThothServer(server.workdir / "bad", extra_args=["--auth-failure-limit", "-1"])
    started = subprocess.run(bad.command(), capture_output=True, text=True, timeout=60, check=False)
    assert started.returncode != 0
    assert "--auth-failure-limit must be 0 (no limit) or more, not -1" in started.stderr
