"""The enforcer's OpenTelemetry (``thoth serve --otel``): spans for enforce and ingest, as children
of the request's traceparent, with the decision's attributes and no argument; the metrics; ERROR
on a refused request; and nothing imported when off. In process, with the SDK's in-memory
exporter and reader (the real opentelemetry-sdk)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from thoth.policy import load_policy
from thoth.server import ServerConfig, create_app
from thoth.server.auth import KeySpec
from thoth.server.config import build_config

KEY = "thoth_otel_test_key"
TENANT = "acme"
POLICY_TEXT = "rules:\n  - {id: no-deletes, tools: ['delete_*'], decision: BLOCK}\n"
SECRET_ARG = "ARG-never-in-a-span-4711"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_SPAN_ID = "00f067aa0ba902b7"


class Otel:
    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.metrics = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.metrics])

    def points(self) -> dict[str, list[Any]]:
        data = self.metrics.get_metrics_data()
        found: dict[str, list[Any]] = {}
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    found.setdefault(metric.name, []).extend(metric.data.data_points)
        return found


@pytest.fixture
def otel(monkeypatch: pytest.MonkeyPatch) -> Otel:
    monkeypatch.delenv("OTEL_SDK_DISABLED", raising=False)  # .ci/run sets it (for CrewAI)
    monkeypatch.delenv("THOTH_OTEL", raising=False)
    return Otel()


def otel_config(otel: Otel, tmp_path: Path) -> ServerConfig:
    """An enforcer on a fresh SQLite store with --otel on the test's own providers."""
    return ServerConfig(
        db_url=f"sqlite:///{tmp_path / 'thoth.db'}",
        api_keys=(KeySpec.parse(f"{TENANT}:{KEY}"),),
        policy=load_policy(POLICY_TEXT, "policy.yaml"),
        otel=True,
        otel_tracer_provider=otel.tracer_provider,
        otel_meter_provider=otel.meter_provider,
    )


@pytest.fixture
async def client(otel: Otel, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    config = otel_config(otel, tmp_path)
    app = create_app(config)
    enforcer = app.state.enforcer
    enforcer.open()  # what the lifespan does
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://127.0.0.1", headers={"x-api-key": KEY}
        ) as http:
            yield http
    finally:
        await enforcer.aclose()


async def enforce(client: httpx.AsyncClient, tool: str, **headers: str) -> dict[str, Any]:
    body = {
        "agent_id": "otel-agent",
        "tenant_id": TENANT,
        "session_id": "otel-session",
        "tool_name": tool,
        "tool_args": {"note": SECRET_ARG},
        "approved_scope": ["read_file", "delete_file"],
        "enforcement_mode": "block",
    }
    response = await client.post("/v1/enforce", json=body, headers=headers)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def test_enforce_spans_continue_the_callers_trace_and_carry_the_decision(
    client: httpx.AsyncClient, otel: Otel
) -> None:
    traceparent = f"00-{TRACE_ID}-{PARENT_SPAN_ID}-01"
    blocked = await enforce(client, "delete_file", traceparent=traceparent)
    allowed = await enforce(client, "read_file")
    first, second = otel.spans.get_finished_spans()
    assert (first.name, first.kind, second.name) == ("thoth.enforce", SpanKind.SERVER, "thoth.enforce")
    assert first.context.trace_id == int(TRACE_ID, 16)
    assert first.parent is not None and first.parent.span_id == int(PARENT_SPAN_ID, 16)
    assert second.parent is None  # no traceparent: a trace of its own
    assert dict(first.attributes or {}) == {
        "gen_ai.tool.name": "delete_file",
        "thoth.decision": "BLOCK",
        "thoth.reason_code": "POLICY_RULE",
        "thoth.rule_ids": ("no-deletes",),
        "thoth.decision_id": blocked["decision_id"],
        "thoth.policy_version": blocked["policy_version"],
    }
    assert dict(second.attributes or {})["thoth.decision_id"] == allowed["decision_id"]
    assert first.status.status_code is StatusCode.UNSET  # a BLOCK answered is not a server error
    assert SECRET_ARG not in json.dumps([dict(s.attributes or {}) for s in (first, second)])

    points = otel.points()
    counts = {(p.attributes["thoth.decision"], p.value) for p in points["thoth.server.decisions"]}
    assert counts == {("BLOCK", 1), ("ALLOW", 1)}
    assert sum(p.count for p in points["thoth.server.decision.duration"]) == 2


async def test_ingest_spans_count_the_batch_and_a_refused_request_is_an_error(
    client: httpx.AsyncClient, otel: Otel
) -> None:
    event = {
        "event_id": str(uuid.uuid4()),
        "tenant_id": TENANT,
        "agent_id": "otel-agent",
        "session_id": "otel-session",
        "user_id": "tester",
        "source_type": "agent_tool_call",
        "event_type": "TOOL_CALL_PRE",
        "tool_name": "read_file",
        "content": SECRET_ARG,
        "metadata": {},
        "occurred_at": "2026-12-07T10:00:00.000000Z",
    }
    assert (await client.post("/v1/events/batch", json=[event])).json()["accepted"] == 1
    assert (await client.post("/v1/events/batch", json=[event])).json()["duplicates"] == 1
    refused = await client.post("/v1/enforce", json={}, headers={"x-api-key": "wrong"})
    assert refused.status_code == 401
    first, second, error = otel.spans.get_finished_spans()
    assert (first.name, second.name, error.name) == ("thoth.ingest", "thoth.ingest", "thoth.enforce")
    assert dict(first.attributes or {}) == {
        "thoth.events.received": 1,
        "thoth.events.accepted": 1,
        "thoth.events.duplicate": 0,
        "thoth.events.conflict": 0,
        "thoth.events.chain_break": 0,
    }
    assert dict(second.attributes or {})["thoth.events.duplicate"] == 1
    assert (error.status.status_code, error.status.description) == (StatusCode.ERROR, "ApiError")
    events = {(p.attributes["outcome"], p.value) for p in otel.points()["thoth.server.events"]}
    assert events == {("accepted", 1), ("duplicate", 1)}
    assert SECRET_ARG not in json.dumps([dict(s.attributes or {}) for s in (first, second)])


def test_off_the_server_never_imports_opentelemetry_and_the_env_turns_it_on(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from thoth.server import ServerConfig, create_app\n"
        "from thoth.server.auth import KeySpec\n"
        f"app = create_app(ServerConfig(db_url='sqlite:///{tmp_path / 'off.db'}', "
        "api_keys=(KeySpec.parse('acme:k'),)))\n"
        "app.state.enforcer.close()\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert ran.stdout.strip() == "[]"
    assert build_config(api_keys=["acme:k"], environ={"THOTH_SERVER_OTEL": "on"}).otel
    assert not build_config(api_keys=["acme:k"], environ={}).otel
    with pytest.raises(ValueError, match="THOTH_SERVER_OTEL must be true or false"):
        build_config(api_keys=["acme:k"], environ={"THOTH_SERVER_OTEL": "maybe"})


def test_an_agents_trace_continues_into_the_enforcer(otel: Otel, tmp_path: Path) -> None:
    """SDK (otel=True) -> HTTP -> the enforcer on a real port: the server's thoth.enforce span is
    the child of the SDK's thoth.enforce span, itself the child of the tool's span."""
    import threading

    import uvicorn

    import thoth
    from tests.conftest import free_port

    config = otel_config(otel, tmp_path)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(config), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            threading.Event().wait(0.025)
        tracer = thoth.create_tracer(
            agent_id="otel-agent",
            approved_scope=["read_file"],
            tenant_id=TENANT,
            api_url=f"http://127.0.0.1:{port}",
            api_key=KEY,
            enforcement="block",
            otel=True,
            otel_tracer_provider=otel.tracer_provider,
        )
        assert tracer.wrap_tool("read_file", lambda path: f"read {path}")(path="a.txt") == "read a.txt"
        thoth.flush(timeout=5, api_url=f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    spans = otel.spans.get_finished_spans()
    by_kind = {(s.name, s.kind): s for s in spans if s.name != "thoth.ingest"}
    tool = by_kind[("execute_tool read_file", SpanKind.INTERNAL)]
    client_side = by_kind[("thoth.enforce", SpanKind.INTERNAL)]
    server_side = by_kind[("thoth.enforce", SpanKind.SERVER)]
    assert client_side.parent is not None and client_side.parent.span_id == tool.context.span_id
    assert server_side.parent is not None and server_side.parent.span_id == client_side.context.span_id
    assert server_side.context.trace_id == tool.context.trace_id
    assert (
        dict(server_side.attributes or {})["thoth.decision_id"]
        == dict(tool.attributes or {})["thoth.decision_id"]
    )
