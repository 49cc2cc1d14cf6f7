"""Shared fixtures: a real ``thoth serve`` on 127.0.0.1 for any test suite.

* ``thoth_server``: one server for the whole test session (built-in policy, SQLite in a
  temp dir). Tests should use their own session ids.
* ``make_thoth_server(policy_text=None, ...)``: a fresh server per call, stopped after
  the test; ``server.restart()`` keeps its database.

Each server object has ``.url``, ``.api_key`` (bound to ``.tenant_id``), ``.admin_key``,
``.tenant_id``, ``.db_url`` and helpers ``approve(token)``, ``deny(token)``,
``holds(status=None)``, ``events(session_id=None)``, ``wait_for_hold(...)``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

import thoth

pytest_plugins = ("tests._skips",)

ROOT = Path(__file__).resolve().parents[1]
# Local decisions keep their last good bundle on disk: never in the home of whoever runs the tests.
os.environ.setdefault("THOTH_BUNDLE_CACHE_DIR", tempfile.mkdtemp(prefix="thoth-test-bundles-"))
START_TIMEOUT_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ThothServer:
    """A ``thoth serve`` subprocess on a free loopback port."""

    def __init__(
        self,
        workdir: Path,
        *,
        policy_text: str | None = None,
        tenant_id: str = "acme-corp",
        webhook_url: str | None = None,
        extra_args: Sequence[str] = (),
        db_url: str | None = None,
    ) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.tenant_id = tenant_id
        self.api_key = "thoth_test_" + secrets.token_hex(12)
        self.admin_key = "thoth_admin_" + secrets.token_hex(12)
        self.db_url = db_url or f"sqlite:///{workdir / 'thoth.db'}"
        self.policy_path: Path | None = None
        if policy_text is not None:
            self.policy_path = workdir / "policy.yaml"
            self.policy_path.write_text(policy_text, encoding="utf-8")
        self.webhook_url = webhook_url
        self.extra_args = list(extra_args)
        self.log_path = workdir / "server.log"
        self.port = 0
        self.url = ""
        self.process: subprocess.Popen[bytes] | None = None
        self.returncode: int | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    def command(self) -> list[str]:
        command = [
            sys.executable,
            "-m",
            "thoth.cli",
            "serve",
            "--port",
            str(self.port),
            "--db",
            self.db_url,
            "--api-key",
            f"{self.tenant_id}:{self.api_key}",
            "--admin-key",
            f"{self.tenant_id}:{self.admin_key}",
            *self.extra_args,
        ]
        if self.policy_path is not None:
            command += ["--policy", str(self.policy_path)]
        if self.webhook_url:
            command += ["--webhook-url", self.webhook_url]
        return command

    def start(self, port: int | None = None) -> ThothServer:
        """Start on a free port, or on ``port`` (a restart that clients must find where it was)."""
        if self.process is not None and self.process.poll() is None:  # a second would leak the first
            raise RuntimeError("this thoth serve is already running: stop() it first")
        for _attempt in range(3):  # a free port can be taken between choosing and binding
            self.port = port or free_port()
            self.url = f"http://127.0.0.1:{self.port}"
            env = {k: v for k, v in os.environ.items() if not k.startswith("THOTH_SERVER_")}
            with self.log_path.open("ab") as log:
                self.process = subprocess.Popen(
                    self.command(), stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir, env=env
                )
            if self._wait_ready():
                return self
            self.stop()
        raise RuntimeError(f"thoth serve did not start; log:\n{self.log()}")

    def _wait_ready(self) -> bool:
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return True
            time.sleep(0.05)
        return False

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        """Stop with a signal (a clean shutdown flushes pending writes); returns the exit code."""
        if self.process is None:
            return self.returncode
        if self.process.poll() is None:
            thoth.flush(5.0, api_url=self.url)  # deliver what the SDK queued for this server first
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.returncode = self.process.returncode
        self.process = None
        return self.returncode

    def restart(self, same_port: bool = False) -> ThothServer:
        port = self.port if same_port else None
        self.stop()
        return self.start(port)

    def reload(self) -> None:
        """SIGHUP: the server reads its policy file again."""
        assert self.process is not None
        self.process.send_signal(signal.SIGHUP)

    def kill(self) -> int | None:
        """SIGKILL, as a crash or the OOM killer would: no shutdown, no flush; returns the exit code."""
        if self.process is None:
            return self.returncode
        self.process.kill()
        self.process.wait(timeout=15)
        self.returncode = self.process.returncode
        self.process = None
        return self.returncode

    def replica(self, workdir: Path) -> ThothServer:
        """A second server on this one's store (same db_url, keys, tenant, policy file and options),
        not started: replicas behind a load balancer share nothing but the database."""
        other = ThothServer(
            workdir,
            tenant_id=self.tenant_id,
            webhook_url=self.webhook_url,
            extra_args=self.extra_args,
            db_url=self.db_url,
        )
        other.api_key, other.admin_key = self.api_key, self.admin_key
        other.policy_path = self.policy_path
        return other

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    # -- helpers -----------------------------------------------------------------------------------

    def llm_event(self, session: str, agent: str = "test-agent", **metadata: Any) -> dict[str, Any]:
        """An LLM_INVOCATION event as the SDK sends it, with ``metadata`` (token counts) beside the
        model (unchained: the server takes those too)."""
        return {
            "event_id": str(uuid.uuid4()),
            "tenant_id": self.tenant_id,
            "agent_id": agent,
            "session_id": session,
            "user_id": "tester",
            "source_type": "agent_llm_invocation",
            "event_type": "LLM_INVOCATION",
            "content": "",
            "metadata": {"model": "gpt-test", **metadata},
            "occurred_at": "2026-12-07T10:00:00.000000Z",
        }

    def client(self, key: str | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"x-api-key": key or self.api_key}, timeout=httpx.Timeout(10.0)
        )

    def enforce(self, key: str | None = None, **body: Any) -> dict[str, Any]:
        request = {"agent_id": "test-agent", "tenant_id": self.tenant_id, "user_id": "tester", **body}
        with self.client(key) as client:
            response = client.post("/v1/enforce", json=request)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def _resolve(self, token: str, resolution: str, reason: str) -> httpx.Response:
        with self.client(self.admin_key) as client:
            return client.post(
                f"/v1/enforce/hold/{token}/resolve",
                json={"resolution": resolution, "approver": "pytest", "reason": reason},
            )

    def approve(self, token: str, reason: str = "approved in a test") -> dict[str, Any]:
        response = self._resolve(token, "ALLOW", reason)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def deny(self, token: str, reason: str = "denied in a test") -> dict[str, Any]:
        response = self._resolve(token, "BLOCK", reason)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def holds(self, status: str | None = None, session_id: str | None = None) -> list[dict[str, Any]]:
        params = {k: v for k, v in {"status": status, "session_id": session_id}.items() if v}
        with self.client(self.admin_key) as client:
            response = client.get("/v1/holds", params=params)
        response.raise_for_status()
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    def wait_for_hold(self, session_id: str | None = None, timeout: float = 10.0) -> dict[str, Any]:
        """The first pending hold (of a session), waiting for it to appear."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pending = self.holds("pending", session_id)
            if pending:
                return pending[0]
            time.sleep(0.05)
        raise TimeoutError("no pending hold appeared")

    def events(self, session_id: str | None = None) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": 1000}
        if session_id:
            params["session_id"] = session_id
        with self.client() as client:
            while True:
                page = client.get("/v1/events", params=params)
                page.raise_for_status()
                body = page.json()
                items.extend(body["items"])
                if not body["items"] or not body.get("next_cursor"):
                    return items
                params["cursor"] = body["next_cursor"]


@pytest.fixture
def make_thoth_server(tmp_path: Path) -> Iterator[Callable[..., ThothServer]]:
    servers: list[ThothServer] = []

    def make(policy_text: str | None = None, **options: Any) -> ThothServer:
        server = ThothServer(tmp_path / f"server{len(servers)}", policy_text=policy_text, **options)
        servers.append(server)
        return server.start()

    yield make
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def thoth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThothServer]:
    server = ThothServer(tmp_path_factory.mktemp("thoth-server")).start()
    yield server
    server.stop()
