"""A real PostgreSQL server for tests and benchmarks: a throwaway cluster, or the one you name.

``THOTH_TEST_POSTGRES_URL`` (for example ``postgresql://thoth@db:5432/postgres``) names a
server to use: nothing is started, and each fresh database is created on it (and dropped by
``remove()``). Otherwise ``Cluster`` runs ``initdb`` and ``pg_ctl`` from the machine's
PostgreSQL binaries in a temp dir, listening on a free 127.0.0.1 port with its socket in that
dir. PostgreSQL refuses to run as root, so as root the cluster runs as the ``postgres`` user.

``python -m tests._postgres`` prints why PostgreSQL cannot be used here and exits 1, or prints
what would be used and exits 0 (``.ci/run`` installs PostgreSQL when it exits 1).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

import sqlalchemy as sa

ENV_URL = "THOTH_TEST_POSTGRES_URL"
SUPERUSER = "thoth"
START_TIMEOUT_SECONDS = 30
RUN_AS = "postgres"  # the system user the cluster runs as when the tests run as root
_STARTS = 3  # a free port can be taken between choosing it and the server binding it
# argv: the owner's pid, then the pg_ctl stop command; the data dir is the cwd's "data"
_WATCHDOG = """
import os, shutil, subprocess, sys, time
owner, stop = int(sys.argv[1]), sys.argv[2:]
while True:
    try:
        os.kill(owner, 0)
    except ProcessLookupError:
        break
    time.sleep(1)
if os.path.isdir("data"):
    subprocess.run(stop, capture_output=True, timeout=60)
    shutil.rmtree(os.getcwd(), ignore_errors=True)
"""


def find_bindir() -> Path | None:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``: Debian's newest version
    first, then ``pg_config --bindir``, then ``initdb`` on PATH."""
    candidates = [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version, reverse=True)]
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10)
            candidates.append(Path(out.stdout.strip()))
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for bindir in candidates:
        if all(os.access(bindir / tool, os.X_OK) for tool in ("initdb", "pg_ctl", "postgres")):
            return bindir
    return None


def _version(bindir: str) -> tuple[int, ...]:
    """/usr/lib/postgresql/15/bin -> (15,): so 16 sorts after 9.6."""
    match = re.search(r"/postgresql/([\d.]+)/bin$", bindir)
    return tuple(int(part) for part in match.group(1).split(".") if part) if match else ()


def missing_reason() -> str | None:
    """Why no PostgreSQL can be used here, or None when one can."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "the psycopg driver is not installed (pip install 'thoth-sdk[postgres]')"
    if os.environ.get(ENV_URL):
        return None
    if find_bindir() is None:
        return (
            "no PostgreSQL server binaries (initdb, pg_ctl) in /usr/lib/postgresql/*/bin, "
            f"pg_config --bindir or PATH: install Debian's postgresql package, or set {ENV_URL}"
        )
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(RUN_AS)
        except KeyError:
            return f"running as root and there is no {RUN_AS!r} user to run PostgreSQL as"
        if shutil.which("runuser") is None:
            return f"running as root and there is no runuser to run PostgreSQL as {RUN_AS!r}"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A PostgreSQL server that tests may create databases on (``THOTH_TEST_POSTGRES_URL``)."""

    def __init__(self, url: str) -> None:
        parsed = sa.engine.make_url(url)
        if not parsed.drivername.startswith(("postgresql", "postgres")):
            raise ValueError(f"{ENV_URL} must be a postgresql:// URL, not {parsed.drivername}://")
        self._url = parsed.set(drivername="postgresql+psycopg")
        self._created: list[str] = []

    def server_url(self, db: str = "postgres") -> str:
        """The SQLAlchemy URL of database ``db`` on this server (password included)."""
        return self._url.set(database=db).render_as_string(hide_password=False)

    def _admin_conninfo(self) -> str:
        """libpq's URI for the maintenance database (psycopg does not take ``+psycopg``)."""
        return self._url.set(drivername="postgresql").render_as_string(hide_password=False)

    def fresh_database(self) -> str:
        """Create a uniquely named empty database and return its URL."""
        import psycopg
        from psycopg import sql

        name = f"thoth_test_{secrets.token_hex(6)}"
        with psycopg.connect(self._admin_conninfo(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self._created.append(name)
        return self.server_url(name)

    def stop(self) -> None:
        """Nothing to stop: the server is not ours."""

    def remove(self) -> None:
        """Drop the databases this object created (the server is not ours to stop)."""
        import psycopg
        from psycopg import sql

        if not self._created:
            return
        with psycopg.connect(self._admin_conninfo(), autocommit=True, connect_timeout=10) as conn:
            for name in self._created:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        self._created.clear()

    def __enter__(self) -> Server:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.remove()


class Cluster(Server):
    """A throwaway PostgreSQL cluster in a temp dir on a free 127.0.0.1 port.

    ``fsync=False`` (the tests' default) turns off fsync, synchronous_commit and
    full_page_writes: a test cluster does not need to survive a power loss, and that makes
    every commit cheap. A benchmark of durable commits passes ``fsync=True``.
    """

    def __init__(self, *, fsync: bool = False, max_connections: int = 200) -> None:
        bindir = find_bindir()
        if bindir is None:
            raise RuntimeError(missing_reason() or "no PostgreSQL binaries found")
        self.bindir = bindir
        self.fsync = fsync
        self.max_connections = max_connections
        self.as_root = os.geteuid() == 0
        self.dir = Path(tempfile.mkdtemp(prefix="thoth-pg-"))
        self.data = self.dir / "data"
        self.log_path = self.dir / "postgres.log"
        self.port = 0
        self.running = False
        self._watchdog: subprocess.Popen[bytes] | None = None
        if self.as_root:
            shutil.chown(self.dir, user=RUN_AS)
        super().__init__(f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:1/postgres")

    # -- lifecycle ---------------------------------------------------------------------------------

    def _command(self, tool: str, *args: str) -> list[str]:
        """A PostgreSQL tool's command line, as the postgres user when we are root."""
        command = [str(self.bindir / tool), *args]
        return ["runuser", "-u", RUN_AS, "--", *command] if self.as_root else command

    def _pg_ctl_command(self, action: str, mode: str = "immediate", wait: int = 30) -> list[str]:
        return self._command("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", str(wait), action)

    def _run(self, command: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
        """Run a command, never raising on its exit code; cwd is the temp dir, as the postgres
        user may not be able to enter ours."""
        return subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, cwd=self.dir, stdin=subprocess.DEVNULL
        )

    def start(self) -> Cluster:
        """initdb (once), then start on a free port within START_TIMEOUT_SECONDS in all. The
        error carries the log's tail; a failed first start also removes the temp dir.

        After ``stop()``, ``start()`` starts the same cluster again on the port it had, so the
        URLs handed out stay valid (a new port only if that one has been taken meanwhile)."""
        if self.running:
            return self
        try:
            if not (self.data / "PG_VERSION").exists():
                self._initdb()
            deadline = time.monotonic() + START_TIMEOUT_SECONDS
            for attempt in range(_STARTS):
                if not (attempt == 0 and self.port):
                    self.port = free_port()
                if self._pg_ctl_start(max(1, int(deadline - time.monotonic()))):
                    self.running = True
                    self._url = self._url.set(port=self.port)
                    self._watch()
                    return self
                if time.monotonic() >= deadline:
                    break
            raise RuntimeError(f"PostgreSQL did not start in {self.dir}; log tail:\n{self.log_tail()}")
        except BaseException:
            if self._watchdog is None:  # never started: nobody will call remove()
                shutil.rmtree(self.dir, ignore_errors=True)
            raise

    def _watch(self) -> None:
        """A watchdog that removes the cluster if this process dies without doing so (kill -9,
        os._exit on a timeout): a killed test run must not leave a postmaster behind."""
        if self._watchdog is not None:
            return
        self._watchdog = subprocess.Popen(
            [sys.executable, "-c", _WATCHDOG, str(os.getpid()), *self._pg_ctl_command("stop")],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self.dir,
            start_new_session=True,  # a Ctrl-C to the test run's process group does not reach it
        )

    def _initdb(self) -> None:
        result = self._run(
            self._command(
                "initdb",
                *("-D", str(self.data), "-A", "trust", "-U", SUPERUSER),
                *("-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"),
            ),
            timeout=120,
        )
        if result.returncode != 0:
            output = (result.stdout + result.stderr)[-4000:]
            raise RuntimeError(f"initdb failed (exit {result.returncode}):\n{output}")

    def _server_options(self) -> str:
        """postgres command-line options, one string for pg_ctl -o (it goes through /bin/sh)."""
        settings = {
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": str(self.dir),
            "max_connections": str(self.max_connections),
        }
        if not self.fsync:
            settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        options = ["-p", str(self.port), *(f"-c{key}={value}" for key, value in settings.items())]
        return " ".join(shlex.quote(option) for option in options)

    def _pg_ctl_start(self, wait: int) -> bool:
        """True when the server accepts connections within ``wait`` seconds."""
        try:
            result = self._run(
                self._command(
                    "pg_ctl",
                    *("-D", str(self.data), "-l", str(self.log_path), "-o", self._server_options()),
                    *("-w", "-t", str(wait), "start"),
                ),
                timeout=wait + 10,
            )
        except subprocess.TimeoutExpired:
            self._pg_ctl_stop("immediate")
            return False
        if result.returncode == 0:
            return True
        self._pg_ctl_stop("immediate")  # a half-started postmaster must not hold the data dir
        return False

    def _pg_ctl_stop(self, mode: str) -> bool:
        try:
            result = self._run(self._pg_ctl_command("stop", mode), timeout=40.0)
        except subprocess.TimeoutExpired:
            return False
        return result.returncode == 0

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast`` disconnects clients; falls back to ``immediate``)."""
        if not self.running:
            return
        if not self._pg_ctl_stop(mode) and mode != "immediate":
            self._pg_ctl_stop("immediate")
        self.running = False

    def remove(self) -> None:
        """Stop (immediately: the data is thrown away), delete the temp dir, end the watchdog."""
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)
        if self._watchdog is not None:
            self._watchdog.terminate()
            self._watchdog.wait(timeout=10)
            self._watchdog = None

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])

    def __enter__(self) -> Cluster:
        return self.start()


def server_from_environment() -> Server:
    """The server to use: ``THOTH_TEST_POSTGRES_URL``'s, or a new throwaway cluster (started)."""
    url = os.environ.get(ENV_URL)
    if url:
        return Server(url)
    return Cluster(fsync=False).start()


def main() -> int:
    reason = missing_reason()
    if reason is not None:
        print(f"PostgreSQL for the tests: unavailable: {reason}")
        return 1
    source = f"${ENV_URL}" if os.environ.get(ENV_URL) else f"a throwaway cluster from {find_bindir()}"
    print(f"PostgreSQL for the tests: {source}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
