"""Every Python block in README.md runs, in the README's order, against a real ``thoth serve``.

A newcomer copies these blocks first; one that fails as written (a wrong argument type, a
resolution sent with the agent's key) costs them an afternoon. The blocks run as written, in one
namespace (a later block may use what an earlier one defined, as a reader would), with only what
the README itself says is the reader's own given here: their ``agent``, their tool functions and
the model's ``response`` (see ``reader_namespace``). Blocks with a top-level ``await`` run as the
asyncio REPL runs them.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import inspect
import io
import itertools
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.conftest import ThothServer
from thoth import _signing

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
POLICY = (ROOT / "examples" / "policy.yaml").read_text(encoding="utf-8")


def readme_blocks(language: str = "python") -> list[tuple[int, str]]:
    """(line number, source) of each ```python (or other ``language``) block."""
    text = README.read_text(encoding="utf-8")
    block = re.compile(rf"^```{language}\n(.*?)^```$", re.MULTILINE | re.DOTALL)
    return [(text.count("\n", 0, match.start()) + 2, match.group(1)) for match in block.finditer(text)]


class ReadersAgent:
    """What the quick start calls ``agent``: any object with a ``.tools`` list and a way to run."""

    def __init__(self) -> None:
        self.tools = [read_file, summarize]

    def run(self, task: str) -> str:
        by_name = {getattr(tool, "__name__", ""): tool for tool in self.tools}
        return str(by_name["summarize"](text=by_name["read_file"](path="report.txt") + " " + task))


def read_file(path: str) -> str:
    return f"contents of {path}"


def summarize(text: str) -> str:
    return text[:40]


def search_docs(query: str) -> list[str]:
    return [f"doc about {query}"]


def search(q: str) -> list[str]:
    return [f"result for {q}"]


def send_email(to: str, subject: str = "") -> str:
    raise AssertionError("the README's examples never let send_email run")


def delete_customer(customer_id: str) -> str:
    raise AssertionError("no-deletes blocks delete_customer")


def model_response() -> SimpleNamespace:
    """An OpenAI chat completion asking for one tool call, in the SDK's object shape."""
    call = SimpleNamespace(
        id="call_1",
        type="function",
        function=SimpleNamespace(name="search_docs", arguments='{"query": "refunds"}'),
    )
    return SimpleNamespace(choices=[SimpleNamespace(message=SimpleNamespace(tool_calls=[call]))])


def reader_namespace() -> dict[str, Any]:
    return {
        "__name__": "__readme__",
        "agent": ReadersAgent(),
        "response": model_response(),
        "search_docs": search_docs,
        "search": search,
        "send_email": send_email,
        "delete_customer": delete_customer,
    }


@pytest.fixture(scope="module")
def readme_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThothServer]:
    workdir = tmp_path_factory.mktemp("readme")
    key = _signing.generate_private_key()
    (workdir / "bundle.pem").write_bytes(_signing.private_key_pem(key))
    (workdir / "bundle.pub.pem").write_text(_signing.public_key_pem(key), encoding="utf-8")
    server = ThothServer(
        workdir, policy_text=POLICY, extra_args=["--bundle-signing-key", str(workdir / "bundle.pem")]
    ).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def readers_environment(readme_server: ThothServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(readme_server.workdir)  # the local-mode block names bundle.pub.pem
    monkeypatch.setenv("THOTH_API_URL", readme_server.url)
    monkeypatch.setenv("THOTH_API_KEY", readme_server.api_key)
    monkeypatch.setenv("THOTH_ADMIN_KEY", readme_server.admin_key)
    monkeypatch.setenv("THOTH_TENANT_ID", readme_server.tenant_id)


def run_block(source: str, filename: str, namespace: dict[str, Any]) -> str:
    """Run one block as a module body would run (top-level await allowed); what it printed."""
    code = compile(source, filename, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        if code.co_flags & inspect.CO_COROUTINE:
            asyncio.run(eval(code, namespace))  # noqa: S307 - the README's own code, on purpose
        else:
            exec(code, namespace)  # noqa: S102 - the README's own code, on purpose
    return printed.getvalue()


def test_the_readme_has_the_blocks_this_file_runs() -> None:
    assert len(readme_blocks()) >= 9  # a block lost in an edit would silently stop being run


def test_readme_blocks_run_as_written(readers_environment: None) -> None:
    """Every block, in order, in one namespace, as a reader pasting them would run them (one
    test, not one per block: under pytest-xdist, blocks split across workers lose what the
    blocks before them defined)."""
    namespace = reader_namespace()
    for line, source in readme_blocks():
        printed = run_block(source, f"README.md:{line}", namespace)
        for shown in shown_output(source):  # the output the README shows is the output it gives
            assert shown in printed, f"README.md:{line}: shows {shown!r} printed; it printed {printed!r}"


def shown_output(source: str) -> list[str]:
    """What a block says it prints: ``print(...)  # this``, or ``# lines`` right under a print."""
    shown, lines = [], source.splitlines()
    for index, text in enumerate(lines):
        if not text.lstrip().startswith("print("):
            continue
        if "  # " in text:
            shown.append(text.split("  # ", 1)[1])
        shown += [
            below[2:] for below in itertools.takewhile(lambda t: t.startswith("# "), lines[index + 1 :])
        ]
    return shown


def test_the_readme_policy_passes_check_and_its_cases_pass_policy_test(tmp_path: Path) -> None:
    """The policy file and the ``thoth policy test`` cases the README shows work as shown."""
    yaml_blocks = [source for _, source in readme_blocks("yaml")]
    policy = next(source for source in yaml_blocks if source.startswith("version:"))
    cases = next(source for source in yaml_blocks if source.startswith("cases:"))
    (tmp_path / "policy.yaml").write_text(policy, encoding="utf-8")
    (tmp_path / "cases.yaml").write_text(cases, encoding="utf-8")
    check = _thoth("policy", "check", "policy.yaml", cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    tested = _thoth("policy", "test", "policy.yaml", "cases.yaml", cwd=tmp_path)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert f"{cases.count('- name:')} passed, 0 failed" in tested.stdout


def _thoth(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "thoth.cli", *args], capture_output=True, text=True, timeout=60, cwd=cwd
    )
