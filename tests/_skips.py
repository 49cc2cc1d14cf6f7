"""A run that must not skip fails when a test skips (a skipped test has not run).

``THOTH_FAIL_ON_SKIP=1`` turns every skip into a failure of the session, listed with
its reason, except those whose test id starts with one of the comma-separated
prefixes in ``THOTH_SKIP_ALLOWED`` (tests that run elsewhere: each framework's suite
runs in its own virtualenv, where it must not skip). ``make test-integration-*``
sets it with no exception; ``.ci/run`` sets it for ``make test`` too.
"""

from __future__ import annotations

import os

import pytest


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
