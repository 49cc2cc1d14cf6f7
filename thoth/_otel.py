"""OpenTelemetry spans for governed tool calls (``otel=True`` or ``THOTH_OTEL=on``).

One span per governed call, following the GenAI semantic conventions for tool execution
(``execute_tool {gen_ai.tool.name}``, kind INTERNAL), plus the decision as ``thoth.*``
attributes. The enforcer round trip (or the local decision) is a ``thoth.enforce`` child
span and a step-up hold's wait a ``thoth.step_up.wait`` child span. The tool span is the
current span while the call is decided and while the tool runs, so an HTTP client's spans
and the tool's own spans nest under it; it nests under whatever span is current when the
call starts (the framework's).

Only ``opentelemetry-api`` is needed, and only when enabled: this module imports it
lazily, so with otel off the package is never imported and a call pays three ``is None``
checks. A span never carries a tool's arguments or result, nor a refusal's text (they may
hold secrets): a refusal's status says its reason code, a failed tool's its exception type.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Final, TypeVar, cast

from thoth._runtime import runtime
from thoth._version import __version__
from thoth.errors import ReasonCode, ThothConfigError, ThothPolicyViolation

if TYPE_CHECKING:
    from opentelemetry.trace import Span
    from opentelemetry.trace import Tracer as OtelTracer

    from thoth._decisions import EnforcementDecision, HoldOutcome
    from thoth.models import ThothConfig
    from thoth.tracer import Permit

__all__ = [
    "CallSpans",
    "call_spans",
    "decision_attributes",
    "end_call",
    "refusal_attributes",
    "run_in_span",
    "tool_attributes",
]

INSTALL_HINT: Final = "pip install 'thoth-sdk[otel]'"
SCOPE: Final = "thoth"
ENFORCE_SPAN: Final = "thoth.enforce"
STEP_UP_SPAN: Final = "thoth.step_up.wait"

T = TypeVar("T")
E = TypeVar("E")
Attributes = dict[str, str | bool | tuple[str, ...]]


# ---- attributes (pure) --------------------------------------------------------------------
def tool_attributes(tool_name: str, call_id: str, framework_call_id: str | None, mode: str) -> Attributes:
    """The tool span's attributes known before the decision. ``gen_ai.tool.call.id`` is the
    framework's id of the call, set only when the framework gave one (``thoth.decision_id`` is
    always set: the id the enforcer's decision log and the audit events know the call by)."""
    attributes: Attributes = {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": tool_name,
        "gen_ai.tool.type": "function",
        "thoth.decision_id": call_id,
        "thoth.enforcement": mode,
    }
    if framework_call_id is not None:
        attributes["gen_ai.tool.call.id"] = framework_call_id
    return attributes


def decision_attributes(decision: EnforcementDecision) -> Attributes:
    """What a span says of one decision: the decision, its reason code and matched rules."""
    attributes: Attributes = {"thoth.decision": decision.decision.value}
    if decision.reason_code:
        attributes["thoth.reason_code"] = decision.reason_code
    if decision.matched_rule_ids:
        attributes["thoth.rule_ids"] = tuple(decision.matched_rule_ids)
    return attributes


def refusal_attributes(violation: ThothPolicyViolation) -> Attributes:
    """What a refused call's span says: the refusal's decision, reason code and rules (never
    its reason text, which may quote the arguments)."""
    attributes: Attributes = {"error.type": type(violation).__name__}
    if violation.decision:
        attributes["thoth.decision"] = str(violation.decision)
    if violation.reason_code:
        attributes["thoth.reason_code"] = str(violation.reason_code)
    if violation.matched_rule_ids:
        attributes["thoth.rule_ids"] = tuple(str(r) for r in violation.matched_rule_ids)
    return attributes


def _status_reason(violation: ThothPolicyViolation) -> str:
    return str(violation.reason_code or ReasonCode.POLICY_BLOCK)


# ---- spans --------------------------------------------------------------------------------
def call_spans(config: ThothConfig) -> CallSpans:
    """The spans of one tracer's calls: imports opentelemetry-api, or says how to install it."""
    try:
        from opentelemetry import trace
    except ImportError:
        raise ThothConfigError(
            f"otel=True (or THOTH_OTEL=on) needs the OpenTelemetry API: {INSTALL_HINT}"
        ) from None
    provider = config.otel_tracer_provider
    if provider is not None and not callable(getattr(provider, "get_tracer", None)):
        raise ThothConfigError(
            f"otel_tracer_provider must be an OpenTelemetry TracerProvider, not {type(provider).__name__}"
        )
    tracer = trace.get_tracer(SCOPE, __version__, tracer_provider=provider)
    return CallSpans(tracer, config.enforcement.value, config.resolved_decision_mode)


class CallSpans:
    """Opens and closes the spans of governed calls for one tracer (one agent configuration)."""

    __slots__ = ("_decision_mode", "_mode", "_tracer")

    def __init__(self, tracer: OtelTracer, mode: str, decision_mode: str) -> None:
        self._tracer = tracer
        self._mode = mode
        self._decision_mode = decision_mode

    def _start(self, tool_name: str, call_id: str | None) -> tuple[Span, str]:
        from opentelemetry.trace import SpanKind

        decision_id = runtime().new_call_id()  # ours even when the framework named the call
        span = self._tracer.start_span(
            f"execute_tool {tool_name}",
            kind=SpanKind.INTERNAL,
            attributes=tool_attributes(tool_name, decision_id, call_id, self._mode),
        )
        return span, decision_id

    def authorize(
        self,
        decide: Callable[[str, Mapping[str, Any] | None, str | None, str], Permit],
        tool_name: str,
        args: Mapping[str, Any] | None,
        call_id: str | None,
    ) -> Permit:
        """``decide(tool_name, args, call_id, decision_id)`` inside the tool span; the permit keeps the span
        open until the call finishes, a refusal (or an error of ours) ends it at once."""
        from opentelemetry.trace import use_span

        span, decision_id = self._start(tool_name, call_id)
        with use_span(span, end_on_exit=False, record_exception=False, set_status_on_exception=False):
            try:
                permit = decide(tool_name, args, call_id, decision_id)
            except BaseException as exc:
                _refused(span, exc)
                raise
        return _permitted(span, permit)

    async def aauthorize(
        self,
        decide: Callable[[str, Mapping[str, Any] | None, str | None, str], Awaitable[Permit]],
        tool_name: str,
        args: Mapping[str, Any] | None,
        call_id: str | None,
    ) -> Permit:
        """Async :meth:`authorize` (the span is current in the awaiting task's context only)."""
        from opentelemetry.trace import use_span

        span, decision_id = self._start(tool_name, call_id)
        with use_span(span, end_on_exit=False, record_exception=False, set_status_on_exception=False):
            try:
                permit = await decide(tool_name, args, call_id, decision_id)
            except BaseException as exc:
                _refused(span, exc)
                raise
        return _permitted(span, permit)

    def traced_enforcer(self, enforcer: E) -> E:
        """``enforcer`` with a ``thoth.enforce`` span around each decision on a call's path."""
        return cast(E, _TracedEnforcer(enforcer, self._tracer, self._decision_mode))

    def traced_step_up(self, step_up: E) -> E:
        """``step_up`` with a ``thoth.step_up.wait`` span around each hold's wait."""
        return cast(E, _TracedStepUp(step_up, self._tracer))


def _permitted(span: Span, permit: Permit) -> Permit:
    if permit.decision is not None:
        span.set_attributes(decision_attributes(permit.decision))
    permit.otel_span = span
    return permit


def _refused(span: Span, exc: BaseException) -> None:
    """End the tool span of a call that will not run: ERROR with the reason code (a refusal),
    or with the exception's type (an error of ours, or cancellation)."""
    from opentelemetry.trace import StatusCode

    if isinstance(exc, ThothPolicyViolation):
        span.set_attributes(refusal_attributes(exc))
        span.set_status(StatusCode.ERROR, _status_reason(exc))
    elif not isinstance(exc, Exception):  # cancelled (or interrupted) while deciding
        span.set_attribute("error.type", type(exc).__name__)
        span.set_status(StatusCode.ERROR, type(exc).__name__)
    else:
        span.set_attributes(
            {"error.type": type(exc).__name__, "thoth.reason_code": ReasonCode.ENFORCER_ERROR}
        )
        span.set_status(StatusCode.ERROR, str(ReasonCode.ENFORCER_ERROR))
    span.end()


def end_call(span: Span, error: BaseException | None) -> None:
    """End an allowed call's span: ERROR with the exception's type when the tool raised."""
    if error is not None:
        from opentelemetry.trace import StatusCode

        span.set_attribute("error.type", type(error).__name__)
        span.set_status(StatusCode.ERROR, type(error).__name__)
    span.end()


def run_in_span(span: Span, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` with ``span`` current, so the tool's own spans nest under it."""
    from opentelemetry.trace import use_span

    with use_span(span, end_on_exit=False, record_exception=False, set_status_on_exception=False):
        return fn(*args, **kwargs)


async def arun_in_span(span: Span, fn: Callable[..., Awaitable[T]], /, *args: Any, **kwargs: Any) -> T:
    """Async :func:`run_in_span`."""
    from opentelemetry.trace import use_span

    with use_span(span, end_on_exit=False, record_exception=False, set_status_on_exception=False):
        return await fn(*args, **kwargs)


# ---- child spans --------------------------------------------------------------------------
def _child_span(tracer: OtelTracer, name: str, attributes: Attributes) -> AbstractContextManager[Span]:
    """A child of the current (tool) span, current while it lasts. An exception is not recorded
    on it (its message may quote a call's content); the tool span says how the call ended."""
    return tracer.start_as_current_span(
        name, attributes=attributes, record_exception=False, set_status_on_exception=False
    )


class _TracedEnforcer:
    """An enforcer (remote or local) whose decisions on a call's path are ``thoth.enforce``
    spans; observe's background shadow checks are not (no call is waiting on them)."""

    def __init__(self, inner: Any, tracer: OtelTracer, decision_mode: str) -> None:
        self._inner = inner
        self._tracer = tracer
        self._decision_mode = decision_mode

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)  # explain, hold_concluded, close...: as they are

    def __repr__(self) -> str:
        return repr(self._inner)

    def _child(self, name: str, attributes: Attributes) -> AbstractContextManager[Span]:
        return _child_span(self._tracer, name, attributes)

    def check(self, *args: Any, shadow: bool = False, **kwargs: Any) -> EnforcementDecision:
        if shadow:
            return cast("EnforcementDecision", self._inner.check(*args, shadow=True, **kwargs))
        with self._child(ENFORCE_SPAN, {"thoth.decision_mode": self._decision_mode}) as span:
            headers = _trace_context()
            decision = cast("EnforcementDecision", self._inner.check(*args, trace_headers=headers, **kwargs))
            span.set_attributes(decision_attributes(decision))
            return decision

    async def acheck(self, *args: Any, **kwargs: Any) -> EnforcementDecision:
        with self._child(ENFORCE_SPAN, {"thoth.decision_mode": self._decision_mode}) as span:
            headers = _trace_context()
            decision = cast(
                "EnforcementDecision", await self._inner.acheck(*args, trace_headers=headers, **kwargs)
            )
            span.set_attributes(decision_attributes(decision))
            return decision


def _trace_context() -> dict[str, str]:
    """The current (``thoth.enforce``) span's W3C trace context, as request headers: the
    enforcer's span of the request (``thoth serve --otel``) continues the agent's trace."""
    from opentelemetry import propagate

    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def _hold_attributes(outcome: HoldOutcome) -> Attributes:
    attributes: Attributes = {"thoth.step_up.approved": bool(outcome.approved)}
    if not outcome.approved and outcome.reason_code:
        attributes["thoth.reason_code"] = str(outcome.reason_code)
    return attributes


class _TracedStepUp:
    """A step-up client whose waits are ``thoth.step_up.wait`` spans (never the hold token)."""

    def __init__(self, inner: Any, tracer: OtelTracer) -> None:
        self._inner = inner
        self._tracer = tracer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __repr__(self) -> str:
        return repr(self._inner)

    def wait(self, hold_token: str, **kwargs: Any) -> HoldOutcome:
        with _child_span(self._tracer, STEP_UP_SPAN, {}) as span:
            outcome = cast("HoldOutcome", self._inner.wait(hold_token, **kwargs))
            span.set_attributes(_hold_attributes(outcome))
            return outcome

    async def await_decision(self, hold_token: str, **kwargs: Any) -> HoldOutcome:
        with _child_span(self._tracer, STEP_UP_SPAN, {}) as span:
            outcome = cast("HoldOutcome", await self._inner.await_decision(hold_token, **kwargs))
            span.set_attributes(_hold_attributes(outcome))
            return outcome
