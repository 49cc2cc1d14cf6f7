"""OpenTelemetry for the enforcer (``thoth serve --otel`` or ``THOTH_SERVER_OTEL=on``).

Spans: ``thoth.enforce`` (kind SERVER) for each ``POST /v1/enforce``, with the decision as the
SDK's tool spans carry it (``thoth.decision``, ``thoth.reason_code``, ``thoth.rule_ids``,
``thoth.decision_id``) and ``gen_ai.tool.name``; ``thoth.ingest`` for each
``POST /v1/events/batch``, with the batch's counts. A W3C ``traceparent`` sent with the
request makes the span its child, so an agent's trace continues into the enforcer. Metrics:
``thoth.server.decisions`` (a counter by decision and reason code),
``thoth.server.decision.duration`` (a histogram, ms, as the answer's ``latency_ms``) and
``thoth.server.events`` (a counter by outcome: accepted, duplicate, conflict; and chain_break,
those of the accepted that did not verify against their session's chain).

Only ``opentelemetry-api`` is imported, and only when enabled: the providers are the process's
global ones (``opentelemetry-instrument thoth serve --otel ...`` sets them from the
``OTEL_*`` variables) unless a test passes its own. A span never carries a tool's arguments,
an event's content, a reason's text or a key.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final

from thoth._version import __version__

if TYPE_CHECKING:
    from opentelemetry.trace import Span

__all__ = ["INSTALL_HINT", "Telemetry"]

INSTALL_HINT: Final = "--otel needs opentelemetry-api: pip install 'thoth-sdk[otel]'"
SCOPE: Final = "thoth.server"
ENFORCE_SPAN: Final = "thoth.enforce"
INGEST_SPAN: Final = "thoth.ingest"
_EVENT_OUTCOMES: Final = (
    ("accepted", "accepted"),
    ("duplicates", "duplicate"),
    ("conflicts", "conflict"),
    ("chain_breaks", "chain_break"),
)


class Telemetry:
    """The enforcer's tracer and instruments. Construct it only when enabled: it imports the API."""

    def __init__(self, tracer_provider: Any = None, meter_provider: Any = None) -> None:
        try:
            from opentelemetry import metrics, propagate, trace
        except ImportError:
            raise ValueError(INSTALL_HINT) from None
        self._trace = trace
        self._propagate = propagate
        self._tracer = trace.get_tracer(SCOPE, __version__, tracer_provider=tracer_provider)
        meter = metrics.get_meter(SCOPE, __version__, meter_provider=meter_provider)
        self._decisions = meter.create_counter(
            "thoth.server.decisions", unit="{decision}", description="enforce answers, by decision"
        )
        self._duration = meter.create_histogram(
            "thoth.server.decision.duration", unit="ms", description="time to decide and record a call"
        )
        self._events = meter.create_counter(
            "thoth.server.events", unit="{event}", description="events received, by outcome"
        )

    def __repr__(self) -> str:
        return "Telemetry(scope='thoth.server')"

    @contextlib.contextmanager
    def span(self, name: str, headers: Mapping[str, str]) -> Iterator[Span]:
        """A SERVER span, the child of the request's ``traceparent`` when it has one; an
        exception out of it (a refusal of the request, a store outage) sets ERROR with its type."""
        parent = self._propagate.extract(headers)
        kind = self._trace.SpanKind.SERVER
        with self._tracer.start_as_current_span(
            name, context=parent, kind=kind, record_exception=False, set_status_on_exception=False
        ) as span:
            try:
                yield span
            except Exception as exc:
                span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, type(exc).__name__))
                raise

    def decided(self, span: Span, tool_name: str, answer: Mapping[str, Any]) -> None:
        """The answer on the span and in the metrics."""
        decision, code = str(answer["decision"]), str(answer.get("decision_reason_code") or "")
        span.set_attributes(
            {
                "gen_ai.tool.name": tool_name,
                "thoth.decision": decision,
                "thoth.reason_code": code,
                "thoth.rule_ids": tuple(answer.get("matched_rule_ids") or ()),
                "thoth.decision_id": str(answer.get("decision_id") or ""),
                "thoth.policy_version": str(answer.get("policy_version") or ""),
            }
        )
        labels = {"thoth.decision": decision, "thoth.reason_code": code}
        self._decisions.add(1, labels)
        self._duration.record(float(answer.get("latency_ms") or 0.0), labels)

    def ingested(self, span: Span, received: int, result: Mapping[str, Any]) -> None:
        """The batch's counts on the span and in the metrics."""
        span.set_attribute("thoth.events.received", received)
        for key, outcome in _EVENT_OUTCOMES:
            count = int(result.get(key) or 0)
            span.set_attribute(f"thoth.events.{outcome}", count)
            if count:
                self._events.add(count, {"outcome": outcome})
