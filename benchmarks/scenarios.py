"""The benchmark scenarios. Each takes a :class:`Bench` and returns a JSON-able dict.

Timing happens inside the workers (one per SDK interpreter); this process only
orchestrates: it alternates the contenders round by round, toggles the proxy,
and counts rows in the server's store.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from benchmarks._server import ThothServer, TogglingProxy
from benchmarks._stats import ratio, rotate, summary_us
from benchmarks._workers import Worker, import_time_seconds

TENANT = "bench-tenant"


@dataclass(frozen=True)
class Sizes:
    """How many calls each scenario makes (``--smoke`` makes them tiny)."""

    rounds: int = 10
    allow_calls: int = 300  # per round and contender
    observe_calls: int = 2000
    emit_events: int = 2000
    pipeline_events: int = 5000
    pipeline_reps: int = 2
    pipeline_max_queued: int = 500  # below aten-thoth's 1,000-event queue: measure speed, not drops
    outage_seconds: float = 5.0
    outage_rate: int = 50  # events per second while the ingest endpoint is down
    recovery_timeout: float = 45.0
    import_reps: int = 30
    memory_calls: int = 1000
    warmup: int = 100

    @classmethod
    def smoke(cls) -> Sizes:
        return cls(
            rounds=2,
            allow_calls=5,
            observe_calls=20,
            emit_events=20,
            pipeline_events=40,
            pipeline_reps=1,
            outage_seconds=1.0,
            outage_rate=20,
            recovery_timeout=20.0,
            import_reps=2,
            memory_calls=10,
            warmup=3,
        )


@dataclass
class Contender:
    """One SDK in its own interpreter."""

    label: str  # "thoth-sdk" or "aten-thoth"
    python: str
    worker: Worker
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def floor_label(self) -> str:
        return f"plain POST (py{self.info.get('python', '?')}, {self.label} process)"


@dataclass
class Bench:
    server: ThothServer
    contenders: list[Contender]
    sizes: Sizes
    log: Callable[[str], None]
    samples: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # for the chart

    def keep(self, scenario: str, label: str, values_ns: list[float]) -> None:
        self.samples.setdefault(scenario, {}).setdefault(label, []).extend(values_ns)


def governed_allow(bench: Bench, flavor: str) -> dict[str, Any]:
    """Scenario 1: one governed ALLOW call vs one plain POST of the same body, alternating."""
    entries = [(c, kind) for c in bench.contenders for kind in ("floor", "sdk", "sdk_noevents")]
    collected: dict[tuple[str, str], list[float]] = {(c.label, k): [] for c, k in entries}
    for rnd in range(bench.sizes.rounds):
        for contender, kind in rotate(entries, rnd):
            reply = contender.worker.call("allow", contender=kind, flavor=flavor, n=bench.sizes.allow_calls)
            collected[(contender.label, kind)].extend(reply["samples"])
    rows: dict[str, Any] = {}
    for contender in bench.contenders:
        floor = summary_us(collected[(contender.label, "floor")])
        sdk = summary_us(collected[(contender.label, "sdk")])
        rows[contender.floor_label] = floor
        rows[contender.label] = {
            **sdk,
            "x_floor_median": ratio(sdk["median_us"], floor["median_us"]),
            "over_floor_median_us": round(sdk["median_us"] - floor["median_us"], 3),
        }
        quiet = summary_us(collected[(contender.label, "sdk_noevents")])
        rows[f"{contender.label} (events off, diagnostic)"] = {
            **quiet,
            "x_floor_median": ratio(quiet["median_us"], floor["median_us"]),
            "over_floor_median_us": round(quiet["median_us"] - floor["median_us"], 3),
        }
        bench.keep(f"allow_{flavor}", contender.floor_label, collected[(contender.label, "floor")])
        bench.keep(f"allow_{flavor}", contender.label, collected[(contender.label, "sdk")])
        bench.keep(
            f"allow_{flavor}", f"{contender.label} (events off)", collected[(contender.label, "sdk_noevents")]
        )
    return {
        "flavor": flavor,
        "calls_per_contender": bench.sizes.rounds * bench.sizes.allow_calls,
        "rows": rows,
    }


def observe_mode(bench: Bench) -> dict[str, Any]:
    """Scenario 2: a governed call in observe mode against calling the tool directly."""
    governed: dict[str, list[float]] = {c.label: [] for c in bench.contenders}
    direct: dict[str, list[float]] = {c.label: [] for c in bench.contenders}
    for rnd in range(bench.sizes.rounds):
        for contender in rotate(bench.contenders, rnd):
            reply = contender.worker.call("observe", n=bench.sizes.observe_calls)
            governed[contender.label].extend(reply["governed"])
            direct[contender.label].extend(reply["direct"])
    rows = {}
    for contender in bench.contenders:
        direct_median = statistics.median(direct[contender.label])
        rows[contender.label] = {
            **summary_us(governed[contender.label], offset_ns=direct_median),
            "direct_call_median_us": round(direct_median / 1000, 3),
        }
        bench.keep("observe", contender.label, [v - direct_median for v in governed[contender.label]])
    return {
        "calls_per_contender": bench.sizes.rounds * bench.sizes.observe_calls,
        "rows": rows,
        "note": "overhead = governed call minus the median direct call of the same no-op tool",
    }


def event_emission(bench: Bench) -> dict[str, Any]:
    """Scenario 3a: the agent thread's cost of emitting one TOOL_CALL_PRE event."""
    samples: dict[str, list[float]] = {c.label: [] for c in bench.contenders}
    timer: dict[str, list[float]] = {c.label: [] for c in bench.contenders}
    for rnd in range(bench.sizes.rounds):
        for contender in rotate(bench.contenders, rnd):
            reply = contender.worker.call("emit", n=bench.sizes.emit_events)
            samples[contender.label].extend(reply["samples"])
            timer[contender.label].append(reply["timer_ns"])
    rows = {}
    for contender in bench.contenders:
        offset = statistics.median(timer[contender.label])
        rows[contender.label] = summary_us(samples[contender.label], offset_ns=offset)
        bench.keep("emit", contender.label, [v - offset for v in samples[contender.label]])
    return {
        "events_per_contender": bench.sizes.rounds * bench.sizes.emit_events,
        "rows": rows,
        "note": "tracer emission of one event (ours: Tracer._record, aten: Tracer._emit), timer cost removed",
    }


def event_pipeline(bench: Bench) -> dict[str, Any]:
    """Scenario 3b: events per second from the agent thread to rows in the server's store."""
    n = bench.sizes.pipeline_events
    runs: dict[str, list[dict[str, Any]]] = {c.label: [] for c in bench.contenders}
    for rep in range(bench.sizes.pipeline_reps):
        for contender in rotate(bench.contenders, rep):
            session = f"pipeline-{uuid.uuid4().hex[:12]}"
            reply = contender.worker.call(
                "pipeline",
                url=bench.server.url,
                api_key=bench.server.api_key,
                tenant=TENANT,
                n=n,
                session_id=session,
                max_queued=bench.sizes.pipeline_max_queued,
            )
            rows, seen_at = bench.server.wait_for_events(
                TENANT, session, n, timeout=60.0, sdk_idle=_idle(contender.worker, session)
            )
            elapsed = seen_at - reply["started"]
            counters = contender.worker.call("stats", session_id=session)
            runs[contender.label].append(
                {
                    "events": n,
                    "rows": rows,
                    "lost": n - rows,
                    "seconds": round(elapsed, 3),
                    "events_per_s": round(rows / elapsed, 1) if elapsed > 0 and rows else None,
                    "sdk_counters": counters,
                }
            )
            bench.log(f"  pipeline {contender.label}: {rows}/{n} rows in {elapsed:.2f}s")
    out = {}
    for label, reps in runs.items():
        rates = [r["events_per_s"] for r in reps if r["events_per_s"]]
        out[label] = {
            "events_per_s_median": round(statistics.median(rates), 1) if rates else None,
            "lost": sum(r["lost"] for r in reps),
            "runs": reps,
        }
    return {"rows": out, "note": f"each SDK's queue kept below {bench.sizes.pipeline_max_queued} events"}


def ingest_outage(bench: Bench) -> dict[str, Any]:
    """Scenario 3c: the ingest endpoint is down for a few seconds while the agent keeps emitting."""
    sizes = bench.sizes
    proxy = TogglingProxy(bench.server.port)
    proxy.up()
    out: dict[str, Any] = {}
    try:
        for contender in bench.contenders:
            out[contender.label] = _one_outage(bench, contender, proxy)
            bench.log(f"  outage {contender.label}: {out[contender.label]['summary']}")
    finally:
        proxy.close()
    return {
        "outage_seconds": sizes.outage_seconds,
        "rate_per_s": sizes.outage_rate,
        "rows": out,
        "note": "a TCP proxy on 127.0.0.1 in front of thoth serve refuses connections and cuts open ones",
    }


def _one_outage(bench: Bench, contender: Contender, proxy: TogglingProxy) -> dict[str, Any]:
    sizes, server, worker = bench.sizes, bench.server, contender.worker
    session = f"outage-{uuid.uuid4().hex[:12]}"
    common = {"url": proxy.url, "api_key": server.api_key, "tenant": TENANT, "session_id": session}
    before = max(5, sizes.outage_rate // 2)
    worker.call("paced", n=before, seconds=0.5, **common)
    rows_before, _ = server.wait_for_events(
        TENANT, session, before, timeout=10.0, sdk_idle=_idle(worker, session)
    )
    during = int(sizes.outage_rate * sizes.outage_seconds)
    proxy.down()
    down_at = time.monotonic()
    worker.send("paced", n=during, seconds=sizes.outage_seconds * 0.9, **common)
    _sleep_until(down_at + sizes.outage_seconds)
    proxy.up()
    up_at = time.time()
    worker.receive()
    total = before + during
    rows, seen_at = server.wait_for_events(
        TENANT, session, total, timeout=sizes.recovery_timeout, sdk_idle=_idle(worker, session)
    )
    idle = _idle(worker, session)
    settle_until = time.monotonic() + 5.0
    while not idle() and time.monotonic() < settle_until:  # rows land before the SDK reads the 200
        time.sleep(0.05)
    stats = worker.call("stats", session_id=session)
    delivered_after = rows - rows_before
    summary = f"{rows}/{total} stored, {total - rows} lost"
    if rows == total:
        summary += f", all in store {seen_at - up_at:.1f}s after recovery"
    if rows_before < before:
        summary += f" (only {rows_before}/{before} stored even before the outage)"
    return {
        "emitted_before": before,
        "emitted_during_outage": during,
        "stored_before_outage": rows_before,
        "stored_total": rows,
        "lost": total - rows,
        "delivered_after_outage": delivered_after,
        "seconds_to_deliver_after_recovery": round(seen_at - up_at, 2) if rows == total else None,
        "sdk_counters": stats,
        "summary": summary,
    }


def _idle(worker: Worker, session: str) -> Callable[[], bool]:
    return lambda: worker.call("queued", session_id=session)["queued"] == 0


def _sleep_until(deadline: float) -> None:
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, 0.05))


def import_time(bench: Bench) -> dict[str, Any]:
    """Scenario 4a: ``import thoth`` in a fresh interpreter, alternating, after one warm-up each.

    Also "first use": import plus ``thoth.instrument`` and ``thoth.tracer.Tracer``, so a
    lazy ``__init__`` cannot hide the cost an agent pays before its first governed call.
    """
    times: dict[str, dict[str, list[float]]] = {
        c.label: {"import": [], "first_use": []} for c in bench.contenders
    }
    for contender in bench.contenders:
        import_time_seconds(contender.python)  # compile bytecode, warm the page cache
    for rep in range(bench.sizes.import_reps):
        for contender in rotate(bench.contenders, rep):
            for what in ("import", "first_use"):
                times[contender.label][what].append(import_time_seconds(contender.python, what) * 1e9)
    rows = {}
    for label, by_what in times.items():
        imp, first = summary_us(by_what["import"]), summary_us(by_what["first_use"])
        rows[label] = {
            "median_ms": round(imp["median_us"] / 1000, 1),
            "p99_ms": round(imp["p99_us"] / 1000, 1),
            "first_use_median_ms": round(first["median_us"] / 1000, 1),
            "first_use_p99_ms": round(first["p99_us"] / 1000, 1),
            "n": imp["n"],
        }
    return {"reps": bench.sizes.import_reps, "rows": rows}


def memory(bench: Bench, stderr: Any) -> dict[str, Any]:
    """Scenario 4b: RSS of a fresh process after setup and after N governed ALLOW calls."""
    rows = {}
    for contender in bench.contenders:
        worker = Worker(f"{contender.label}-memory", contender.python, stderr=stderr)
        try:
            reply = worker.call(
                "memory",
                url=bench.server.url,
                api_key=bench.server.api_key,
                tenant=TENANT,
                n=bench.sizes.memory_calls,
            )
        finally:
            worker.stop()
        rows[contender.label] = {
            "rss_after_setup_mib": round(reply["rss_before_kib"] / 1024, 1),
            "rss_after_calls_mib": round(reply["rss_after_kib"] / 1024, 1),
            "calls": reply["calls"],
        }
    return {"rows": rows}
