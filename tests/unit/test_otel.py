"""OpenTelemetry spans of governed calls (``otel=True``), read back from the SDK's in-memory
exporter: the exact attributes, the parentage (outer span -> tool span -> enforce / step-up /
the tool's own spans), ERROR status on a refusal and on a failing tool, sync and async, and
nothing at all (not even the import) when off. Decisions come from a real ``thoth serve``.

Each test builds its own ``TracerProvider`` and hands it to Thoth (``otel_tracer_provider``):
no global provider is set, and ``.ci/run``'s ``OTEL_SDK_DISABLED=true`` is removed first so
that it cannot turn the provider into a no-op and the assertions into vacuous ones.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

import thoth
from tests.conftest import ROOT, ThothServer, free_port
from thoth import _otel
from thoth.errors import ThothConfigError

POLICY = (ROOT / "examples" / "policy.yaml").read_text(encoding="utf-8")
SECRET = "INV-s3cr3t-4242"  # an argument value that must appear on no span


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThothServer]:
    started = ThothServer(tmp_path_factory.mktemp("otel-server"), policy_text=POLICY).start()
    yield started
    started.stop()


class Spans:
    """A provider of its own with the in-memory exporter, and an outer span to nest under."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.outer = self.provider.get_tracer("tests.agent")

    def finished(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def named(self, name: str) -> ReadableSpan:
        [span] = [s for s in self.finished() if s.name == name]
        return span


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Spans:
    monkeypatch.delenv("OTEL_SDK_DISABLED", raising=False)
    monkeypatch.delenv("THOTH_OTEL", raising=False)
    return Spans()


def tracer_for(server: ThothServer, spans: Spans, **options: Any) -> thoth.Tracer:
    settings: dict[str, Any] = {
        "enforcement": "block",
        "otel": True,
        "otel_tracer_provider": spans.provider,
        "step_up_poll_interval_seconds": 0.05,
        "step_up_timeout_minutes": 1,
        **options,
    }
    return thoth.create_tracer(
        agent_id="otel-agent",
        approved_scope=["read_invoice", "issue_refund", "delete_customer"],
        tenant_id=server.tenant_id,
        api_url=server.url,
        api_key=server.api_key,
        session_id=f"otel-{uuid.uuid4()}",
        **settings,
    )


def parent_id(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def span_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return int(span.context.span_id)


def assert_no_content(finished: list[ReadableSpan]) -> None:
    for span in finished:
        text = repr((span.name, dict(span.attributes or {}), span.status.description, span.events))
        assert SECRET not in text


def read_invoice(invoice_id: str) -> str:
    return f"invoice {invoice_id}"


@pytest.mark.parametrize("how", ["sync", "async"])
def test_an_allowed_call_is_one_tool_span_under_the_outer_span_with_its_children(
    server: ThothServer, spans: Spans, how: str
) -> None:
    tracer = tracer_for(server, spans)
    tool_tracer = spans.provider.get_tracer("tests.tool")

    def tool(invoice_id: str) -> str:
        with tool_tracer.start_as_current_span("inside the tool"):
            return read_invoice(invoice_id)

    async def atool(invoice_id: str) -> str:
        return tool(invoice_id)

    with spans.outer.start_as_current_span("agent run"):
        if how == "sync":
            result = tracer.wrap_tool("read_invoice", tool)(invoice_id=SECRET)
        else:
            result = asyncio.run(tracer.wrap_tool("read_invoice", atool)(invoice_id=SECRET))
    assert result == f"invoice {SECRET}"
    finished = spans.finished()
    assert sorted(s.name for s in finished) == [
        "agent run",
        "execute_tool read_invoice",
        "inside the tool",
        "thoth.enforce",
    ]
    outer, call = spans.named("agent run"), spans.named("execute_tool read_invoice")
    enforce, inner = spans.named("thoth.enforce"), spans.named("inside the tool")
    assert parent_id(call) == span_id(outer)
    assert parent_id(enforce) == span_id(call)
    assert parent_id(inner) == span_id(call)
    assert call.kind.name == "INTERNAL"
    assert call.status.status_code is StatusCode.UNSET
    attributes = dict(call.attributes or {})
    assert str(attributes.pop("thoth.decision_id")).strip()
    assert attributes == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "read_invoice",
        "gen_ai.tool.type": "function",
        "thoth.enforcement": "block",
        "thoth.decision": "ALLOW",
        "thoth.reason_code": "IN_SCOPE",
        "thoth.rule_ids": ("builtin.scope",),
    }
    assert dict(enforce.attributes or {}) == {
        "thoth.decision_mode": "remote",
        "thoth.decision": "ALLOW",
        "thoth.reason_code": "IN_SCOPE",
        "thoth.rule_ids": ("builtin.scope",),
    }
    assert_no_content(finished)


@pytest.mark.parametrize("how", ["sync", "async"])
def test_a_blocked_call_ends_its_span_in_error_with_the_reason_code(
    server: ThothServer, spans: Spans, how: str
) -> None:
    tracer = tracer_for(server, spans)
    ran: list[str] = []

    def delete_customer(customer_id: str) -> str:
        ran.append(customer_id)
        return "deleted"

    async def adelete_customer(customer_id: str) -> str:
        return delete_customer(customer_id)

    sync, async_ = (
        tracer.wrap_tool("delete_customer", delete_customer),
        tracer.wrap_tool("delete_customer", adelete_customer),
    )
    with pytest.raises(thoth.ThothPolicyViolation) as caught:
        _ = sync(customer_id=SECRET) if how == "sync" else asyncio.run(async_(customer_id=SECRET))
    assert ran == []
    call, enforce = spans.named("execute_tool delete_customer"), spans.named("thoth.enforce")
    assert parent_id(call) is None  # no outer span: the call's span is the trace's root
    assert parent_id(enforce) == span_id(call)
    assert (call.status.status_code, call.status.description) == (StatusCode.ERROR, "POLICY_RULE")
    attributes = dict(call.attributes or {})
    assert attributes.pop("thoth.decision_id") == caught.value.decision_id
    assert attributes == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "delete_customer",
        "gen_ai.tool.type": "function",
        "thoth.enforcement": "block",
        "error.type": "ThothPolicyViolation",
        "thoth.decision": "BLOCK",
        "thoth.reason_code": "POLICY_RULE",
        "thoth.rule_ids": ("no-deletes",),
    }
    assert_no_content(spans.finished())


@pytest.mark.parametrize(("how", "resolution"), [("sync", "BLOCK"), ("async", "BLOCK"), ("sync", "ALLOW")])
def test_a_step_up_wait_is_a_child_span_and_a_denial_is_an_error(
    server: ThothServer, spans: Spans, how: str, resolution: str
) -> None:
    tracer = tracer_for(server, spans, enforcement="progressive")  # block turns STEP_UP into BLOCK

    def resolve() -> None:
        hold = server.wait_for_hold(tracer.session.session_id)
        (server.approve if resolution == "ALLOW" else server.deny)(hold["hold_token"])

    resolver = threading.Thread(target=resolve)
    resolver.start()
    try:
        call = (
            tracer.govern("issue_refund", {"amount": 2500})
            if how == "sync"
            else asyncio.run(tracer.agovern("issue_refund", {"amount": 2500}))
        )
        if not call.refused:
            assert call.run(lambda amount: f"refunded {amount}", amount=2500) == "refunded 2500"
    finally:
        resolver.join(timeout=10)
    span, enforce = spans.named("execute_tool issue_refund"), spans.named("thoth.enforce")
    wait = spans.named("thoth.step_up.wait")
    assert parent_id(enforce) == span_id(span)
    assert parent_id(wait) == span_id(span)
    assert dict(enforce.attributes or {}) == {
        "thoth.decision_mode": "remote",
        "thoth.decision": "STEP_UP",
        "thoth.reason_code": "POLICY_RULE",
        "thoth.rule_ids": ("large-refunds",),
    }
    attributes = dict(span.attributes or {})
    if resolution == "ALLOW":
        assert dict(wait.attributes or {}) == {"thoth.step_up.approved": True}
        assert span.status.status_code is StatusCode.UNSET
        assert attributes["thoth.decision"] == "STEP_UP"
        assert "error.type" not in attributes
    else:
        assert dict(wait.attributes or {}) == {
            "thoth.step_up.approved": False,
            "thoth.reason_code": "step_up_denied",
        }
        assert (span.status.status_code, span.status.description) == (StatusCode.ERROR, "step_up_denied")
        assert (attributes["error.type"], attributes["thoth.reason_code"]) == (
            "ThothPolicyViolation",
            "step_up_denied",
        )
        assert attributes["thoth.rule_ids"] == ("large-refunds",)


def test_a_tool_that_raises_names_the_exception_type_never_its_message(
    server: ThothServer, spans: Spans
) -> None:
    tracer = tracer_for(server, spans)

    def broken(invoice_id: str) -> str:
        raise ValueError(f"cannot read {invoice_id}")

    with pytest.raises(ValueError, match=SECRET):
        tracer.wrap_tool("read_invoice", broken)(invoice_id=SECRET)
    call = spans.named("execute_tool read_invoice")
    assert (call.status.status_code, call.status.description) == (StatusCode.ERROR, "ValueError")
    assert (call.attributes or {})["error.type"] == "ValueError"
    assert call.events == ()
    assert_no_content(spans.finished())


def test_the_frameworks_call_id_is_the_gen_ai_tool_call_id(server: ThothServer, spans: Spans) -> None:
    tracer = tracer_for(server, spans)
    with tracer.govern("read_invoice", {"invoice_id": SECRET}, call_id="call_abc123") as call:
        assert call.run(read_invoice, **call.args) == f"invoice {SECRET}"
    attributes = spans.named("execute_tool read_invoice").attributes or {}
    # the framework's id names the tool call; the decision id is always Thoth's own (ids repeat)
    assert (attributes["gen_ai.tool.call.id"], attributes["thoth.decision_id"]) == (
        "call_abc123",
        call.decision_id,
    )
    assert call.decision_id is not None and call.decision_id != "call_abc123"


def test_an_unreachable_enforcer_fails_closed_and_the_span_says_why(spans: Spans) -> None:
    tracer = thoth.create_tracer(
        agent_id="otel-agent",
        approved_scope=["read_invoice"],
        tenant_id="acme-corp",
        api_url=f"http://127.0.0.1:{free_port()}",
        enforcement="block",
        max_retries=0,
        otel=True,
        otel_tracer_provider=spans.provider,
    )
    call = tracer.govern("read_invoice", {"invoice_id": SECRET})
    assert call.refused
    span = spans.named("execute_tool read_invoice")
    assert (span.status.status_code, span.status.description) == (StatusCode.ERROR, "enforcer_unreachable")
    assert (span.attributes or {})["thoth.decision"] == "BLOCK"
    assert parent_id(spans.named("thoth.enforce")) == span_id(span)


def test_off_by_default_records_nothing_and_thoth_otel_turns_it_on(
    server: ThothServer, spans: Spans, monkeypatch: pytest.MonkeyPatch
) -> None:
    off = tracer_for(server, spans, otel=False)
    assert off.wrap_tool("read_invoice", read_invoice)(invoice_id="INV-1") == "invoice INV-1"
    assert spans.finished() == []
    monkeypatch.setenv("THOTH_OTEL", "on")
    on = tracer_for(server, spans, otel=False)
    on.wrap_tool("read_invoice", read_invoice)(invoice_id="INV-1")
    assert sorted(s.name for s in spans.finished()) == ["execute_tool read_invoice", "thoth.enforce"]
    monkeypatch.setenv("THOTH_OTEL", "off")
    assert tracer_for(server, spans).config.resolved_otel is False
    monkeypatch.setenv("THOTH_OTEL", "sometimes")
    with pytest.raises(ThothConfigError, match="THOTH_OTEL must be on or off"):
        tracer_for(server, spans)


def test_enabled_without_the_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry", None)  # as if thoth-sdk[otel] were not installed
    with pytest.raises(ThothConfigError, match=r"pip install 'thoth-sdk\[otel\]'"):
        thoth.create_tracer(
            agent_id="otel-agent",
            approved_scope=["read_invoice"],
            tenant_id="acme-corp",
            api_url="http://127.0.0.1:9",
            otel=True,
        )


def test_a_provider_that_is_not_one_is_a_clear_error() -> None:
    with pytest.raises(
        ThothConfigError, match="otel_tracer_provider must be an OpenTelemetry TracerProvider, not str"
    ):
        thoth.create_tracer(
            agent_id="otel-agent",
            approved_scope=["read_invoice"],
            tenant_id="acme-corp",
            api_url="http://127.0.0.1:9",
            otel=True,
            otel_tracer_provider="console",
        )


def test_off_never_imports_opentelemetry(server: ThothServer, tmp_path: Path) -> None:
    script = (
        "import sys, thoth\n"
        f"t = thoth.create_tracer(agent_id='a', approved_scope=['f'], tenant_id={server.tenant_id!r},"
        f" api_url={server.url!r}, api_key={server.api_key!r})\n"
        "assert t.wrap_tool('f', lambda x: x)(x=1) == 1\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "THOTH_OTEL"}
    env["THOTH_TOOL_INVENTORY"] = "off"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_tool_attributes_set_the_call_id_only_when_the_framework_gave_one() -> None:
    assert _otel.tool_attributes("send_email", "abc-1", None, "progressive") == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "send_email",
        "gen_ai.tool.type": "function",
        "thoth.decision_id": "abc-1",
        "thoth.enforcement": "progressive",
    }
    assert (
        _otel.tool_attributes("send_email", "toolu_1", "toolu_1", "block")["gen_ai.tool.call.id"] == "toolu_1"
    )


def test_a_local_decision_is_the_enforce_span_too(server: ThothServer, spans: Spans, tmp_path: Path) -> None:
    tracer = tracer_for(server, spans, decision_mode="local", bundle_cache_dir=str(tmp_path))
    with pytest.raises(thoth.ThothPolicyViolation):
        tracer.authorize("delete_customer", {"customer_id": SECRET})
    call, enforce = spans.named("execute_tool delete_customer"), spans.named("thoth.enforce")
    assert parent_id(enforce) == span_id(call)
    assert dict(enforce.attributes or {}) == {
        "thoth.decision_mode": "local",
        "thoth.decision": "BLOCK",
        "thoth.reason_code": "POLICY_RULE",
        "thoth.rule_ids": ("no-deletes",),
    }
    assert (call.status.status_code, call.status.description) == (StatusCode.ERROR, "POLICY_RULE")
