"""Smoke run of every benchmark scenario with tiny counts: proves the harness still works.

No timing assertions (speed is measured by ``make bench``, not by tests). The
aten-thoth contender needs Python >= 3.12 and the package index; when either is
missing the harness skips it and says why, and so does this test.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks import _workers, cli

pytestmark = pytest.mark.timeout(110)

LATENCY_SCENARIOS = ("allow_sync", "allow_async", "observe", "emit")


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("bench-results")
    # Tests stay on 127.0.0.1: our SDK runs from this venv (no install), and aten-thoth only when
    # an earlier `make bench` already installed it (the harness then reuses it without the index).
    args = ["--smoke", "--results-dir", str(out), "--ours", "main"]
    if not _aten_ready():
        args.append("--skip-aten")
    results = cli.run(args, say=lambda _line: None)
    return results, out


def _aten_ready() -> bool:
    python = _workers.ATEN_VENV / "bin" / "python"
    probe = (
        f"import importlib.metadata as m, sys; sys.exit(m.version('aten-thoth') != '{_workers.ATEN_VERSION}')"
    )
    return python.exists() and _workers._probe(str(python), probe)


def test_every_latency_scenario_measured_ours_and_the_floor(smoke: tuple[dict[str, Any], Path]) -> None:
    results, _ = smoke
    for name in LATENCY_SCENARIOS:
        rows = results["scenarios"][name]["rows"]
        assert rows["thoth-sdk"]["n"] > 0, name
        assert rows["thoth-sdk"]["median_us"] > 0, name
    floors = [label for label in results["scenarios"]["allow_sync"]["rows"] if label.startswith("plain POST")]
    assert floors, "the plain POST floor was not measured"


def test_event_pipeline_and_outage_reached_the_real_store(smoke: tuple[dict[str, Any], Path]) -> None:
    results, _ = smoke
    pipeline = results["scenarios"]["pipeline"]["rows"]["thoth-sdk"]
    assert pipeline["runs"] and pipeline["runs"][0]["rows"] > 0
    outage = results["scenarios"]["outage"]["rows"]["thoth-sdk"]
    assert outage["stored_total"] > 0
    assert outage["emitted_during_outage"] > 0
    assert {"sent", "retried", "dropped_total"} <= set(outage["sdk_counters"])


def test_import_and_memory_measured(smoke: tuple[dict[str, Any], Path]) -> None:
    results, _ = smoke
    assert results["scenarios"]["import"]["rows"]["thoth-sdk"]["median_ms"] > 0
    memory = results["scenarios"]["memory"]["rows"]["thoth-sdk"]
    assert memory["rss_after_calls_mib"] > 0


def test_aten_thoth_measured_or_skipped_with_a_reason(smoke: tuple[dict[str, Any], Path]) -> None:
    results, _ = smoke
    if "aten-thoth" not in results["versions"]:
        reasons = [s for s in results["skipped"] if s.startswith("aten-thoth")]
        assert reasons, "aten-thoth neither measured nor skipped with a reason"
        pytest.skip(reasons[0])
    for name in LATENCY_SCENARIOS:
        assert results["scenarios"][name]["rows"]["aten-thoth"]["n"] > 0, name
    assert results["scenarios"]["import"]["rows"]["aten-thoth"]["median_ms"] > 0


def test_outputs_written(smoke: tuple[dict[str, Any], Path]) -> None:
    results, out = smoke
    saved = json.loads((out / "latest.json").read_text())
    assert saved["scenarios"].keys() == results["scenarios"].keys()
    table = (out / "latest.txt").read_text()
    assert "Governed ALLOW call, sync" in table and results["machine"] in table
    if results["chart"] is None:  # matplotlib comes with the bench extra
        with pytest.raises(ImportError):
            import matplotlib  # noqa: F401
    else:
        assert (out / "latency.png").stat().st_size > 1000
    assert {t["status"] for t in results["targets"]} <= {"PASS", "MISS", "n/a"}


def test_server_figures_reported_or_skipped_with_a_reason(smoke: tuple[dict[str, Any], Path]) -> None:
    results, _ = smoke
    server = results["scenarios"]["server"]
    assert "error" not in server, server.get("error")
    if "skipped" in server:
        assert any(s.startswith("server figures") for s in results["skipped"])
    else:
        assert server


def test_aten_thoth_skipped_with_a_reason_without_python_312(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_workers, "find_python312", lambda: None)
    monkeypatch.setattr(_workers, "ATEN_VENV", Path("/nonexistent/venv"))
    with open("/dev/null", "w") as log:
        python, why = _workers.prepare("aten-thoth", log)
    assert python is None
    assert "3.12" in why


def test_local_decisions_measured_and_nothing_lost_in_the_outage(smoke: tuple[dict[str, Any], Path]) -> None:
    local = smoke[0]["scenarios"]["local"]
    assert "error" not in local, local.get("error")
    assert local["overhead"]["local_allow_overhead"]["n"] > 0
    assert local["throughput"]["decisions_per_s"] > 0
    outage = local["outage"]
    assert outage["calls"] > 0 and outage["decided_locally"] == outage["calls"]
    assert outage["events_stored"] == outage["events_expected"] == 2 * outage["calls"]


def test_otel_off_and_on_measured_side_by_side(smoke: tuple[dict[str, Any], Path]) -> None:
    otel = smoke[0]["scenarios"]["otel"]
    assert "error" not in otel and "skipped" not in otel, otel
    for case in ("allow", "observe"):
        off, on = otel[case]["otel off"], otel[case]["otel on"]
        assert (off["n"], on["n"]) == (100, 100), case  # --smoke: 50 calls x 2 rounds each
        assert off["ratio_to_off"] == 1.0 and on["ratio_to_off"] > 0, case
