"""Every released Thoth client, unmodified, against a real ``thoth serve``.

Each release runs ``driver.py`` in its own virtualenv: the README's generic-tool flows (allow,
block, MODIFY, step-up approved and denied, DEFER; async allow, block and step-up), one session
per flow. A step-up is approved or denied from our CLI (``thoth holds approve|deny``) while the
client polls. All releases run at once against one server (a step-up waits for the client's fixed
5-second poll), and then each release's flows and stored events are checked against what that
release is known to do (docs/COMPATIBILITY.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.compat._releases import Release, all_releases, install
from tests.conftest import ThothServer

DRIVER = Path(__file__).with_name("driver.py")
POLICY = """\
version: 1
rules:
  - id: no-deletes
    tools: [delete_records]
    decision: BLOCK
    reason: deleting customer data is never automated
  - id: mask-ssn
    tools: [lookup_customer]
    decision: MODIFY
    modify: {mask: [ssn]}
  - id: wires-need-approval
    tools: ["wire_money*"]
    decision: STEP_UP
    reason: money moves need a human
  - id: exports-wait
    tools: [export_report]
    decision: DEFER
    reason: exports wait for the nightly window
"""
SSN = "123-45-6789"
FLOWS: list[dict[str, Any]] = [
    {"name": "allow", "tool": "read_file", "arg": "/srv/report.txt"},
    {"name": "block", "tool": "delete_records", "arg": {"table": "customers"}},
    {"name": "modify", "tool": "lookup_customer", "arg": {"name": "Ada", "ssn": SSN}},
    {"name": "step_up_approved", "tool": "wire_money", "arg": {"amount": 10}},
    {"name": "step_up_denied", "tool": "wire_money_abroad", "arg": {"amount": 10}},
    {"name": "defer", "tool": "export_report", "arg": {"month": "2026-11"}},
    {"name": "async_allow", "tool": "read_file", "arg": "/srv/a.txt", "async": True},
    {"name": "async_block", "tool": "delete_records", "arg": {"table": "x"}, "async": True},
    {"name": "async_step_up_approved", "tool": "wire_money", "arg": {"amount": 11}, "async": True},
]
DRIVER_TIMEOUT_S = 150  # a step-up that never resolves would wait the client's 15 minutes


def expected_outcomes(release: Release) -> dict[str, str]:
    """What each flow does with this release: "ran", "ran_masked" or "refused"."""
    knows_modify = release.number >= (0, 1, 8)  # 0.1.8 added MODIFY and DEFER to the clients
    return {
        "allow": "ran",
        "block": "refused",
        # 0.1.7 reads MODIFY as an unknown answer and fails closed; 0.1.0-0.1.6 send no arguments
        # and are told BLOCK by the server (CLIENT_CANNOT_APPLY), since they would run the tool.
        "modify": "ran_masked" if knows_modify else "refused",
        "step_up_approved": "ran",
        "step_up_denied": "refused",
        "defer": "refused",
        "async_allow": "ran",
        "async_block": "refused",
        "async_step_up_approved": "ran",
    }


class CliApprover:
    """Resolves every pending hold from our CLI: wire_money_abroad is denied, the rest approved."""

    def __init__(self, server: ThothServer) -> None:
        self.server = server
        self.resolved: dict[str, str] = {}
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="compat-approver", daemon=True)

    def __enter__(self) -> CliApprover:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        env = {**os.environ, "THOTH_API_URL": self.server.url, "THOTH_API_KEY": self.server.admin_key}
        while not self._stop.wait(0.2):
            for hold in self.server.holds("pending"):
                verb = "deny" if hold["tool_name"].endswith("_abroad") else "approve"
                done = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "thoth.cli",
                        "holds",
                        verb,
                        hold["hold_token"],
                        "--reason",
                        "compat",
                    ],
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=30,
                )
                self.resolved[hold["hold_token"]] = verb
                if done.returncode != 0:
                    self.failures.append(f"thoth holds {verb}: exit {done.returncode}: {done.stderr[-300:]}")


def _drive(server: ThothServer, release: Release) -> dict[str, Any]:
    python, why = install(release)
    if python is None:
        return {"skip": why}
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "THOTH_API_URL": server.url,
        "THOTH_ENFORCER_URL": server.url,  # aten-thoth 0.1.0 reads the enforcer's URL from here
        "THOTH_API_KEY": server.api_key,
        # Anything that is not our server goes to a closed local port, never out of this machine.
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    job = {"agent_id": release.agent_id, "tenant_id": server.tenant_id, "flows": FLOWS}
    done = subprocess.run(
        [python, "-I", str(DRIVER)],
        input=json.dumps(job),
        env=env,
        capture_output=True,
        text=True,
        timeout=DRIVER_TIMEOUT_S,
        cwd=server.workdir,
    )
    if done.returncode != 0:
        return {"error": f"driver exit {done.returncode}: {done.stderr[-1500:]}"}
    report: dict[str, Any] = json.loads(done.stdout)
    report["stderr"] = done.stderr
    return report


@pytest.fixture(scope="module")
def matrix(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ThothServer, dict[str, Any], CliApprover]]:
    server = ThothServer(tmp_path_factory.mktemp("compat-server"), policy_text=POLICY).start()
    releases = all_releases()
    try:
        with CliApprover(server) as approver, ThreadPoolExecutor(max_workers=len(releases)) as pool:
            reports = {
                r.id: report
                for r, report in zip(releases, pool.map(lambda r: _drive(server, r), releases), strict=True)
            }
        yield server, reports, approver
    finally:
        server.stop()


def _outcome(flow: dict[str, Any]) -> str:
    if flow["outcome"] == "ran":
        received = flow["received"]
        masked = len(received) == 1 and isinstance(received[0], dict) and received[0].get("ssn") == "***"
        return "ran_masked" if masked else "ran"
    return str(flow["outcome"])


@pytest.mark.parametrize("release", all_releases(), ids=lambda r: r.id)
def test_a_released_client_runs_its_readme_flows_against_thoth_serve(
    matrix: tuple[ThothServer, dict[str, Any], CliApprover], release: Release
) -> None:
    server, reports, approver = matrix
    report = reports[release.id]
    if "skip" in report:
        pytest.skip(report["skip"])
    assert "error" not in report, report.get("error")
    assert (report["dist"], report["version"]) == (release.dist, release.version)
    assert not approver.failures, approver.failures
    flows = report["flows"]
    outcomes = {name: _outcome(flow) for name, flow in flows.items()}
    assert outcomes == expected_outcomes(release), {n: f for n, f in flows.items() if "error" in f}
    for name, flow in flows.items():
        if flow["outcome"] == "refused":
            assert flow["received"] == [], f"{name}: the tool body ran although the call was refused"
    assert flows["block"]["reason"] == "deleting customer data is never automated"
    assert flows["block"]["violation_id"].startswith("vio_")
    assert "compat" in flows["step_up_denied"]["reason"] or "denied" in flows["step_up_denied"]["reason"]
    _check_events(server, release, flows)


def _check_events(server: ThothServer, release: Release, flows: dict[str, Any]) -> None:
    """Every flow's events are stored (the client's atexit flush ran before the driver exited),
    with the chain state the server found on arrival: these clients do not hash-chain."""
    for name, flow in flows.items():
        events = server.events(flow["session_id"])
        kinds = sorted(event["event_type"] for event in events)
        last = "TOOL_CALL_POST" if flow["outcome"] == "ran" else "TOOL_CALL_BLOCK"
        assert kinds == sorted(["TOOL_CALL_PRE", last]), f"{release.id} {name}: stored {kinds}"
        assert {event["chain_status"] for event in events} == {"unchained"}, f"{release.id} {name}"
        assert {event["agent_id"] for event in events} == {release.agent_id}
