"""A real ``thoth serve`` on 127.0.0.1 for the benchmarks, and a proxy that can play dead."""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ThothServer:
    """``thoth serve --api-key KEY --db sqlite:///...`` as a subprocess; stopped by ``stop()``."""

    def __init__(self, workdir: Path, api_key: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db_path = workdir / "bench.db"
        self.log_path = workdir / "server.log"
        self.api_key = api_key
        self.extra_args: list[str] = []  # e.g. ["--policy", PATH]
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> None:
        thoth_cli = Path(sys.executable).parent / "thoth"
        cmd = [
            str(thoth_cli),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--db",
            f"sqlite:///{self.db_path}",
            "--api-key",
            self.api_key,
            "--log-level",
            "warning",
            *self.extra_args,
        ]
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"thoth serve exited early; see {self.log_path}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"thoth serve did not answer /healthz within {timeout}s; see {self.log_path}")

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def stop(self) -> None:
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(5)
        self._proc = None

    def count_events(self, tenant: str, session_id: str) -> int:
        """Rows in the server's store for one session (read straight from SQLite)."""
        if not self.db_path.exists():
            return 0
        with contextlib.closing(sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=5)) as db:
            try:
                row = db.execute(
                    "SELECT count(*) FROM thoth_events WHERE tenant_id = ? AND session_id = ?",
                    (tenant, session_id),
                ).fetchone()
            except sqlite3.OperationalError:  # table not created yet
                return 0
        return int(row[0])

    def wait_for_events(
        self,
        tenant: str,
        session_id: str,
        expected: int,
        timeout: float,
        sdk_idle: Callable[[], bool] | None = None,
        settle: float = 2.0,
    ) -> tuple[int, float]:
        """Poll the store until ``expected`` rows are there; returns (rows, time.time() of the last new row).

        Gives up early when no row arrived for ``settle`` seconds and ``sdk_idle()`` says
        the SDK holds nothing more (its events were dropped, not delayed).
        """
        deadline = time.monotonic() + timeout
        rows, changed, seen_at = -1, time.monotonic(), time.time()
        while True:
            now_rows = self.count_events(tenant, session_id)
            if now_rows != rows:
                rows, changed, seen_at = now_rows, time.monotonic(), time.time()
            if rows >= expected or time.monotonic() >= deadline:
                return rows, seen_at
            if sdk_idle is not None and time.monotonic() - changed > settle and sdk_idle():
                return rows, seen_at
            time.sleep(0.01)


class TogglingProxy:
    """A TCP proxy on 127.0.0.1 that can go down (connections refused, open ones cut) and up."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        self._spawn(self._accept, listener)

    def down(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            sockets, self._open = self._open, set()
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self.down()
        for thread in self._threads:
            thread.join(2.0)

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        self._threads.append(thread)
        thread.start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed: we are down
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    upstream.close()
                    return
                self._open.update((client, upstream))
            self._spawn(self._pump, client, upstream)
            self._spawn(self._pump, upstream, client)

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            src.close()  # each socket is the source of exactly one pump


def machine_line() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {mem_gib:.0f} GiB RAM, {os.uname().sysname} {os.uname().release}"
