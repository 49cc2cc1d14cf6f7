"""The enforcer the framework examples talk to, so each one runs offline with no arguments.

`enforcer()` yields ``(url, api_key, tenant)``: the enforcer named by ``THOTH_API_URL``,
``THOTH_API_KEY`` and ``THOTH_TENANT_ID`` when set, else a throwaway `thoth serve` on a free
127.0.0.1 port with SQLite in a temporary directory. `print_events()` prints what the
enforcer recorded for one agent.

The examples import it by name (``from _local_enforcer import enforcer, print_events``):
``python examples/<name>_example.py`` puts the script's own folder first on ``sys.path``.
The leading underscore says it is scaffolding for the examples, not part of the SDK.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

import httpx

import thoth

__all__ = ["enforcer", "print_events"]

_TENANT = "acme-corp"
_STARTUP_SECONDS = 30.0
_SHUTDOWN_SECONDS = 10.0


@contextlib.contextmanager
def enforcer() -> Iterator[tuple[str, str, str]]:
    """(url, api key, tenant): $THOTH_API_URL if set, else a throwaway `thoth serve` on 127.0.0.1."""
    if os.environ.get("THOTH_API_URL"):
        yield (
            os.environ["THOTH_API_URL"],
            os.environ["THOTH_API_KEY"],
            os.environ.get("THOTH_TENANT_ID", _TENANT),
        )
        return
    with _throwaway_server() as (url, key):
        yield url, key, _TENANT


def print_events(url: str, key: str, agent_id: str) -> None:
    """Print the events the enforcer at ``url`` recorded for ``agent_id``, one line each."""
    thoth.flush(api_url=url)  # the events are sent in the background: deliver them first
    response = httpx.get(f"{url}/v1/events", params={"agent_id": agent_id}, headers={"x-api-key": key})
    response.raise_for_status()
    for event in response.json()["items"]:
        print(f"  event {event['event_type']:<15} {event.get('tool_name')}")


@contextlib.contextmanager
def _throwaway_server() -> Iterator[tuple[str, str]]:
    """(url, api key) of a `thoth serve` that lives, with its database, as long as the block."""
    port = _free_port()
    url, key = f"http://127.0.0.1:{port}", "thoth_demo_" + secrets.token_hex(8)
    with tempfile.TemporaryDirectory() as tmp:
        server = subprocess.Popen(_serve_command(port, f"sqlite:///{tmp}/thoth.db", key))
        try:
            _wait_until_healthy(server, url)
            yield url, key
        finally:
            thoth.flush(api_url=url)  # deliver this example's queued events while the server is up
            _stop(server)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve_command(port: int, db_url: str, key: str) -> list[str]:
    credential = f"{_TENANT}:{key}"  # one key serves as both the agent's and the admin's
    return [
        *(sys.executable, "-m", "thoth.cli", "serve"),
        *("--port", str(port)),
        *("--db", db_url),
        *("--api-key", credential),
        *("--admin-key", credential),
        *("--log-level", "warning"),
    ]


def _wait_until_healthy(server: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + _STARTUP_SECONDS
    while server.poll() is None and time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.05)
    state = "still starting" if server.poll() is None else f"exited with code {server.returncode}"
    raise RuntimeError(
        f"`thoth serve` did not answer {url}/healthz within {_STARTUP_SECONDS:.0f} s "
        f"({state}; its log is above)"
    )


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(_SHUTDOWN_SECONDS)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
