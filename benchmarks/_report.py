"""Turn results into a terminal table, target checks and a chart."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

Column = tuple[str, str, str]  # (header, key, format)

LATENCY: Sequence[Column] = (
    ("median us", "median_us", "{:.1f}"),
    ("p99 us", "p99_us", "{:.1f}"),
    ("x floor", "x_floor_median", "{:.2f}x"),
    ("over floor us", "over_floor_median_us", "{:+.1f}"),
    ("n", "n", "{}"),
)
MICRO: Sequence[Column] = (
    ("median us", "median_us", "{:.2f}"),
    ("p99 us", "p99_us", "{:.2f}"),
    ("mean us", "mean_us", "{:.2f}"),
    ("n", "n", "{}"),
)


def table(title: str, rows: dict[str, dict[str, Any]], columns: Sequence[Column]) -> str:
    header = ["contender", *(c[0] for c in columns)]
    body = []
    for label, row in rows.items():
        cells = [label]
        for _, key, fmt in columns:
            value = row.get(key)
            cells.append("-" if value is None else fmt.format(value))
        body.append(cells)
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return (
            "  "
            + cells[0].ljust(widths[0])
            + "".join("  " + c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))
        )

    return "\n".join([title, line(header), *(line(r) for r in body)])


def render(results: dict[str, Any]) -> str:
    out = [f"Thoth benchmarks  {results['started_utc']}", f"machine: {results['machine']}"]
    out += [f"{name}: {text}" for name, text in results["versions"].items()]
    out.append(f"command: {results['command']}")
    out.append(
        f"load average (1/5/15 min) at start {results['load_average_start']}, at end "
        f"{results.get('load_average_end')}; run took {results.get('seconds')} s"
    )
    sc = results["scenarios"]
    for section in _SECTIONS:
        out += section(sc)
    if results.get("targets"):
        out += ["", "Targets (thoth-sdk)"]
        for t in results["targets"]:
            out.append(f"  [{t['status']}] {t['target']}: {t['measured']}")
    if results.get("skipped"):
        out += ["", "Skipped"] + [f"  - {s}" for s in results["skipped"]]
    return "\n".join(out)


# -- one function a scenario: the lines it adds to the report, none when it did not run -------------


def _allow_lines(sc: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for flavor in ("sync", "async"):
        if f"allow_{flavor}" in sc:
            s = sc[f"allow_{flavor}"]
            out += [
                "",
                table(
                    f"1. Governed ALLOW call, {flavor} ({s['calls_per_contender']} calls each, "
                    "alternating rounds; floor = plain httpx POST of the same body)",
                    s["rows"],
                    LATENCY,
                ),
            ]
    return out


def _observe_lines(sc: dict[str, Any]) -> list[str]:
    if "observe" not in sc:
        return []
    s = sc["observe"]
    title = f"2. Observe mode: overhead over a direct call ({s['calls_per_contender']} calls each)"
    return ["", table(title, s["rows"], MICRO)]


def _emit_lines(sc: dict[str, Any]) -> list[str]:
    if "emit" not in sc:
        return []
    s = sc["emit"]
    title = f"3a. Event emission, agent-thread cost per event ({s['events_per_contender']} each)"
    return ["", table(title, s["rows"], MICRO)]


def _pipeline_lines(sc: dict[str, Any]) -> list[str]:
    if "pipeline" not in sc:
        return []
    out = ["", "3b. Event pipeline: agent thread -> rows in the server's store"]
    for label, row in sc["pipeline"]["rows"].items():
        out.append(
            f"  {label:<12} {row['events_per_s_median']} events/s (median of "
            f"{len(row['runs'])} runs of {row['runs'][0]['events']}), lost {row['lost']}"
            + (f"; SDK counters: {_counters(row['runs'][-1]['sdk_counters'])}" if row["lost"] else "")
        )
    return out


def _outage_lines(sc: dict[str, Any]) -> list[str]:
    if "outage" not in sc:
        return []
    s = sc["outage"]
    out = [
        "",
        f"3c. Ingest endpoint down for {s['outage_seconds']:g}s while emitting {s['rate_per_s']} events/s",
    ]
    for label, row in s["rows"].items():
        out.append(f"  {label:<12} {row['summary']}; SDK counters: {_counters(row['sdk_counters'])}")
    return out


def _import_lines(sc: dict[str, Any]) -> list[str]:
    if "import" not in sc:
        return []
    s = sc["import"]
    out = ["", f"4a. import thoth, fresh interpreter ({s['reps']} reps each)"]
    for label, row in s["rows"].items():
        out.append(
            f"  {label:<12} import thoth: median {row['median_ms']} ms, p99 {row['p99_ms']} ms; import + "
            f"first use: median {row['first_use_median_ms']} ms, p99 {row['first_use_p99_ms']} ms"
        )
    return out


def _memory_lines(sc: dict[str, Any]) -> list[str]:
    if "memory" not in sc:
        return []
    out = ["", "4b. RSS of a fresh process"]
    for label, row in sc["memory"]["rows"].items():
        out.append(
            f"  {label:<12} {row['rss_after_setup_mib']} MiB after setup, "
            f"{row['rss_after_calls_mib']} MiB after {row['calls']} governed calls"
        )
    return out


def _server_section(sc: dict[str, Any]) -> list[str]:
    if "server" not in sc:
        return []
    return ["", "5. Server's own figures (benchmarks/server_bench.py)", _server_lines(sc["server"])]


def _local_section(sc: dict[str, Any]) -> list[str]:
    if "local" not in sc:
        return []
    return ["", '6. decision_mode="local" (benchmarks/local_bench.py)', _server_lines(sc["local"])]


def _otel_section(sc: dict[str, Any]) -> list[str]:
    if "otel" not in sc:
        return []
    return ["", "7. otel=True off vs on (benchmarks/otel_bench.py)", _server_lines(sc["otel"])]


_SECTIONS: Sequence[Callable[[dict[str, Any]], list[str]]] = (
    _allow_lines,
    _observe_lines,
    _emit_lines,
    _pipeline_lines,
    _outage_lines,
    _import_lines,
    _memory_lines,
    _server_section,
    _local_section,
    _otel_section,
)


def _counters(stats: dict[str, Any]) -> str:
    if "note" in stats:
        answers = ", ".join(f"HTTP {k} x{v}" for k, v in stats.get("ingest_http_status", {}).items())
        return stats["note"] + (f"; ingest answered {answers} (batches)" if answers else "")
    keys = ("enqueued", "sent", "retried", "dropped_total", "pending")
    return ", ".join(f"{k}={stats.get(k)}" for k in keys)


def _server_lines(value: Any) -> str:
    if isinstance(value, dict) and "skipped" in value:
        return f"  skipped: {value['skipped']}"
    if isinstance(value, dict) and "error" in value:
        return f"  FAILED: {value['error']}"
    if isinstance(value, dict):
        return "\n".join(_server_item(k, v) for k, v in value.items())
    return f"  {value}"


def _server_item(key: str, value: Any) -> str:
    """A list of result rows (decisions, events) as one line per row."""
    if isinstance(value, list) and all(isinstance(row, dict) for row in value):
        rows = ["    " + ", ".join(f"{k}={v}" for k, v in row.items()) for row in value]
        return "\n".join([f"  {key}:", *rows])
    return f"  {key}: {value}"


def targets(sc: dict[str, Any], ours: str, theirs: str | None) -> list[dict[str, str]]:
    """The issue's targets for our SDK, checked against this run."""
    checks: list[dict[str, str]] = []

    def check(target: str, ok: bool | None, measured: str) -> None:
        status = "n/a" if ok is None else ("PASS" if ok else "MISS")
        checks.append({"target": target, "status": status, "measured": measured})

    direct = sc.get("observe", {}).get("rows", {})
    for flavor in ("sync", "async"):
        rows = sc.get(f"allow_{flavor}", {}).get("rows")
        if not rows:
            continue
        x = rows[ours]["x_floor_median"]
        check(f"ALLOW {flavor} <= 1.3x plain POST (median)", x is not None and x <= 1.3, f"{x}x")
        if theirs and theirs in rows:
            added_ours = rows[ours]["median_us"] - direct.get(ours, {}).get("direct_call_median_us", 0.0)
            added_theirs = rows[theirs]["median_us"] - direct.get(theirs, {}).get(
                "direct_call_median_us", 0.0
            )
            r = added_ours / added_theirs if added_theirs else None
            check(
                f"ALLOW {flavor} added latency <= 0.8x aten-thoth's (median)",
                r is not None and r <= 0.8,
                f"{added_ours:.1f} us vs {added_theirs:.1f} us = {r:.2f}x" if r else "-",
            )
        if theirs and theirs in rows:
            # The round trip to the server is common to every contender; this compares what the SDKs add.
            a, b = rows[ours]["over_floor_median_us"], rows[theirs]["over_floor_median_us"]
            check(
                f"ALLOW {flavor} SDK overhead above the floor <= 0.8x aten-thoth's (median)",
                b > 0 and a <= 0.8 * b,
                f"{a:+.1f} us vs {b:+.1f} us" + (f" = {a / b:.2f}x" if b > 0 else ""),
            )
    if "observe" in sc:
        m = sc["observe"]["rows"][ours]["median_us"]
        check("observe overhead < 50 us (median)", m < 50, f"{m:.2f} us")
    if "emit" in sc:
        m = sc["emit"]["rows"][ours]["median_us"]
        check("event emission < 20 us per event on the agent thread (median)", m < 20, f"{m:.2f} us")
    if "outage" in sc:
        row = sc["outage"]["rows"][ours]
        check(
            f"no event lost across a {sc['outage']['outage_seconds']:g}s ingest outage",
            row["lost"] == 0,
            row["summary"],
        )
    if "import" in sc and theirs and theirs in sc["import"]["rows"]:
        a, b = sc["import"]["rows"][ours]["median_ms"], sc["import"]["rows"][theirs]["median_ms"]
        check("import thoth <= 0.5x aten-thoth's (median)", a <= 0.5 * b, f"{a} ms vs {b} ms = {a / b:.2f}x")
        a, b = (
            sc["import"]["rows"][ours]["first_use_median_ms"],
            sc["import"]["rows"][theirs]["first_use_median_ms"],
        )
        check(
            "import + first use <= 0.5x aten-thoth's (median)",
            a <= 0.5 * b,
            f"{a} ms vs {b} ms = {a / b:.2f}x",
        )
    return checks


def chart(samples: dict[str, dict[str, list[float]]], path: Path) -> Path | None:
    """Latency distributions (empirical CDFs, log scale) as a PNG; None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    titles = {
        "allow_sync": "ALLOW call, sync (us)",
        "allow_async": "ALLOW call, async (us)",
        "observe": "observe-mode overhead (us)",
        "emit": "emit one event, agent thread (us)",
    }
    present = [k for k in titles if k in samples]
    if not present:
        return None
    fig, axes = plt.subplots(1, len(present), figsize=(4.6 * len(present), 3.8), squeeze=False)
    for ax, key in zip(axes[0], present, strict=True):
        for label, values in samples[key].items():
            xs = sorted(max(v / 1000, 0.01) for v in values)
            ys = [(i + 1) / len(xs) for i in range(len(xs))]
            ax.plot(xs, ys, label=label, linewidth=1.2, linestyle="--" if "events off" in label else "-")
        ax.set_xscale("log")
        ax.set_title(titles[key], fontsize=9)
        ax.set_ylabel("fraction of calls", fontsize=8)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
