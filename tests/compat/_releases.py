"""The released Thoth clients the matrix drives, and how each gets its own virtualenv.

Every release on the package index that installs on Python 3.12 (aten-thoth 0.1.4 was never
published). Each is installed at test time from the index into ``.venvs/compat/<dist>-<version>``
(kept between runs), its dependencies pinned by ``requirements/compat.lock`` so that a run
tests the client, not whatever botocore was released this morning.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks._workers import ensure_venv, find_python312

REPO = Path(__file__).resolve().parents[2]
VENVS = REPO / ".venvs" / "compat"
CONSTRAINTS = REPO / "requirements" / "compat.lock"

ATEN = "aten-thoth"
ATENSEC = "atensec-thoth"
RELEASES: tuple[tuple[str, str], ...] = (
    *((ATEN, f"0.1.{n}") for n in (0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)),
    *((ATENSEC, v) for v in ("0.1.16", "0.1.17", "0.5.20", "0.5.21", "0.5.22", "0.5.23", "0.5.24", "0.5.25")),
)


@dataclass(frozen=True)
class Release:
    dist: str
    version: str

    @property
    def id(self) -> str:
        return f"{self.dist}=={self.version}"

    @property
    def number(self) -> tuple[int, ...]:
        return tuple(int(part) for part in self.version.split("."))

    @property
    def agent_id(self) -> str:
        return f"compat-{self.dist}-{self.version}"


def all_releases() -> list[Release]:
    return [Release(dist, version) for dist, version in RELEASES]


def install(release: Release) -> tuple[str | None, str]:
    """The release's interpreter, or (None, why it could not be installed)."""
    python312 = find_python312()
    if python312 is None:
        return None, "no Python >= 3.12 interpreter found (the released clients require it)"
    probe = (
        f"import importlib.metadata as m, sys; sys.exit(m.version({release.dist!r}) != {release.version!r})"
    )
    venv = VENVS / f"{release.dist}-{release.version}"
    requirements = ["-c", str(CONSTRAINTS), release.id]
    with tempfile.TemporaryFile("w+") as log:
        try:
            # Hard links from uv's cache: 23 copies of botocore would take a minute to write.
            python = ensure_venv(venv, python312, requirements, probe, log, env={"UV_LINK_MODE": "hardlink"})
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
            log.seek(0)
            return None, f"could not install {release.id} from the package index ({exc}): {log.read()[-300:]}"
    if python is None:
        return None, f"{release.id} did not import after installing into {venv}"
    return python, ""
