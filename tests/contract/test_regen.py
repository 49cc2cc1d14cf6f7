"""`make check-generated` catches drift: a spec change, or a hand edit of the generated code."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REGEN = ROOT / "openapi" / "regen.py"
COMMITTED = ROOT / "generated_client" / "thoth_api_client"

pytestmark = pytest.mark.skipif(
    shutil.which("openapi-python-client", path=str(Path(sys.executable).parent)) is None,
    reason="needs the dev extra (openapi-python-client)",
)


def _check(spec: Path, committed: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REGEN), "--check", "--spec", str(spec), "--committed", str(committed)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_committed_client_matches_the_spec() -> None:
    result = _check(ROOT / "openapi" / "thoth.yaml", COMMITTED)
    assert result.returncode == 0, result.stderr


def test_a_spec_change_is_detected(tmp_path: Path) -> None:
    spec = tmp_path / "thoth.yaml"
    text = (ROOT / "openapi" / "thoth.yaml").read_text()
    spec.write_text(
        text.replace(
            "        session_intent: {type: string, maxLength: 4096}",
            "        session_intent: {type: string, maxLength: 4096}\n        priority: {type: integer}",
            1,
        )
    )
    result = _check(spec, COMMITTED)
    assert result.returncode == 1
    assert "enforce_request.py" in result.stderr and "priority" in result.stderr
    assert "make regen" in result.stderr


def test_a_hand_edit_is_detected(tmp_path: Path) -> None:
    copy = tmp_path / "thoth_api_client"
    shutil.copytree(COMMITTED, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "client.py").write_text((copy / "client.py").read_text().replace("Bearer", "Token", 1))
    (copy / "extra.py").write_text("x = 1\n")
    result = _check(ROOT / "openapi" / "thoth.yaml", copy)
    assert result.returncode == 1
    assert "client.py" in result.stderr and "extra.py" in result.stderr
