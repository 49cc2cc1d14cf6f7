"""Regenerate the typed client in ``generated_client/`` from ``openapi/thoth.yaml``.

    python openapi/regen.py            # rewrite generated_client/thoth_api_client
    python openapi/regen.py --check    # regenerate into a temp dir, diff, exit 1 on drift

Generation is deterministic: the generator version is pinned (see
``requirements/dev.lock``), ruff runs with ``--isolated`` and no cache, and the
target is removed first so that no stale module survives a rename.
"""

from __future__ import annotations

import argparse
import difflib
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi" / "thoth.yaml"
CONFIG = ROOT / "openapi" / "generator.yaml"
PACKAGE = "thoth_api_client"
COMMITTED = ROOT / "generated_client" / PACKAGE


def generate(spec: Path, target: Path) -> None:
    """Write the client package for ``spec`` to ``target`` (removed first)."""
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    bindir = Path(sys.executable).parent
    env = dict(os.environ, RUFF_NO_CACHE="true", PATH=f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
    cmd = [
        str(bindir / "openapi-python-client"),
        "generate",
        "--path",
        str(spec),
        "--config",
        str(CONFIG),
        "--meta",
        "none",
        "--output-path",
        str(target),
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not (target / "__init__.py").exists():
        sys.exit(f"openapi-python-client failed:\n{proc.stdout}\n{proc.stderr}")
    # Marks the package as typed for mypy users (PEP 561); the generator does not emit it with --meta none.
    (target / "py.typed").write_text("")


def _tree(root: Path) -> dict[str, Path]:
    return {
        p.relative_to(root).as_posix(): p
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def diff_trees(expected: Path, actual: Path) -> list[str]:
    """Human-readable differences between two generated trees (empty when identical)."""
    want, have = _tree(expected), _tree(actual)
    problems = [f"missing from the committed client: {name}" for name in sorted(want.keys() - have.keys())]
    problems += [
        f"not produced by the generator (stale or hand-added): {name}"
        for name in sorted(have.keys() - want.keys())
    ]
    for name in sorted(want.keys() & have.keys()):
        if not filecmp.cmp(want[name], have[name], shallow=False):
            lines = difflib.unified_diff(
                have[name].read_text().splitlines(),
                want[name].read_text().splitlines(),
                f"committed/{name}",
                f"regenerated/{name}",
                lineterm="",
                n=1,
            )
            problems.append("\n".join(list(lines)[:40]))
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--check", action="store_true", help="fail when the committed client differs from a fresh generation"
    )
    parser.add_argument("--spec", type=Path, default=SPEC)
    parser.add_argument("--committed", type=Path, default=COMMITTED)
    args = parser.parse_args()
    if not args.check:
        generate(args.spec, args.committed)
        print(f"regenerated {args.committed.relative_to(ROOT)} from {args.spec.relative_to(ROOT)}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / PACKAGE
        generate(args.spec, fresh)
        problems = diff_trees(fresh, args.committed)
    if problems:
        print(
            "generated_client/ is out of date with openapi/thoth.yaml (or was edited by hand):\n",
            file=sys.stderr,
        )
        print("\n".join(problems), file=sys.stderr)
        print("\nFix: run `make regen` and commit both the spec and generated_client/.", file=sys.stderr)
        return 1
    print("generated_client/ matches openapi/thoth.yaml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
