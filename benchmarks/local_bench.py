"""Local decisions (``decision_mode="local"``): overhead per call, decisions/s, and an outage.

``run(smoke)`` starts a real ``thoth serve`` on 127.0.0.1 (a 10-rule policy, SQLite in a temp
dir), governs a no-op tool in this process with ``decision_mode="local"`` and events on, and
measures, with ``time.perf_counter_ns`` per call:

* the overhead of a local ALLOW and of a local BLOCK over a direct call of the tool (median,
  p99), the events of each call going to the server in the background as usual;
* decisions per second in one thread (``LocalEnforcer.check`` in a loop, events not involved);
* the enforcer stopped for 60 s (``--smoke``: 2 s) while the agent calls at 50 calls/s: every
  call must still be decided, and every event delivered once the enforcer is back.

Run alone with ``python -m benchmarks.local_bench [--smoke]``.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks._server import ThothServer

TENANT = "bench-tenant"
TARGETS = {"median_us": 20.0, "p99_us": 100.0, "decisions_per_s": 50_000.0}
POLICY = """
version: 1
tags:
  reads_secrets: [get_secret, "vault_*"]
  sends_data_out: [send_email, "http_*"]
rules:
  - {id: no-deletes, tools: ["delete_*"], decision: BLOCK}
  - {id: big-refund, tools: [issue_refund], when: "args.amount >= 1000", decision: STEP_UP}
  - {id: external-mail, tools: [send_email], when: '!args.to.endsWith("@acme.com")', decision: STEP_UP}
  - {id: no-exfiltration, after_tags: [reads_secrets], tags: [sends_data_out], decision: BLOCK}
  - {id: search-budget, tools: [web_search], limit: {calls_per_tool: 500}, decision: BLOCK}
  - {id: mask, tools: [lookup_customer], decision: MODIFY, modify: {mask: [ssn]}}
  - {id: prod-export, tools: [export_report], environments: [prod], decision: STEP_UP}
  - {id: trusted, agents: ["trusted-*"], tools: [web_search], decision: ALLOW}
  - {id: busy, when: "session.calls > 100000 && tool == 'http_get'", decision: BLOCK}
  - {id: large-query, tools: [lookup], when: "size(args.query) > 1000", decision: BLOCK}
"""


def lookup(query: str, limit: int = 5) -> str:
    return "ok"


def delete_record(record_id: str) -> str:
    return "deleted"


def _summary(samples: list[int], offset_ns: float = 0.0) -> dict[str, float]:
    values = sorted(v - offset_ns for v in samples)
    return {
        "median_us": round(statistics.median(values) / 1000, 2),
        "p99_us": round(values[min(len(values) - 1, int(len(values) * 0.99))] / 1000, 2),
        "n": len(values),
    }


def _agent(server: ThothServer, cache: Path, session: str) -> dict[str, Any]:
    import thoth

    tools = thoth.instrument(
        [lookup, delete_record],
        agent_id="bench-local",
        approved_scope=["lookup", "delete_record"],
        tenant_id=TENANT,
        api_url=server.url,
        api_key=server.api_key,
        enforcement="block",
        decision_mode="local",
        bundle_cache_dir=str(cache),
        session_id=session,
        tool_inventory=False,
    )
    return {fn.__name__: fn for fn in tools}


def _timed(fn: Any, n: int, *args: Any) -> list[int]:
    import thoth

    samples = []
    pc = time.perf_counter_ns
    for _ in range(n):
        start = pc()
        with contextlib.suppress(thoth.ThothPolicyViolation):
            fn(*args)
        samples.append(pc() - start)
    return samples


def overhead(server: ThothServer, cache: Path, calls: int, rounds: int) -> dict[str, Any]:
    """Governed local ALLOW and BLOCK against a direct call, alternating in rounds."""
    import thoth

    session = f"bench-local-{uuid.uuid4()}"
    tools = _agent(server, cache, session)
    direct: list[int] = []
    allow: list[int] = []
    block: list[int] = []
    for _ in range(rounds):
        direct += _timed(lookup, calls, "weather in Paris")
        allow += _timed(tools["lookup"], calls, "weather in Paris")
        block += _timed(tools["delete_record"], calls, "r-1")
        thoth.flush(30.0)  # each round starts with the event queue empty, as an agent's would be
    floor = statistics.median(direct)
    return {
        "direct_call": _summary(direct),
        "local_allow_overhead": _summary(allow, floor),
        "local_block_overhead": _summary(block, floor),
        "events_delivered": thoth.delivery_stats()["sent"],
    }


def decisions_per_second(server: ThothServer, cache: Path, n: int) -> dict[str, Any]:
    """``LocalEnforcer.check`` in a loop in one thread, over 100 sessions (no events)."""
    import thoth

    tracer = thoth.create_tracer(
        agent_id="bench-local",
        approved_scope=["lookup"],
        tenant_id=TENANT,
        api_url=server.url,
        api_key=server.api_key,
        decision_mode="local",
        bundle_cache_dir=str(cache),
        enforcement="block",
    )
    check = tracer._enforcer.check
    args = {"query": "weather in Paris", "limit": 5}
    started = time.perf_counter()
    for index in range(n):
        check("lookup", f"s-{index % 100}", [], args)
    elapsed = time.perf_counter() - started
    return {"decisions": n, "decisions_per_s": round(n / elapsed), "sessions": 100}


def outage(server: ThothServer, cache: Path, seconds: float, rate: int) -> dict[str, Any]:
    """The enforcer stopped while the agent keeps calling: decided calls, stored events."""
    import thoth

    session = f"bench-outage-{uuid.uuid4()}"
    tools = _agent(server, cache, session)
    thoth.flush(10.0)
    server.stop()
    decided = refused = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            tools["lookup"]("during the outage")
            decided += 1
        except thoth.ThothPolicyViolation:
            refused += 1
        time.sleep(1.0 / rate)
    server.start()
    expected = 2 * (decided + refused)
    back = time.monotonic()
    stored, _ = server.wait_for_events(TENANT, session, expected, timeout=120.0)
    return {
        "outage_seconds": seconds,
        "calls": decided + refused,
        "decided_locally": decided,
        "refused": refused,
        "events_expected": expected,
        "events_stored": stored,
        "events_lost": expected - stored,
        "seconds_to_deliver_after_restart": round(time.monotonic() - back, 2),
        "sdk_dropped": thoth.delivery_stats()["dropped_total"],
    }


def run(smoke: bool = False) -> dict[str, Any]:
    from thoth import testing

    with tempfile.TemporaryDirectory(prefix="thoth-local-bench-") as tmp:
        workdir = Path(tmp)
        (workdir / "policy.yaml").write_text(POLICY, encoding="utf-8")
        server = ThothServer(workdir, api_key="thoth_bench_" + secrets.token_hex(8))
        server.extra_args = ["--policy", str(workdir / "policy.yaml")]
        server.start()
        try:
            cache = workdir / "bundles"
            results = {
                "overhead": overhead(server, cache, calls=50 if smoke else 2000, rounds=2 if smoke else 5),
                "throughput": decisions_per_second(server, cache, 2_000 if smoke else 200_000),
            }
            testing.reset()
            results["outage"] = outage(server, cache, 2.0 if smoke else 60.0, 50)
        finally:
            testing.reset()
            server.stop()
    results["targets"] = {
        "local_allow_median_us": results["overhead"]["local_allow_overhead"]["median_us"]
        <= TARGETS["median_us"],
        "local_allow_p99_us": results["overhead"]["local_allow_overhead"]["p99_us"] <= TARGETS["p99_us"],
        "local_block_median_us": results["overhead"]["local_block_overhead"]["median_us"]
        <= TARGETS["median_us"],
        "decisions_per_s": results["throughput"]["decisions_per_s"] >= TARGETS["decisions_per_s"],
        "outage_no_event_lost": results["outage"]["events_lost"] == 0 and results["outage"]["refused"] == 0,
    }
    return results


if __name__ == "__main__":
    print(json.dumps(run(smoke="--smoke" in sys.argv), indent=2))
