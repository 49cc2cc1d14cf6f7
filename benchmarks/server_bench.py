"""Enforcer figures: durable decisions/s and latency at 1 and 32 connections on SQLite and on
PostgreSQL, with one and with two replicas on one database; events stored/s; policy eval time.

``run(smoke)`` starts real ``thoth serve`` processes (uvicorn, uvloop, httptools) on 127.0.0.1
with a 10-rule policy, drives them from a separate load-generator process (a raw asyncio
HTTP/1.1 keep-alive client, so the client costs little of the shared CPU; with two replicas
the connections alternate between them), and returns the figures. On Linux the enforcer
processes are pinned to one CPU and the load generator to another; PostgreSQL (a throwaway
cluster with fsync on, from tests/_postgres.py) is not pinned. Every decision is committed
before it is answered. Run it alone with ``python -m benchmarks.server_bench [--smoke]
[--quiet-server] [--events-only]``. Event rows also give the server's CPU per event stored,
and ``sdk_sender`` our SDK's sender-thread CPU per event.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

TARGETS = {
    "decisions_per_s_at_32": 3000.0,  # SQLite, one replica
    "p99_ms_at_32": 25.0,
    "postgresql_decisions_per_s_at_32": 2000.0,  # one replica
    "events_per_s_batch_100": 30000.0,  # SQLite, one replica (issue 11)
    "server_cpu_us_per_event_batch_100": 30.0,
    "policy_eval_us_10_rules": 100.0,
}

TEN_RULE_POLICY = """
version: 1
tags:
  reads_secrets: [get_secret, "vault_*"]
  sends_data_out: [send_email, "http_*"]
rules:
  - {id: no-deletes, tools: ["delete_*"], decision: BLOCK}
  - {id: external-email, tools: [send_email], when: '!args.to.endsWith("@acme.com")', decision: STEP_UP}
  - {id: refund-limit, tools: [issue_refund], when: 'args.amount >= 1000', decision: BLOCK}
  - {id: no-exfiltration, after_tags: [reads_secrets], tags: [sends_data_out], decision: BLOCK}
  - {id: session-cap, limit: {calls: 100000}, decision: BLOCK}
  - {id: search-budget, tools: [web_search], limit: {calls_per_tool: 50000}, decision: STEP_UP}
  - {id: rate, limit: {calls_per_minute: 100000}, decision: DEFER}
  - {id: prod-deploys, tools: [deploy], environments: [prod], decision: STEP_UP}
  - {id: trim-body, tools: [send_email], when: 'size(args.body) > 2000', decision: MODIFY,
     modify: {truncate: {body: 2000}}}
  - {id: interns, agents: ["intern-*"], decision: BLOCK}
"""

TENANT = "bench-corp"


# -- the server under test ----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pin(cpu: int) -> list[str]:
    """A command prefix that pins a process to one CPU, when the machine has two or more
    (THOTH_BENCH_PIN=0 turns it off)."""
    if os.environ.get("THOTH_BENCH_PIN", "1") == "0":
        return []
    if hasattr(os, "sched_getaffinity") and len(os.sched_getaffinity(0)) >= 2:
        return ["taskset", "-c", str(sorted(os.sched_getaffinity(0))[cpu])] if _has_taskset() else []
    return []


def _has_taskset() -> bool:
    return any((Path(p) / "taskset").exists() for p in os.environ.get("PATH", "").split(os.pathsep))


class _Server:
    def __init__(self, workdir: Path, log_level: str, db_url: str, key: str, name: str = "server") -> None:
        self.key = key
        policy = workdir / "policy.yaml"
        policy.write_text(TEN_RULE_POLICY, encoding="utf-8")
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [
            *_pin(0), sys.executable, "-m", "thoth.cli", "serve", "--port", str(self.port),
            "--policy", str(policy), "--db", db_url,
            "--api-key", f"{TENANT}:{self.key}", "--log-level", log_level,
        ]  # fmt: skip
        self.log = (workdir / f"{name}.log").open("ab")
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        tail = (workdir / f"{name}.log").read_text(encoding="utf-8", errors="replace")[-1500:]
        raise RuntimeError(f"thoth serve did not start:\n{tail}")

    def cpu_seconds(self) -> float:
        """The process's CPU time so far, user + system, over all its threads (Linux /proc)."""
        return process_cpu_seconds(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def process_cpu_seconds(pid: int, stat_path: str = "") -> float:
    """utime + stime of ``pid`` from /proc/<pid>/stat (clock ticks; 10 ms on most kernels), or
    NaN where there is no /proc. The fields after the command name, which may hold spaces, are
    counted from its closing parenthesis."""
    try:
        stat = Path(stat_path or f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return float("nan")
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- the load generator (runs in its own process) ------------------------------------------------------


def _enforce_body(connection: int, index: int) -> bytes:
    # a fresh session every 200 calls per connection, so session loads are part of the mix
    session = f"bench-{connection}-{index // 200}"
    body = {
        "agent_id": "bench-agent",
        "tenant_id": TENANT,
        "user_id": "bench",
        "tool_name": "send_email" if index % 2 else "read_file",
        "session_id": session,
        "session_tool_calls": ["read_file"],
        "approved_scope": ["read_file", "send_email"],
        "enforcement_mode": "progressive",
        "tool_args": {"to": "bob@acme.com", "subject": "report", "body": "x" * 200},
    }
    return json.dumps(body, separators=(",", ":")).encode()


def _event_batches(batch_size: int, batches: int, ids: str = "uuid4") -> list[bytes]:
    """Sound chained batches, one new session each; ``ids``: "uuid4" (released clients) or
    "uuid7" (time-ordered, as our SDK sends them: the store's event-id index then grows at
    its end instead of at a random page per event)."""
    from thoth._chain import event_hash
    from thoth._sender import uuid7

    new_id = uuid7 if ids == "uuid7" else lambda: str(uuid.uuid4())

    payloads = []
    for batch in range(batches):
        session = f"bench-events-{uuid.uuid4()}"
        previous = ""
        events = []
        for index in range(batch_size):
            event = {
                "event_id": new_id(),
                "tenant_id": TENANT,
                "agent_id": "bench-agent",
                "session_id": session,
                "user_id": "bench",
                "source_type": "agent_tool_call",
                "event_type": "TOOL_CALL_POST" if index % 2 else "TOOL_CALL_PRE",
                "tool_name": "read_file",
                "content": json.dumps({"path": f"/data/{batch}/{index}.txt", "bytes": 1234}),
                "metadata": {"latency_ms": 1.5},
                "enforcement_mode": "progressive",
                "occurred_at": "2026-11-25T10:00:00.123456Z",
                "chain_index": index,
                "previous_hash": previous,
            }
            event["hash"] = event_hash(event)
            previous = event["hash"]
            events.append(event)
        payloads.append(json.dumps(events, separators=(",", ":")).encode())
    return payloads


def _request(path: str, key: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


_LENGTH = re.compile(rb"content-length:\s*(\d+)", re.IGNORECASE)


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> bytes:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    match = _LENGTH.search(head)
    body = await reader.readexactly(int(match.group(1))) if match else b""
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"unexpected response: {head[:60]!r} {body[:200]!r}")
    return body


async def _decisions(
    ports: list[int], key: str, connections: int, warmup: float, duration: float
) -> dict[str, Any]:
    latencies: list[float] = []
    started = time.perf_counter()
    measure_from = started + warmup
    stop_at = measure_from + duration

    async def worker(connection: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", ports[connection % len(ports)])
        index = 0
        while True:
            request = _request("/v1/enforce", key, _enforce_body(connection, index))
            sent = time.perf_counter()
            if sent >= stop_at:
                break
            await _exchange(reader, writer, request)
            if sent >= measure_from:
                latencies.append(time.perf_counter() - sent)
            index += 1
        writer.close()

    await asyncio.gather(*(worker(c) for c in range(connections)))
    latencies.sort()
    return {
        "connections": connections,
        "requests": len(latencies),
        "decisions_per_s": round(len(latencies) / duration, 1),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 3),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 3),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 3),
    }


async def _events(
    ports: list[int], key: str, batch_size: int, batches: int, connections: int, ids: str
) -> dict[str, Any]:
    payloads = [_request("/v1/events/batch", key, p) for p in _event_batches(batch_size, batches, ids)]
    accepted = 0
    queue = list(reversed(payloads))

    async def worker(connection: int) -> None:
        nonlocal accepted
        reader, writer = await asyncio.open_connection("127.0.0.1", ports[connection % len(ports)])
        while queue:
            body = await _exchange(reader, writer, queue.pop())
            result = json.loads(body)
            if result["chain_breaks"]:
                raise RuntimeError(f"chain breaks in a sound batch: {result}")
            accepted += result["accepted"]
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in range(connections)))
    elapsed = time.perf_counter() - started
    return {
        "batch_size": batch_size,
        "ids": ids,
        "events": accepted,
        "seconds": round(elapsed, 3),
        "events_per_s": round(accepted / elapsed, 1),
    }


def _sdk_sender(ports: list[int], key: str, batch_size: int, count: int) -> dict[str, Any]:
    """Our SDK's sender thread posting ``count`` tracer-shaped events: its CPU per event (the
    thread's own, from /proc/self/task: redaction, canonical JSON, hashing, the POSTs)."""
    from thoth.emitter import HttpEmitter

    emitter = HttpEmitter(f"http://127.0.0.1:{ports[0]}", key, batch_size=batch_size, max_events=count)
    sender = emitter._sender
    fields = {
        "tenant_id": TENANT, "agent_id": "bench-agent", "user_id": "bench", "tool_name": "lookup",
        "approved_scope": ["lookup"], "enforcement_mode": "block", "violation_id": None,
    }  # fmt: skip
    started = time.perf_counter()
    for index in range(count):
        event = fields | {
            "session_id": f"bench-sender-{index // 200}",
            "event_type": "TOOL_CALL_POST" if index % 2 else "TOOL_CALL_PRE",
            "session_tool_calls": ["lookup"],
        }
        sender.submit(event, {"query": "q", "limit": 3}, {"call_id": f"c-{index // 2}"}, _content())
    if not emitter.flush(120.0):
        raise RuntimeError(f"the sender did not deliver in time: {emitter.delivery_stats()}")
    elapsed = time.perf_counter() - started
    thread = sender._thread
    cpu = _thread_cpu_seconds(thread.native_id) if thread is not None and thread.native_id else float("nan")
    stats = emitter.delivery_stats()
    return {
        "batch_size": batch_size,
        "events": stats["sent"],
        "seconds": round(elapsed, 3),
        "events_per_s": round(stats["sent"] / elapsed, 1),
        "sender_cpu_us_per_event": round(cpu / max(1, stats["sent"]) * 1e6, 1),
    }


def _content() -> Any:
    from thoth._sender import DEFAULT_CONTENT

    return DEFAULT_CONTENT


def _thread_cpu_seconds(native_id: int) -> float:
    return process_cpu_seconds(native_id, f"/proc/self/task/{native_id}/stat")


def _loadgen(spec: dict[str, Any]) -> dict[str, Any]:
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    ports, key = spec["ports"], spec["key"]
    if spec["kind"] == "decisions":
        return asyncio.run(_decisions(ports, key, spec["connections"], spec["warmup"], spec["duration"]))
    if spec["kind"] == "sender":
        return _sdk_sender(ports, key, spec["batch_size"], spec["events"])
    events = _events(ports, key, spec["batch_size"], spec["batches"], spec["connections"], spec["ids"])
    return asyncio.run(events)


def _run_loadgen(spec: dict[str, Any]) -> dict[str, Any]:
    command = [*_pin(1), sys.executable, str(Path(__file__).resolve()), "--loadgen", json.dumps(spec)]
    output = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if output.returncode != 0:
        raise RuntimeError(f"load generator failed: {output.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(output.stdout.strip().splitlines()[-1])
    return result


@contextlib.contextmanager
def _servers(log_level: str, store: str, replicas: int) -> Iterator[dict[str, Any]]:
    """``replicas`` enforcers on one fresh database of ``store`` ("sqlite" or "postgresql")."""
    with tempfile.TemporaryDirectory(prefix="thoth-bench-") as tmp, _database(store, Path(tmp)) as db_url:
        key = "thoth_bench_" + secrets.token_hex(12)
        servers: list[_Server] = []
        try:
            for replica in range(replicas):
                servers.append(_Server(Path(tmp), log_level, db_url, key, f"server{replica}"))
            yield {
                "ports": [server.port for server in servers],
                "key": key,
                "pids": [s.process.pid for s in servers],
            }
        finally:
            for server in servers:
                server.stop()


@contextlib.contextmanager
def _database(store: str, workdir: Path) -> Iterator[str]:
    if store == "sqlite":
        yield f"sqlite:///{workdir / 'bench.db'}"
        return
    from tests._postgres import Cluster

    with Cluster(fsync=True) as cluster:  # durable commits, as in production
        yield cluster.fresh_database()


def postgres_missing() -> str | None:
    """Why PostgreSQL cannot be measured here, or None."""
    try:
        from tests._postgres import missing_reason
    except ImportError as exc:  # the benchmark runs from a checkout; tests/ should be there
        return f"tests/_postgres.py cannot be imported: {exc}"
    return missing_reason()


# -- policy evaluation, in process ---------------------------------------------------------------------


def policy_eval_us(iterations: int) -> dict[str, Any]:
    from thoth.policy import Call, SessionRecord, apply_mode, load_policy
    from thoth.server.schemas import EnforceRequest

    policy = load_policy(TEN_RULE_POLICY, "bench.yaml")
    record = SessionRecord()
    now = time.time()
    for tool in ("read_file", "web_search", "read_file"):
        record.ran(tool, now)
    request = EnforceRequest(
        tool_name="send_email",
        tool_args={"to": "bob@acme.com", "subject": "report", "body": "x" * 200},
        agent_id="bench-agent",
        user_id="bench",
        tenant_id=TENANT,
        session_id="bench-session",
        environment="prod",
        enforcement_mode="progressive",
        approved_scope=["read_file", "send_email"],
    )
    call = Call.from_request(request)
    for _ in range(1000):  # warm caches
        policy.evaluate(call, record, now)
    rounds = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(iterations):
            apply_mode(policy.evaluate(call, record, now), call.mode, False)
        rounds.append((time.perf_counter() - started) / iterations * 1e6)
    engine = policy.engine.name if policy.engine else "none"
    return {"rules": len(policy.rules), "cel_engine": engine, "us_per_decision": round(min(rounds), 2)}


def receipt_us(iterations: int) -> dict[str, Any]:
    """What a signed receipt adds to one decision (claims, canonical JSON, Ed25519), and what
    an auditor pays to verify one; min of five rounds, in process."""
    from thoth import _signing, receipts

    signer = receipts.ReceiptSigner(_signing.generate_private_key())
    args = {"to": "bob@acme.com", "subject": "report", "body": "x" * 200}

    def claims() -> dict[str, Any]:
        return receipts.build_claims(
            tenant_id=TENANT,
            agent_id="bench-agent",
            session_id="bench-session",
            tool_name="send_email",
            tool_args=args,
            decision="ALLOW",
            decision_reason_code=None,
            matched_rule_ids=["external-email"],
            policy_version="0123456789abcdef",
            issued_at=time.time(),
        )

    receipt = signer.issue(claims())

    def best(step: Any) -> float:
        rounds = []
        for _ in range(5):
            started = time.perf_counter()
            for _ in range(iterations):
                step()
            rounds.append((time.perf_counter() - started) / iterations * 1e6)
        return round(min(rounds), 2)

    return {
        "us_per_signed_receipt": best(lambda: signer.issue(claims())),
        "us_per_verify": best(lambda: receipts.verify_receipt(receipt, signer.public_key_pem)),
    }


# -- the entry point ---------------------------------------------------------------------------------------


DECISION_SETUPS = (  # (store, replicas, connections)
    ("sqlite", 1, 1),
    ("sqlite", 1, 32),
    ("sqlite", 2, 32),
    ("postgresql", 1, 1),
    ("postgresql", 1, 32),
    ("postgresql", 2, 32),
)


def run(smoke: bool = False, log_level: str = "info", events_only: bool = False) -> dict[str, Any]:
    """Measure the enforcer; ``smoke`` runs briefly, to check that the benchmark works;
    ``events_only`` measures event ingest alone (the decision rows are then absent)."""
    warmup, duration = (0.3, 1.0) if smoke else (2.0, 8.0)
    events = 400 if smoke else 40_000
    results: dict[str, Any] = {"smoke": smoke, "server_log_level": log_level, "cpus": os.cpu_count()}
    if not events_only:
        results["policy_eval"] = policy_eval_us(500 if smoke else 20_000)
        results["receipts"] = receipt_us(200 if smoke else 5_000)
    missing = postgres_missing()
    stores = ["sqlite"] if missing else ["sqlite", "postgresql"]
    if missing:
        results["postgresql_skipped"] = missing
    results["decisions"] = []
    for store, replicas, connections in DECISION_SETUPS:
        if events_only or store not in stores or (smoke and replicas > 1):
            continue
        with _servers(log_level, store, replicas) as servers:
            spec = {"kind": "decisions", "connections": connections, "warmup": warmup, "duration": duration}
            row = _run_loadgen(servers | spec)
        results["decisions"].append({"store": store, "replicas": replicas} | row)
    results["events"] = []
    for store, ids in (*((store, "uuid4") for store in stores), ("sqlite", "uuid7")):
        for size in (10, 100):
            spec = {"kind": "events", "batch_size": size, "connections": 4, "batches": events // size}
            row = _measured_events(log_level, store, spec | {"ids": ids})
            results["events"].append({"store": store} | row)
    results["sdk_sender"] = []
    for size in (10, 100):  # 10: the SDK's default batch
        spec = {"kind": "sender", "batch_size": size, "events": events // 2}
        results["sdk_sender"].append({"store": "sqlite"} | _measured_events(log_level, "sqlite", spec))
    results["targets"] = TARGETS
    results["meets_targets"] = _meets(results)
    return results


def _measured_events(log_level: str, store: str, spec: dict[str, Any]) -> dict[str, Any]:
    """One events run on a fresh store (no order effects), with the server's CPU per event stored:
    its process's user + system time across the run (every thread: HTTP, validation, chain
    check, the writer), divided by the events accepted."""
    with _servers(log_level, store, 1) as servers:
        before = sum(process_cpu_seconds(pid) for pid in servers["pids"])
        row = _run_loadgen(servers | spec)
        cpu = sum(process_cpu_seconds(pid) for pid in servers["pids"]) - before
    row["server_cpu_us_per_event"] = round(cpu / max(1, row["events"]) * 1e6, 1)
    return row


def _meets(results: dict[str, Any]) -> dict[str, bool | None]:
    def decisions(store: str) -> dict[str, Any] | None:
        rows = [
            r for r in results["decisions"] if (r["store"], r["replicas"], r["connections"]) == (store, 1, 32)
        ]
        return rows[0] if rows else None

    def events(store: str, size: int) -> dict[str, Any] | None:
        rows = [
            r for r in results["events"] if (r["store"], r["batch_size"], r["ids"]) == (store, size, "uuid4")
        ]
        return rows[0] if rows else None

    sqlite, postgres, sqlite_events = decisions("sqlite"), decisions("postgresql"), events("sqlite", 100)
    return {
        "decisions_per_s_at_32": sqlite["decisions_per_s"] >= TARGETS["decisions_per_s_at_32"]
        if sqlite
        else None,
        "p99_ms_at_32": sqlite["p99_ms"] < TARGETS["p99_ms_at_32"] if sqlite else None,
        "postgresql_decisions_per_s_at_32": postgres["decisions_per_s"]
        >= TARGETS["postgresql_decisions_per_s_at_32"]
        if postgres
        else None,
        "events_per_s_batch_100": sqlite_events["events_per_s"] >= TARGETS["events_per_s_batch_100"]
        if sqlite_events
        else None,
        "server_cpu_us_per_event_batch_100": sqlite_events["server_cpu_us_per_event"]
        <= TARGETS["server_cpu_us_per_event_batch_100"]
        if sqlite_events
        else None,
        "policy_eval_us_10_rules": results["policy_eval"]["us_per_decision"]
        < TARGETS["policy_eval_us_10_rules"]
        if "policy_eval" in results
        else None,
    }


def main(argv: list[str]) -> int:
    if argv[:1] == ["--loadgen"]:
        print(json.dumps(_loadgen(json.loads(argv[1]))))
        return 0
    level = "warning" if "--quiet-server" in argv else "info"
    figures = run(smoke="--smoke" in argv, log_level=level, events_only="--events-only" in argv)
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
