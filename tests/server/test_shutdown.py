"""Graceful shutdown: SIGTERM and SIGINT let the requests in flight finish and commit."""

from __future__ import annotations

import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import ThothServer
from thoth.server import store

POLICY = """
version: 1
scope: ignore
rules:
  - {id: slow-enough, tools: [work], when: 'size(args.pad) > 0', decision: ALLOW}
"""


def stored_decisions(db_url: str, session_id: str) -> int:
    engine = sa.create_engine(store.normalize_url(db_url))
    try:
        with engine.connect() as conn:
            query = sa.select(sa.func.count()).where(store.decisions.c.session_id == session_id)
            return int(conn.execute(query).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_lets_requests_in_flight_finish_and_commit(
    make_thoth_server: Callable[..., ThothServer], sig: signal.Signals
) -> None:
    server = make_thoth_server(POLICY)
    session = f"shutdown-{uuid.uuid4()}"
    answered: list[dict[str, str]] = []
    failures: list[str] = []
    started = threading.Barrier(17)

    def agent() -> None:
        with httpx.Client(base_url=server.url, headers={"x-api-key": server.api_key}, timeout=10.0) as client:
            started.wait()
            for _ in range(200):
                body = {
                    "agent_id": "a",
                    "tenant_id": server.tenant_id,
                    "session_id": session,
                    "tool_name": "work",
                    "tool_args": {"pad": "x" * 64},
                    "enforcement_mode": "block",
                }
                try:
                    response = client.post("/v1/enforce", json=body)
                except httpx.TransportError:
                    return  # the server stopped accepting: nothing was answered
                if response.status_code != 200:
                    failures.append(f"{response.status_code} {response.text[:200]}")
                    return
                answered.append(response.json())

    threads = [threading.Thread(target=agent) for _ in range(16)]
    for thread in threads:
        thread.start()
    started.wait()
    time.sleep(0.3)  # requests are in flight now
    assert server.process is not None
    server.process.send_signal(sig)
    for thread in threads:
        thread.join(30)
    assert server.process.wait(30) in (0, 128 + sig)
    server.process = None

    assert failures == [] or all(f.startswith("503") for f in failures), failures
    assert answered, "no request was answered before the signal"
    assert all(a["decision"] == "ALLOW" for a in answered)
    # every answered decision was committed before its answer; none was lost on the way out
    assert stored_decisions(server.db_url, session) == len(answered)
    assert "Traceback" not in server.log()


def test_a_client_that_leaves_mid_body_is_one_log_line_not_a_500(
    make_thoth_server: Callable[..., ThothServer],
) -> None:
    server = make_thoth_server()
    request = (
        f"POST /v1/events/batch HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: {server.api_key}\r\n"
        'Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n[{"event_id":'
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(request)
    deadline = time.monotonic() + 10
    while "client disconnected" not in server.log():
        assert time.monotonic() < deadline, server.log()
        time.sleep(0.05)
    assert httpx.get(f"{server.url}/healthz").status_code == 200
    log = server.log()
    assert "Traceback" not in log and "request req_" not in log  # no 500, no stack
    assert sum("client disconnected" in line for line in log.splitlines()) == 1
