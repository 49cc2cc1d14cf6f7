"""OpenTelemetry spans (``otel=True``): what a governed call costs with them off and on.

``run(smoke)`` starts a real ``thoth serve`` on 127.0.0.1 and governs a no-op tool in this
process (thoth-sdk only: the worker virtualenvs have no OpenTelemetry), four ways, alternating
in rounds, timed per call with ``time.perf_counter_ns``:

* ``allow``: ``enforcement="block"``, so each call is one enforcer round trip; otel off, then
  on (a tool span and a ``thoth.enforce`` child per call);
* ``observe``: no round trip, so the figure is the SDK's own work alone; otel off, then on.

"on" is an SDK ``TracerProvider`` with a ``SimpleSpanProcessor`` and an exporter that drops
the spans: every span is built, ended and handed to an exporter on the call's thread, the
worst case for the agent (a ``BatchSpanProcessor`` would export off the thread). "off" is
the default configuration. Each row shows the median and p99, and the ratio of the medians
to "off" in the same run. Needs ``opentelemetry-sdk`` (the ``dev`` extra); without it the
scenario is skipped with the reason.

Run alone with ``python -m benchmarks.otel_bench [--smoke]``.
"""

from __future__ import annotations

import json
import os
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks._server import ThothServer

TENANT = "bench-tenant"


def lookup(query: str, limit: int = 5) -> str:
    return "ok"


def _summary(samples: list[int]) -> dict[str, float]:
    values = sorted(samples)
    return {
        "median_us": round(statistics.median(values) / 1000, 2),
        "p99_us": round(values[min(len(values) - 1, int(len(values) * 0.99))] / 1000, 2),
        "n": len(values),
    }


def _provider() -> Any:
    """An SDK provider whose exporter drops every span (built with ``OTEL_SDK_DISABLED`` unset:
    ``.ci/run`` sets it, and it would make the provider a no-op and the figure meaningless)."""
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    class DropExporter(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    disabled = os.environ.pop("OTEL_SDK_DISABLED", None)
    try:
        provider = TracerProvider()
    finally:
        if disabled is not None:
            os.environ["OTEL_SDK_DISABLED"] = disabled
    provider.add_span_processor(SimpleSpanProcessor(DropExporter()))
    return provider


def _governed(server: ThothServer, enforcement: str, provider: Any | None) -> Any:
    import thoth

    tracer = thoth.create_tracer(
        agent_id="bench-otel",
        approved_scope=["lookup"],
        tenant_id=TENANT,
        api_url=server.url,
        api_key=server.api_key,
        enforcement=enforcement,
        session_id=f"bench-otel-{uuid.uuid4()}",
        observe_shadow_checks=False,
        tool_inventory=False,
        otel=provider is not None,
        otel_tracer_provider=provider,
    )
    return tracer.wrap_tool("lookup", lookup), tracer


def _timed(fn: Any, tracer: Any, n: int) -> list[int]:
    samples = []
    pc = time.perf_counter_ns
    clear = tracer.session.tool_calls.clear  # the same request body every call, as in the main bench
    for _ in range(n):
        clear()
        start = pc()
        fn("weather in Paris", limit=5)
        samples.append(pc() - start)
    return samples


def compare(server: ThothServer, enforcement: str, calls: int, rounds: int) -> dict[str, Any]:
    """otel off and on, the same governed call, alternating in rounds (events on, as usual)."""
    import thoth

    provider = _provider()
    off_fn, off_tracer = _governed(server, enforcement, None)
    on_fn, on_tracer = _governed(server, enforcement, provider)
    for fn, tracer in ((off_fn, off_tracer), (on_fn, on_tracer)):
        _timed(fn, tracer, max(10, calls // 10))  # warm-up: connections, caches
    off: list[int] = []
    on: list[int] = []
    for index in range(rounds):
        order = ((off, off_fn, off_tracer), (on, on_fn, on_tracer))
        for samples, fn, tracer in order if index % 2 == 0 else reversed(order):
            samples += _timed(fn, tracer, calls)
        thoth.flush(30.0)  # each round starts with the event queue empty
    provider.shutdown()
    rows = {"otel off": _summary(off), "otel on": _summary(on)}
    base = rows["otel off"]["median_us"]
    for row in rows.values():
        row["ratio_to_off"] = round(row["median_us"] / base, 3) if base else 0.0
    rows["otel on"]["added_median_us"] = round(rows["otel on"]["median_us"] - base, 2)
    return rows


def run(smoke: bool = False) -> dict[str, Any]:
    try:
        import opentelemetry.sdk.trace  # noqa: F401
    except ImportError:
        return {"skipped": "opentelemetry-sdk is not installed (pip install -e '.[dev]')"}
    from thoth import testing

    calls, rounds = (50, 2) if smoke else (2000, 6)
    with tempfile.TemporaryDirectory(prefix="thoth-otel-bench-") as tmp:
        server = ThothServer(Path(tmp), api_key="thoth_bench_" + secrets.token_hex(8))
        server.start()
        try:
            return {
                "allow": compare(server, "block", calls, rounds),
                # calls per round stay under the event buffer (10,000): no event is dropped
                "observe": compare(server, "observe", calls, rounds),
            }
        finally:
            testing.reset()
            server.stop()


if __name__ == "__main__":
    print(json.dumps(run(smoke="--smoke" in sys.argv), indent=2))
