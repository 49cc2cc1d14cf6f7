"""A run that must not skip fails when a test skips (a skipped test has not run).

``THOTH_FAIL_ON_SKIP=1`` turns every skip into a failure of the session, listed with
its reason, except those whose test id starts with one of the comma-separated
prefixes in ``THOTH_SKIP_ALLOWED`` (tests that run elsewhere: each framework's suite
runs in its own virtualenv, where it must not skip). ``make test-integration-*``
sets it with no exception; ``.ci/run`` sets it for ``make test`` too.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from pathlib import Path

import pytest

INTEGRATIONS = Path(__file__).parent / "integrations"


def _unexpected_skips(terminal: pytest.TerminalReporter) -> list[str]:
    allowed = tuple(p for p in os.environ.get("THOTH_SKIP_ALLOWED", "").split(",") if p)
    found = []
    for report in terminal.stats.get("skipped", []):
        if allowed and report.nodeid.startswith(allowed):
            continue
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        found.append(f"{report.nodeid or report.fspath}: {reason}")
    return found


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("THOTH_FAIL_ON_SKIP") != "1":
        return
    terminal = session.config.pluginmanager.get_plugin("terminalreporter")
    if terminal is None:
        return
    skips = _unexpected_skips(terminal)
    if skips:
        terminal.write_line(
            "THOTH_FAIL_ON_SKIP: these tests skipped, so they did not run (install what they need):", red=True
        )
        for line in skips:
            terminal.write_line(f"  {line}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    """A framework suite skipped at import (its framework is not installed here) says where it
    runs: each has its own virtualenv, so ``make test``'s skip list does not read as lost tests."""
    report = yield
    path = Path(str(collector.path))
    if report.skipped and isinstance(report.longrepr, tuple) and path.is_relative_to(INTEGRATIONS):
        where, line, reason = report.longrepr
        if "could not import" in reason:
            framework = path.relative_to(INTEGRATIONS).parts[0].replace("_", "-")
            suffix = f": this suite runs in its own virtualenv (make test-integration-{framework})"
            report.longrepr = (where, line, reason + suffix)
    return report
