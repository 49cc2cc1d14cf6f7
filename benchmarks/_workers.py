"""Worker processes (one per SDK interpreter) and the aten-thoth virtualenv."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

HERE = Path(__file__).resolve().parent
RUNNER = HERE / "_runner.py"
ATEN_VERSION = "0.1.10"
ATEN_VENV = HERE / ".venv-aten"
OURS_VENV = HERE / ".venv-thoth"  # ours on the same interpreter as aten-thoth, runtime deps only
REPO = HERE.parent
PYTHON312_CANDIDATES = ("/root/.pyenv/versions/3.12.1/bin/python3", "python3.12", "python3.13")


class WorkerError(RuntimeError):
    pass


class Worker:
    """A ``_runner.py`` process speaking JSON lines; ``stop()`` ends it."""

    def __init__(self, name: str, python: str, stderr: IO[bytes] | None = None) -> None:
        self.name = name
        self.python = python
        # -I: the SDK comes from the venv, never from the current directory (aten's package is also `thoth`).
        self._proc = subprocess.Popen(
            [python, "-I", str(RUNNER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            cwd=tempfile.gettempdir(),
            text=True,
            bufsize=1,
        )

    @property
    def pid(self) -> int:
        return self._proc.pid

    def send(self, cmd: str, **args: Any) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps({"cmd": cmd, **args}) + "\n")
        self._proc.stdin.flush()

    def receive(self) -> dict[str, Any]:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise WorkerError(f"{self.name} worker exited (code {self._proc.poll()})")
        reply: dict[str, Any] = json.loads(line)
        if "error" in reply:
            raise WorkerError(f"{self.name}: {reply['error']}")
        return reply

    def call(self, cmd: str, **args: Any) -> dict[str, Any]:
        self.send(cmd, **args)
        return self.receive()

    def stop(self) -> None:
        if self._proc.poll() is None:
            try:
                self.send("exit")
                self._proc.wait(15)
            except (OSError, subprocess.TimeoutExpired):
                self._proc.kill()
                self._proc.wait(5)
        for stream in (self._proc.stdin, self._proc.stdout):
            if stream is not None:
                stream.close()


def find_python312() -> str | None:
    for candidate in PYTHON312_CANDIDATES:
        path = candidate if os.path.isabs(candidate) else shutil.which(candidate)
        if path and os.access(path, os.X_OK):
            out = subprocess.run(
                [path, "-c", "import sys; print(sys.version_info >= (3, 12))"],
                capture_output=True,
                text=True,
                timeout=30,
            )
            if out.stdout.strip() == "True":
                return path
    return None


def ensure_venv(
    venv: Path,
    python312: str,
    requirements: list[str],
    probe: str,
    log: IO[str],
    env: Mapping[str, str] | None = None,
) -> str | None:
    """``venv`` on ``python312`` with ``requirements`` from the package index; its python, or None.
    ``env`` adds to the installer's environment (e.g. ``UV_LINK_MODE``)."""
    python = venv / "bin" / "python"
    uv = Path(sys.executable).parent / "uv"
    # Never fetch an interpreter; fail fast (and skip the contender) when the index is unreachable.
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_HTTP_TIMEOUT": "15", **(env or {})}
    steps: list[list[str]] = []
    if uv.exists():
        if not python.exists():
            steps.append([str(uv), "venv", "-q", "--python", python312, str(venv)])
        steps.append([str(uv), "pip", "install", "-q", "--python", str(python), *requirements])
    else:
        if not python.exists():
            steps.append([python312, "-m", "venv", str(venv)])
        steps.append([str(python), "-m", "pip", "install", "-q", *requirements])
    for step in steps:
        subprocess.run(step, check=True, env=env, stdout=log, stderr=log, timeout=300)
    return str(python) if _probe(str(python), probe) else None


def prepare(name: str, log: IO[str]) -> tuple[str | None, str]:
    """The interpreter for contender ``name`` ("aten-thoth" or "thoth-sdk"): (python, "") or (None, why)."""
    py312 = find_python312()
    if py312 is None:
        return None, "no Python >= 3.12 interpreter found (aten-thoth needs one)"
    if name == "aten-thoth":
        venv, requirements = ATEN_VENV, [f"aten-thoth=={ATEN_VERSION}"]
        probe = f"import importlib.metadata as m, sys; sys.exit(m.version('aten-thoth') != '{ATEN_VERSION}')"
        if _probe(str(venv / "bin" / "python"), probe):
            return str(venv / "bin" / "python"), ""
    else:  # ours, editable (it follows the checkout), with its runtime dependencies only
        venv, requirements = OURS_VENV, ["-e", str(REPO)]
        probe = "import importlib.metadata as m, sys; m.version('thoth-sdk'); import thoth"
    try:
        python = ensure_venv(venv, py312, requirements, probe, log)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        return None, f"could not install {requirements[-1]} into {venv.name} ({exc})"
    if python is None:
        return None, f"{requirements[-1]} did not import after installing into {venv.name}"
    return python, ""


def _probe(python: str, code: str) -> bool:
    if not os.path.exists(python):
        return False
    try:
        return (
            subprocess.run(
                [python, "-I", "-c", code], capture_output=True, timeout=60, cwd=tempfile.gettempdir()
            ).returncode
            == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


IMPORT_STATEMENTS = {
    "import": "import thoth",
    # What an agent needs before its first governed call (forces anything a lazy __init__ defers).
    "first_use": "import thoth; thoth.instrument; from thoth.tracer import Tracer",
}


def import_time_seconds(python: str, what: str = "import") -> float:
    """Seconds for ``import thoth`` (or its first use) in a fresh interpreter."""
    code = f"import time; t = time.perf_counter(); {IMPORT_STATEMENTS[what]}; print(time.perf_counter() - t)"
    out = subprocess.run(
        [python, "-I", "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tempfile.gettempdir(),
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])
