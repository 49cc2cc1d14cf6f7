"""Benchmark worker: runs inside one SDK's virtualenv and answers JSON-line commands.

The harness starts one worker per SDK (``.venv`` for ours, ``benchmarks/.venv-aten``
for aten-thoth 0.1.10), so each SDK runs in its own interpreter with its own
dependencies. The same file drives both: both SDKs share the legacy low-level API
(``ThothConfig``, ``SessionContext``, ``HttpEmitter``, ``EnforcerClient``,
``StepUpClient``, ``Tracer.wrap_tool``); only emission and draining differ, in
:class:`_Sdk`. This file imports nothing from the ``benchmarks`` package.

Protocol: one JSON object per line on stdin (``{"cmd": ..., ...}``), one JSON
object per line on the protocol pipe (the original stdout). Everything else the
SDKs print goes to stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib.metadata
import json
import os
import platform
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx

TOOL = "lookup"
ARGS: dict[str, Any] = {"query": "weather in Paris", "limit": 5}
PC = time.perf_counter_ns


def lookup(query: str, limit: int = 5) -> str:
    """The tool being governed: does nothing, so all measured time is governance."""
    return "ok"


async def alookup(query: str, limit: int = 5) -> str:
    return "ok"


def _which_sdk() -> tuple[str, str]:
    for dist in ("aten-thoth", "thoth-sdk"):
        try:
            return dist, importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    raise SystemExit("no Thoth SDK installed in this interpreter")


class _Sdk:
    """One governed agent (tracer + wrapped tools) built through the legacy low-level API."""

    def __init__(self, url: str, api_key: str, tenant: str, mode: str, session_id: str | None = None):
        from thoth.emitter import HttpEmitter
        from thoth.enforcer_client import EnforcerClient
        from thoth.models import EnforcementMode, EventType, ThothConfig
        from thoth.session import SessionContext
        from thoth.step_up import StepUpClient
        from thoth.tracer import Tracer

        self.dist, _ = _which_sdk()
        config = ThothConfig(
            agent_id="bench-agent",
            approved_scope=[TOOL],
            tenant_id=tenant,
            enforcement=EnforcementMode(mode),
            api_key=api_key,
            api_url=url,
        )
        self.session = SessionContext(config, session_id=session_id)
        self.emitter = HttpEmitter(api_url=url, api_key=api_key)
        self.tracer = Tracer(
            config=config,
            session=self.session,
            emitter=self.emitter,
            enforcer=EnforcerClient(config),
            step_up=StepUpClient(config),
        )
        self.sync_tool = self.tracer.wrap_tool(TOOL, lookup)
        self.async_tool = self.tracer.wrap_tool(TOOL, alookup)
        self._pre = EventType.TOOL_CALL_PRE
        self.ingest_status: dict[str, int] = {}
        if self.dist == "aten-thoth":  # it keeps no counters: watch its ingest answers (read-only hook)
            self.emitter._http.event_hooks["response"].append(self._count_status)
        self._emit_one = self._emit_aten if self.dist == "aten-thoth" else self._emit_ours

    def _count_status(self, response: httpx.Response) -> None:
        key = str(response.status_code)
        self.ingest_status[key] = self.ingest_status.get(key, 0) + 1

    # What the tracer does on the agent thread for one TOOL_CALL_PRE event.
    def _emit_ours(self) -> None:
        self.tracer._record(self._pre, TOOL, dict(ARGS), {"call_id": uuid.uuid4().hex})

    def _emit_aten(self) -> None:
        self.tracer._emit(TOOL, self._pre, str(((), ARGS)))

    def emit(self) -> None:
        self._emit_one()

    @contextlib.contextmanager
    def events_off(self) -> Iterator[None]:
        """Diagnostic only: the tracer emits nothing while inside."""
        hook = "_emit" if self.dist == "aten-thoth" else "_record"
        setattr(self.tracer, hook, _ignore)
        try:
            yield
        finally:
            delattr(self.tracer, hook)  # back to the class's method

    def queued(self) -> int:
        if self.dist == "aten-thoth":
            return int(self.emitter._queue.qsize())
        return int(self.emitter.delivery_stats()["pending"])

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until the background sender has nothing left (outside any timed region)."""
        if self.dist != "aten-thoth":
            done = bool(self.emitter.flush(timeout))
        else:
            deadline = time.monotonic() + timeout
            while self.queued() and time.monotonic() < deadline:
                time.sleep(0.005)
            done = self.queued() == 0
        time.sleep(0.05)  # let the batch in flight (aten has no flush) and the server's writer settle
        return done

    def stats(self) -> dict[str, Any]:
        if self.dist == "aten-thoth":
            return {
                "queued": self.queued(),
                "ingest_http_status": dict(self.ingest_status),
                "note": "aten-thoth keeps no delivery counters",
            }
        stats = dict(self.emitter.delivery_stats())
        stats.pop("endpoint", None)
        return stats


class Worker:
    def __init__(self) -> None:
        self.dist, self.version = _which_sdk()
        self.loop = asyncio.new_event_loop()
        self.sdks: dict[str, _Sdk] = {}
        self.floor: httpx.Client | None = None
        self.afloor: httpx.AsyncClient | None = None
        self.body: dict[str, Any] = {}

    # ---- commands -----------------------------------------------------------------------
    def cmd_info(self) -> dict[str, Any]:
        versions = {}
        for dist in (self.dist, "httpx", "pydantic", "boto3"):
            with contextlib.suppress(importlib.metadata.PackageNotFoundError):
                versions[dist] = importlib.metadata.version(dist)
        return {
            "sdk": self.dist,
            "sdk_version": self.version,
            "python": platform.python_version(),
            "versions": versions,
            "pid": os.getpid(),
        }

    def cmd_setup(self, url: str, api_key: str, tenant: str, warmup: int) -> dict[str, Any]:
        headers = {"x-api-key": api_key, "Authorization": f"Bearer {api_key}"}
        self.floor = httpx.Client(base_url=url, headers=headers, timeout=5.0)
        self.afloor = httpx.AsyncClient(base_url=url, headers=headers, timeout=5.0)
        for mode in ("block", "observe"):
            self.sdks[mode] = _Sdk(url, api_key, tenant, mode)
        sdk = self.sdks["block"]
        # The floor posts the body our SDK sends for this call (wire-facts fields).
        self.body = {
            "agent_id": "bench-agent",
            "tenant_id": tenant,
            "user_id": "system",
            "tool_name": TOOL,
            "session_id": sdk.session.session_id,
            "session_tool_calls": [TOOL],
            "approved_scope": [TOOL],
            "enforcement_mode": "block",
            "environment": "prod",
            "enforcement_trace_id": sdk.session.session_id,
            "tool_args": dict(ARGS),
            "action_attestation_id": uuid.uuid4().hex,
        }
        for flavor in ("sync", "async"):
            for contender in ("floor", "sdk"):
                self.cmd_allow(contender, flavor, warmup)
        self.cmd_observe(warmup)
        return {"ok": True}

    def _floor_call(self) -> None:
        assert self.floor is not None
        response = self.floor.post("/v1/enforce", json=self.body)
        if response.json()["decision"] != "ALLOW":
            raise RuntimeError(f"floor expected ALLOW, got {response.text[:200]}")

    async def _afloor_call(self) -> None:
        assert self.afloor is not None
        response = await self.afloor.post("/v1/enforce", json=self.body)
        if response.json()["decision"] != "ALLOW":
            raise RuntimeError(f"floor expected ALLOW, got {response.text[:200]}")

    def cmd_allow(self, contender: str, flavor: str, n: int) -> dict[str, Any]:
        """Per-call latency (ns) of one governed ALLOW call, or of the plain POST floor.

        ``contender``: "floor", "sdk", or "sdk_noevents" (diagnostic: the tracer's event
        hook is a no-op, so no event traffic competes with the call for this machine's CPUs).
        """
        sdk = self.sdks["block"]
        clear = sdk.session.tool_calls.clear  # same body every call (session_tool_calls=[tool])
        with sdk.events_off() if contender == "sdk_noevents" else contextlib.nullcontext():
            if flavor == "sync":
                fn: Callable[[], Any] = (
                    self._floor_call if contender == "floor" else lambda: sdk.sync_tool(**ARGS)
                )
                samples = _time_sync(fn, n, clear)
            else:
                afn = self._afloor_call if contender == "floor" else lambda: sdk.async_tool(**ARGS)
                samples = self.loop.run_until_complete(_time_async(afn, n, clear))
        if contender == "sdk":
            sdk.drain()  # leave no sender work behind for the next contender's block
        return {"samples": samples}

    def cmd_observe(self, n: int) -> dict[str, Any]:
        """Per-call latency (ns) in observe mode, and of calling the tool directly."""
        sdk = self.sdks["observe"]
        clear = sdk.session.tool_calls.clear
        direct = _time_sync(lambda: lookup(**ARGS), n, clear)
        governed = _time_sync(lambda: sdk.sync_tool(**ARGS), n, clear)
        sdk.drain()
        return {"direct": direct, "governed": governed}

    def cmd_emit(self, n: int) -> dict[str, Any]:
        """Agent-thread cost (ns) of emitting one TOOL_CALL_PRE event, as the tracer does."""
        sdk = self.sdks["observe"]
        empty = _time_sync(_nothing, n, _nothing)
        samples = _time_sync(sdk.emit, n, _nothing)
        sdk.drain()
        return {"samples": samples, "timer_ns": sorted(empty)[len(empty) // 2]}

    def cmd_pipeline(
        self, url: str, api_key: str, tenant: str, n: int, session_id: str, max_queued: int
    ) -> dict[str, Any]:
        """Emit n events as fast as the SDK's queue allows (never beyond max_queued)."""
        sdk = _Sdk(url, api_key, tenant, "observe", session_id=session_id)
        self.sdks[session_id] = sdk
        started = time.time()
        waited = 0
        for _ in range(n):
            while sdk.queued() >= max_queued:
                time.sleep(0.001)
                waited += 1
            sdk.emit()
        return {"started": started, "emitted_at": time.time(), "backpressure_waits": waited}

    def cmd_paced(
        self, url: str, api_key: str, tenant: str, session_id: str, n: int, seconds: float
    ) -> dict[str, Any]:
        """Emit n events evenly over ``seconds`` (used across the ingest outage)."""
        sdk = self.sdks.get(session_id) or _Sdk(url, api_key, tenant, "observe", session_id=session_id)
        self.sdks[session_id] = sdk
        start = time.monotonic()
        for i in range(n):
            delay = start + seconds * i / max(1, n) - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            sdk.emit()
        return {"emitted": n}

    def cmd_stats(self, session_id: str) -> dict[str, Any]:
        return self.sdks[session_id].stats()

    def cmd_queued(self, session_id: str) -> dict[str, Any]:
        """Events the SDK still holds for this session's endpoint (queued, in flight, retrying)."""
        return {"queued": self.sdks[session_id].queued()}

    def cmd_memory(self, url: str, api_key: str, tenant: str, n: int) -> dict[str, Any]:
        """RSS after import + setup, and after n governed ALLOW calls (fresh process)."""
        sdk = _Sdk(url, api_key, tenant, "block")
        gc.collect()
        before = _rss_kib()
        for _ in range(n):
            if sdk.sync_tool(**ARGS) != "ok":
                raise RuntimeError("governed call did not run the tool")
        sdk.drain()
        gc.collect()
        return {
            "rss_before_kib": before,
            "rss_after_kib": _rss_kib(),
            "calls": n,
            "session_tool_calls": len(sdk.session.tool_calls),
        }


def _nothing() -> None:
    return None


def _ignore(*_args: Any, **_kwargs: Any) -> None:
    return None


def _time_sync(fn: Callable[[], Any], n: int, between: Callable[[], Any]) -> list[int]:
    out = []
    append = out.append
    for _ in range(n):
        t0 = PC()
        fn()
        t1 = PC()
        append(t1 - t0)
        between()
    return out


async def _time_async(afn: Callable[[], Any], n: int, between: Callable[[], Any]) -> list[int]:
    out = []
    for _ in range(n):
        t0 = PC()
        await afn()
        t1 = PC()
        out.append(t1 - t0)
        between()
    return out


def _rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def main() -> None:
    # The protocol owns the original stdout; anything the SDKs print goes to stderr.
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    worker = Worker()
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        cmd = request.pop("cmd")
        if cmd == "exit":
            break
        try:
            reply = getattr(worker, f"cmd_{cmd}")(**request)
        except Exception as exc:  # noqa: BLE001 - a worker reports any failure and keeps serving
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        proto.write(json.dumps(reply) + "\n")
    for sdk in worker.sdks.values():
        sdk.drain(2.0)


if __name__ == "__main__":
    main()
