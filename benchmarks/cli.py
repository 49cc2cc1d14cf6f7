"""``python -m benchmarks [--smoke] [--only a,b] [--skip-aten]``: run, print, write results."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.metadata
import json
import os
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from benchmarks import _report, scenarios
from benchmarks._server import ThothServer, machine_line
from benchmarks._workers import ATEN_VERSION, Worker, prepare

RESULTS = Path(__file__).resolve().parent / "results"
README = Path(__file__).resolve().parent / "README.md"
SCENARIOS = (
    "allow_sync",
    "allow_async",
    "observe",
    "emit",
    "pipeline",
    "outage",
    "import",
    "memory",
    "server",
    "local",
    "otel",
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny call counts: proves the harness works")
    parser.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(SCENARIOS)}")
    parser.add_argument("--skip-aten", action="store_true", help="do not install or run aten-thoth")
    parser.add_argument(
        "--ours",
        choices=("clean", "main"),
        default="clean",
        help="clean: thoth-sdk in benchmarks/.venv-thoth on aten-thoth's interpreter, runtime deps only "
        "(default); main: in the running .venv",
    )
    parser.add_argument("--results-dir", type=Path, default=RESULTS)
    parser.add_argument(
        "--update-readme", action="store_true", help="put this run's table into benchmarks/README.md"
    )
    args = parser.parse_args(argv)
    args.only = [s.strip() for s in args.only.split(",") if s.strip()] or list(SCENARIOS)
    unknown = set(args.only) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s) {sorted(unknown)}; choose from {', '.join(SCENARIOS)}")
    return args


def _dist_versions(*names: str) -> str:
    found = []
    for name in names:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found.append(f"{name} {importlib.metadata.version(name)}")
    return ", ".join(found)


@contextlib.contextmanager
def _contenders(
    args: argparse.Namespace, log: IO[bytes], say: Callable[[str], None], notes: list[str]
) -> Iterator[list[scenarios.Contender]]:
    """Start one worker per SDK; both SDKs on the same Python when one >= 3.12 exists."""
    pythons: dict[str, str] = {}
    with open(log.name, "a") as text_log:
        if args.ours == "clean":
            say("preparing thoth-sdk (this checkout, runtime deps only) in benchmarks/.venv-thoth ...")
            python, why = prepare("thoth-sdk", text_log)
            if python is None:
                notes.append(f"thoth-sdk runs in the main .venv ({sys.executable}): {why}")
            pythons["thoth-sdk"] = python or sys.executable
        else:
            pythons["thoth-sdk"] = sys.executable
        if args.skip_aten:
            notes.append(f"aten-thoth=={ATEN_VERSION}: skipped (--skip-aten)")
        else:
            say(f"preparing aten-thoth=={ATEN_VERSION} from the package index in benchmarks/.venv-aten ...")
            python, why = prepare("aten-thoth", text_log)
            if python is None:
                notes.append(f"aten-thoth=={ATEN_VERSION}: skipped: {why}")
                say(f"SKIPPING aten-thoth: {why}")
            else:
                pythons["aten-thoth"] = python
    contenders: list[scenarios.Contender] = []
    try:
        for label, python in pythons.items():
            contenders.append(scenarios.Contender(label, python, Worker(label, python, log)))
        yield contenders
    finally:
        for contender in contenders:
            contender.worker.stop()


def run(argv: list[str] | None = None, say: Callable[[str], None] = print) -> dict[str, Any]:
    args = parse_args(argv)
    sizes = scenarios.Sizes.smoke() if args.smoke else scenarios.Sizes()
    args.results_dir.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    results: dict[str, Any] = {
        "started_utc": started.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine_line(),
        "command": "make bench-smoke"
        if args.smoke
        else "make bench"
        + (f" BENCH_ARGS='{' '.join(sys.argv[1:])}'" if argv is None and sys.argv[1:] else ""),
        "smoke": args.smoke,
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
        "versions": {},
        "scenarios": {},
        "skipped": [],
    }
    sc, skipped = results["scenarios"], results["skipped"]
    workdir = Path(tempfile.mkdtemp(prefix="thoth-bench-"))
    log_path = args.results_dir / "workers.log"
    server = ThothServer(workdir, api_key="thoth_bench_" + secrets.token_hex(8))
    try:
        with open(log_path, "wb") as log:
            say(f"starting thoth serve on {server.url} (store {server.db_path}) ...")
            server.start()
            results["versions"]["server"] = (
                "thoth serve (" + _dist_versions("uvicorn", "starlette", "sqlalchemy") + "), SQLite store"
            )
            with _contenders(args, log, say, skipped) as contenders:
                bench = scenarios.Bench(server, contenders, sizes, say)
                for contender in contenders:
                    contender.info = contender.worker.call("info")
                    v = contender.info["versions"]
                    results["versions"][contender.label] = (
                        f"{contender.info['sdk_version']} on Python {contender.info['python']} ("
                        + ", ".join(f"{k} {val}" for k, val in v.items() if k != contender.info["sdk"])
                        + ")"
                    )
                    contender.worker.call(
                        "setup",
                        url=server.url,
                        api_key=server.api_key,
                        tenant=scenarios.TENANT,
                        warmup=sizes.warmup,
                    )
                _run_scenarios(bench, args.only, sc, log, say)
            server.stop()
            if "server" in args.only:
                sc["server"] = _server_figures(args.smoke, skipped, say)
            if "local" in args.only:
                sc["local"] = _local_figures(args.smoke, skipped, say)
            if "otel" in args.only:
                sc["otel"] = _otel_figures(args.smoke, skipped, say)
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    theirs = "aten-thoth" if any(c.startswith("aten") for c in results["versions"]) else None
    results["targets"] = _report.targets(sc, "thoth-sdk", theirs)
    results["seconds"] = round((datetime.now(UTC) - started).total_seconds(), 1)
    results["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    _write(results, bench.samples, args.results_dir, say)
    if args.update_readme and not args.smoke:
        update_readme(_report.render(results))
        say(f"updated {README}")
    return results


def update_readme(table: str) -> None:
    """Replace the table between the markers in benchmarks/README.md."""
    text = README.read_text()
    start, end = "<!-- latest-table -->", "<!-- /latest-table -->"
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    README.write_text(f"{head}{start}\n```text\n{table}\n```\n{end}{tail}")


def _run_scenarios(
    bench: scenarios.Bench, only: list[str], sc: dict[str, Any], log: IO[bytes], say: Callable[[str], None]
) -> None:
    steps: dict[str, Callable[[], dict[str, Any]]] = {
        "allow_sync": lambda: scenarios.governed_allow(bench, "sync"),
        "allow_async": lambda: scenarios.governed_allow(bench, "async"),
        "observe": lambda: scenarios.observe_mode(bench),
        "emit": lambda: scenarios.event_emission(bench),
        "pipeline": lambda: scenarios.event_pipeline(bench),
        "outage": lambda: scenarios.ingest_outage(bench),
        "import": lambda: scenarios.import_time(bench),
        "memory": lambda: scenarios.memory(bench, log),
    }
    for name, step in steps.items():
        if name in only:
            t0 = time.monotonic()
            say(f"running {name} ...")
            sc[name] = step()
            say(f"  done in {time.monotonic() - t0:.1f}s")


def _server_figures(smoke: bool, skipped: list[str], say: Callable[[str], None]) -> dict[str, Any]:
    try:
        server_bench = importlib.import_module("benchmarks.server_bench")
    except ModuleNotFoundError as exc:
        if exc.name != "benchmarks.server_bench":
            raise
        why = "benchmarks/server_bench.py does not exist yet (it reports the server's own figures)"
        skipped.append(f"server figures: {why}")
        say(f"SKIPPING server figures: {why}")
        return {"skipped": why}
    say("running server_bench.run ...")
    try:
        figures: dict[str, Any] = server_bench.run(smoke=smoke)
    except Exception as exc:  # noqa: BLE001 - its failure must not discard the SDK figures measured
        why = f"server_bench.run failed: {type(exc).__name__}: {str(exc)[:500]}"
        skipped.append(f"server figures: {why}")
        say(f"FAILED server figures: {why}")
        return {"error": why}
    return figures


def _local_figures(smoke: bool, skipped: list[str], say: Callable[[str], None]) -> dict[str, Any]:
    """decision_mode="local" in this process (thoth-sdk only: aten-thoth has no local mode)."""
    return _in_process_figures("local", smoke, skipped, say)


def _otel_figures(smoke: bool, skipped: list[str], say: Callable[[str], None]) -> dict[str, Any]:
    """otel=True off and on in this process (thoth-sdk only: the workers have no OpenTelemetry)."""
    figures = _in_process_figures("otel", smoke, skipped, say)
    if "skipped" in figures:
        skipped.append(f"otel figures: {figures['skipped']}")
    return figures


def _in_process_figures(
    name: str, smoke: bool, skipped: list[str], say: Callable[[str], None]
) -> dict[str, Any]:
    """``benchmarks.<name>_bench.run``; its failure is reported, never discards what else was measured."""
    say(f"running {name}_bench.run ...")
    try:
        figures: dict[str, Any] = importlib.import_module(f"benchmarks.{name}_bench").run(smoke=smoke)
    except Exception as exc:  # noqa: BLE001 - its failure must not discard the figures measured
        why = f"{name}_bench.run failed: {type(exc).__name__}: {str(exc)[:500]}"
        skipped.append(f"{name} figures: {why}")
        say(f"FAILED {name} figures: {why}")
        return {"error": why}
    return figures


def _write(
    results: dict[str, Any], samples: dict[str, Any], directory: Path, say: Callable[[str], None]
) -> None:
    stamp = time.strftime("%Y%m%dT%H%M%S")
    text = _report.render(results)
    chart = _report.chart(samples, directory / "latency.png")
    results["chart"] = str(chart) if chart else None
    for name in (f"bench-{stamp}.json", "latest.json"):
        (directory / name).write_text(json.dumps(results, indent=2) + "\n")
    (directory / "latest.txt").write_text(text + "\n")
    say("")
    say(text)
    say("")
    say(
        f"results: {directory / 'latest.json'} and {directory / 'latest.txt'}"
        + (f"; chart: {chart}" if chart else "; chart skipped (matplotlib missing: install the bench extra)")
    )


def main(argv: list[str] | None = None) -> int:
    run(argv)
    return 0
