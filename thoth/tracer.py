"""The Tracer: a policy check in front of every tool call, and the audit events around it.

Integrations and ``instrument()`` use these entry points:

* :meth:`Tracer.govern` / :meth:`Tracer.agovern` decide one call and return a
  :class:`~thoth._governed.GovernedCall` (never raise): the one protocol every
  integration follows (refuse, or run with the permitted arguments, and record).
* :meth:`Tracer.wrap_tool` returns a governed callable with the same name,
  docstring and signature (sync stays sync, async stays async).
* :meth:`Tracer.authorize` / :meth:`Tracer.aauthorize` decide one call and return
  a :class:`Permit` (whose ``args`` may have been rewritten by MODIFY), or raise
  :class:`~thoth.errors.ThothPolicyViolation`. ``permit.finish(...)`` records the outcome.
* :meth:`Tracer.wrap_dict_tool` governs a callable that is given one arguments
  dict, as OpenAI and Anthropic tool loops do.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from thoth import _frameworks, _otel
from thoth._decisions import EnforcementDecision
from thoth._governed import GovernedCall, governed_by, internal_failure, mark_governed
from thoth._runtime import SHADOW_CHECK, runtime
from thoth._terminal import terminal_safe
from thoth._usage import RecentIds
from thoth._wire import DecisionType, EnforcementMode, EventType
from thoth.emitter import ContentPolicy, HttpEmitter
from thoth.enforcer_client import EnforcerClient
from thoth.errors import ReasonCode, ThothPolicyViolation
from thoth.models import ThothConfig
from thoth.session import SessionContext
from thoth.step_up import StepUpClient

if TYPE_CHECKING:
    from opentelemetry.trace import Span

    from thoth._decisions import HoldOutcome
    from thoth._local import LocalEnforcer
    from thoth._usage import Usage

__all__ = ["GovernedCall", "Permit", "Tracer"]

logger = logging.getLogger("thoth.tracer")

F = TypeVar("F", bound=Callable[..., Any])
# The wire's event types as plain strings, looked up once (not per event).
_PRE, _POST, _BLOCK = (
    e.value for e in (EventType.TOOL_CALL_PRE, EventType.TOOL_CALL_POST, EventType.TOOL_CALL_BLOCK)
)
_LLM = EventType.LLM_INVOCATION.value


def _announce_hold(tool_name: str, decision: EnforcementDecision) -> None:
    """Say once, as the wait begins, where a human can approve the call (the hold's console
    page, when the enforcer knows its public address); the token itself is never logged."""
    if decision.approval_url is not None:
        logger.warning(
            "thoth: %s waits for approval at %s",
            terminal_safe(tool_name, one_line=True),
            decision.approval_url,
        )


def _decided_locally(decision: EnforcementDecision | None) -> dict[str, Any] | None:
    """What an event says of a decision taken in process (``decision_mode="local"``): the bundle
    and rules behind it, which the enforcer's own decision log has for the calls it decided."""
    raw = decision.raw if decision is not None else None
    if raw is None or raw.get("decided_by") != "local":
        return None
    return {
        "decision": raw.get("decision"),
        "reason_code": raw.get("decision_reason_code"),
        "matched_rule_ids": raw.get("matched_rule_ids"),
        "policy_version": raw.get("policy_version"),
        "bundle_sha256": raw.get("bundle_sha256"),
    }


class Permit:
    """Permission to run one tool call. ``args`` are the arguments to run it with."""

    __slots__ = (
        "_done",
        "_started",
        "_tracer",
        "approver",
        "args",
        "call_id",
        "decision",
        "decision_id",
        "modified",
        "otel_span",
        "tool_name",
    )

    def __init__(
        self,
        tracer: Tracer,
        tool_name: str,
        args: dict[str, Any],
        call_id: str,
        decision: EnforcementDecision | None,
        modified: bool,
        decision_id: str | None = None,
    ) -> None:
        self._tracer = tracer
        self.tool_name = tool_name
        self.args = args
        self.call_id = call_id  # the framework's id of the call when it gave one
        self.decision_id = decision_id or call_id  # ours: one per governed call, never reused
        self.decision = decision
        self.modified = modified
        self.approver: str | None = None  # who approved the step-up this permit waited for
        self.otel_span: Span | None = None  # the call's span (otel=True), ended by finish()
        self._started = time.perf_counter()
        self._done = False

    def __repr__(self) -> str:
        return f"Permit(tool_name={self.tool_name!r}, call_id={self.call_id!r}, modified={self.modified})"

    def finish(self, result: Any = None, error: BaseException | None = None) -> None:
        """Record TOOL_CALL_POST with the duration and outcome (once; later calls are ignored)."""
        if self._done:
            return
        self._done = True
        if self.otel_span is not None:
            _otel.end_call(self.otel_span, error)
        duration_ms = round((time.perf_counter() - self._started) * 1000, 3)
        meta: dict[str, Any] = {
            "call_id": self.call_id,
            "duration_ms": duration_ms,
            "outcome": "ok" if error is None else "error",
        }
        if error is not None:
            meta["error_type"] = type(error).__name__
        if self.modified:
            meta["modified"] = True
        if self.approver is not None:
            meta["approver"] = self.approver
        local = _decided_locally(self.decision)
        if local is not None:
            meta["local_decision"] = local
        self._tracer._record(
            _POST, self.tool_name, error if error is not None else result, meta, decision_id=self.decision_id
        )


class Tracer:
    """Governs tool calls for one agent configuration and session."""

    def __init__(
        self,
        config: ThothConfig,
        session: SessionContext,
        emitter: HttpEmitter,
        enforcer: EnforcerClient | LocalEnforcer,
        step_up: StepUpClient,
    ) -> None:
        self._config = config
        self._session = session
        self._emitter = emitter
        # otel=True: one span per call (CallSpans), and child spans around the enforcer's
        # decisions and the step-up waits; with it off, a call pays three `is None` checks
        self._otel = _otel.call_spans(config) if config.resolved_otel else None
        if self._otel is not None:
            enforcer = self._otel.traced_enforcer(enforcer)
            step_up = self._otel.traced_step_up(step_up)
        self._enforcer = enforcer
        self._step_up = step_up
        self._observe = config.enforcement is EnforcementMode.OBSERVE
        self._mode = config.enforcement.value  # read per event: an enum's .value is a slow descriptor
        self._content = ContentPolicy(config.event_content, config.max_content_chars, config.redactor)
        self._counted_responses = RecentIds()  # record_llm_invocation counts a response once

    def __repr__(self) -> str:
        return (
            f"Tracer(agent_id={self._config.agent_id!r}, enforcement={self._config.enforcement.value!r}, "
            f"session_id={self._session.session_id!r})"
        )

    @property
    def config(self) -> ThothConfig:
        return self._config

    @property
    def session(self) -> SessionContext:
        return self._session

    @property
    def on_block(self) -> str:
        """``"raise"`` or ``"return"``: how integrations should surface a refusal."""
        return self._config.on_block

    # ---- events ---------------------------------------------------------------------------
    def _record(
        self,
        kind: str,
        tool_name: str,
        content: Any,
        metadata: dict[str, Any] | None,
        violation_id: str | None = None,
        decision_id: str | None = None,
    ) -> None:
        config, session = self._config, self._session
        self._emitter.record(
            {
                "tenant_id": config.tenant_id,
                "agent_id": config.agent_id,
                "session_id": session.session_id,
                "user_id": config.user_id,
                "event_type": kind,
                "tool_name": tool_name,
                "approved_scope": config.approved_scope,
                "enforcement_mode": self._mode,
                "session_tool_calls": session.recent_calls(config.session_history_limit),
                "violation_id": violation_id,
                # every event of one governed call names its decision: the id sent as the enforce
                # request's action_attestation_id, which the server keeps as decision_id
                "decision_id": decision_id,
            },
            content,
            metadata,
            self._content,
        )

    # ---- token spend ----------------------------------------------------------------------
    def record_llm_invocation(self, usage: Usage | None) -> None:
        """Record one LLM call's token counts (an LLM_INVOCATION event) and add them to the
        session's ``token_spend``. ``None`` (the framework reported no usage) records nothing.

        The event carries counts and the model only, never the prompt or the completion: no
        ``event_content`` setting sends them, so token accounting cannot leak a conversation.
        A response recorded again (the same ``usage.response_id``, among the last 1,024) is not
        counted again.
        """
        if usage is None or not self._counted_responses.first_time(usage.response_id):
            return
        self._session.record_token_spend(usage.total)
        self._enforcer.tokens_spent(self._session.session_id, usage.total)  # local decisions' budgets
        self._record(_LLM, "", None, usage.metadata())

    # ---- decisions ------------------------------------------------------------------------
    def _begin(
        self, tool_name: str, args: Mapping[str, Any] | None, call_id: str | None, decision_id: str | None
    ) -> tuple[tuple[str, str], dict[str, Any]]:
        """The call's ids and arguments, and its TOOL_CALL_PRE event. The decision id is always
        ours: a framework's tool-call id can repeat (a fake or local model's ``call_0``, a graph
        resumed from a checkpoint), and one id must name one decision."""
        decision_id = decision_id or runtime().new_call_id()
        call_id = call_id or decision_id
        call_args = dict(args) if args else {}
        self._record(_PRE, tool_name, call_args, {"call_id": call_id}, decision_id=decision_id)
        return (call_id, decision_id), call_args

    def _permit(
        self,
        tool_name: str,
        args: dict[str, Any],
        ids: tuple[str, str],
        decision: EnforcementDecision | None,
    ) -> Permit:
        modified = decision is not None and decision.decision is DecisionType.MODIFY
        run_args = dict(decision.modified_args or {}) if modified and decision is not None else args
        self._session.record_tool_call(tool_name)
        return Permit(self, tool_name, run_args, ids[0], decision, modified, ids[1])

    def _refuse(
        self,
        tool_name: str,
        ids: tuple[str, str],
        decision: EnforcementDecision,
        *,
        outcome: HoldOutcome | None = None,
    ) -> ThothPolicyViolation:
        call_id, decision_id = ids
        if outcome is not None:  # a step-up that was denied or timed out
            violation = ThothPolicyViolation(
                tool_name,
                outcome.reason or "step-up request denied",
                decision.violation_id,
                decision="STEP_UP",
                reason_code=outcome.reason_code or ReasonCode.STEP_UP_DENIED,
                receipt=decision.receipt,
                matched_rule_ids=decision.matched_rule_ids,
            )
        else:
            violation = ThothPolicyViolation(
                tool_name,
                decision.reason or "blocked by Thoth policy",
                decision.violation_id,
                decision=decision.decision.value,
                reason_code=decision.reason_code,
                retry_after_seconds=decision.retry_after_seconds,
                receipt=decision.receipt,
                matched_rule_ids=decision.matched_rule_ids,
            )
        violation.decision_id = decision_id
        session_id, enforcer = self._session.session_id, self._enforcer
        violation._explainer = lambda v: enforcer.explain(v, session_id)
        violation._async_explainer = lambda v: enforcer.aexplain(v, session_id)
        meta: dict[str, Any] = {
            "call_id": call_id,
            "decision": violation.decision,
            "reason_code": violation.reason_code,
        }
        local = _decided_locally(decision)
        if local is not None:
            meta["local_decision"] = local
        if outcome is not None and outcome.approver is not None:
            meta["approver"] = outcome.approver
        self._record(
            _BLOCK, tool_name, {"reason": violation.reason}, meta, violation.violation_id, decision_id
        )
        return violation

    def authorize(
        self, tool_name: str, args: Mapping[str, Any] | None = None, *, call_id: str | None = None
    ) -> Permit:
        """Decide one call (sync). Raises ThothPolicyViolation when it must not run."""
        if self._otel is not None:
            return self._otel.authorize(self._authorize, tool_name, args, call_id)
        return self._authorize(tool_name, args, call_id, None)

    def _authorize(
        self, tool_name: str, args: Mapping[str, Any] | None, call_id: str | None, decision_id: str | None
    ) -> Permit:
        call, call_args = self._begin(tool_name, args, call_id, decision_id)
        if self._observe:
            return self._observed(tool_name, call_args, call)
        decision = self._enforcer.check(*self._question(tool_name, call_args), decision_id=call[1])
        if decision.decision is DecisionType.STEP_UP and decision.hold_token:
            _announce_hold(tool_name, decision)
            outcome = self._step_up.wait(
                decision.hold_token, timeout_seconds=decision.step_up_timeout_seconds
            )
            return self._after_hold(tool_name, call_args, call, decision, outcome)
        return self._conclude(tool_name, call_args, call, decision)

    async def aauthorize(
        self, tool_name: str, args: Mapping[str, Any] | None = None, *, call_id: str | None = None
    ) -> Permit:
        """Decide one call without blocking the event loop. Raises ThothPolicyViolation."""
        if self._otel is not None:
            return await self._otel.aauthorize(self._aauthorize, tool_name, args, call_id)
        return await self._aauthorize(tool_name, args, call_id, None)

    async def _aauthorize(
        self, tool_name: str, args: Mapping[str, Any] | None, call_id: str | None, decision_id: str | None
    ) -> Permit:
        call, call_args = self._begin(tool_name, args, call_id, decision_id)
        if self._observe:
            return self._observed(tool_name, call_args, call)
        decision = await self._enforcer.acheck(*self._question(tool_name, call_args), decision_id=call[1])
        if decision.decision is DecisionType.STEP_UP and decision.hold_token:
            _announce_hold(tool_name, decision)
            outcome = await self._step_up.await_decision(
                decision.hold_token, timeout_seconds=decision.step_up_timeout_seconds
            )
            return self._after_hold(tool_name, call_args, call, decision, outcome)
        return self._conclude(tool_name, call_args, call, decision)

    def _question(self, tool_name: str, args: dict[str, Any]) -> tuple[str, str, list[str], dict[str, Any]]:
        """The enforcer's arguments for one call: tool, session, the session's calls so far, arguments."""
        session = self._session
        calls = session.pending_calls(tool_name, self._config.session_history_limit)
        return tool_name, session.session_id, calls, args

    def _observed(self, tool_name: str, args: dict[str, Any], call: tuple[str, str]) -> Permit:
        """Observe never blocks and adds no round trip: events, and a shadow check off the path."""
        if self._config.observe_shadow_checks:
            enforcer, question, decision_id = self._enforcer, self._question(tool_name, args), call[1]
            runtime().background.submit(
                SHADOW_CHECK, lambda: enforcer.check(*question, shadow=True, decision_id=decision_id)
            )
        return self._permit(tool_name, args, call, None)

    def _after_hold(
        self,
        tool_name: str,
        args: dict[str, Any],
        call: tuple[str, str],
        decision: EnforcementDecision,
        outcome: HoldOutcome,
    ) -> Permit:
        self._enforcer.hold_concluded(tool_name, self._session.session_id, bool(outcome.approved))
        if not outcome.approved:
            raise self._refuse(tool_name, call, decision, outcome=outcome)
        permit = self._permit(tool_name, args, call, decision)
        permit.approver = outcome.approver
        return permit

    def govern(
        self, tool_name: str, args: Mapping[str, Any] | None = None, *, call_id: str | None = None
    ) -> GovernedCall:
        """Decide one call (sync) and return it as a :class:`GovernedCall`. Never raises:
        a refusal, or an error of ours while deciding, is a refused call (fail closed)."""
        try:
            return GovernedCall(self, tool_name, permit=self.authorize(tool_name, args, call_id=call_id))
        except ThothPolicyViolation as violation:
            return GovernedCall(self, tool_name, violation=violation)
        except Exception as exc:  # noqa: BLE001 - any error of ours must refuse the call, not run it
            return GovernedCall(self, tool_name, violation=internal_failure(tool_name, exc))

    async def agovern(
        self, tool_name: str, args: Mapping[str, Any] | None = None, *, call_id: str | None = None
    ) -> GovernedCall:
        """Async :meth:`govern`: never blocks the event loop, never raises (except cancellation)."""
        try:
            permit = await self.aauthorize(tool_name, args, call_id=call_id)
        except ThothPolicyViolation as violation:
            return GovernedCall(self, tool_name, violation=violation)
        except Exception as exc:  # noqa: BLE001 - any error of ours must refuse the call, not run it
            return GovernedCall(self, tool_name, violation=internal_failure(tool_name, exc))
        return GovernedCall(self, tool_name, permit=permit)

    def _conclude(
        self, tool_name: str, args: dict[str, Any], call: tuple[str, str], decision: EnforcementDecision
    ) -> Permit:
        if decision.decision is DecisionType.ALLOW or decision.decision is DecisionType.MODIFY:
            return self._permit(tool_name, args, call, decision)
        raise self._refuse(tool_name, call, decision)  # BLOCK, DEFER

    # ---- wrapping -------------------------------------------------------------------------
    def wrap_tool(self, tool_name: str, fn: F) -> F:
        """Govern ``fn``: same name, docstring and signature; sync stays sync, async stays async.

        Wrapping an already governed callable re-governs the original (never twice).
        Framework tool objects are governed by that framework's integration (a LangChain
        ``BaseTool`` in place: the same object is returned).
        """
        governor = governed_by(fn)
        if governor is not None and governor[0] is self:
            return fn
        original = governor[1] if governor is not None else fn  # another tracer's: govern the original
        special = _frameworks.wrap_framework_tool(tool_name, original, self)
        if special is not None:
            return cast(F, special)
        return cast(
            F, _govern_callable(self, tool_name, original, _ArgsBinder(original).bind, always_rebuild=False)
        )

    def wrap_dict_tool(self, tool_name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Govern ``fn`` for tool loops that call it with one parsed arguments dict.

        The governed callable takes ``governed({"to": ...})`` (or a JSON string, or
        keywords) and calls ``fn(**args)``, or ``fn(args)`` when ``fn`` takes a single
        parameter whose name is not among the keys.
        """
        governor = governed_by(fn)
        if governor is not None and governor[0] is self:
            return fn
        original = governor[1] if governor is not None else fn
        return _govern_callable(self, tool_name, original, _DictBinder(original).bind, always_rebuild=True)


# A binder turns one call's (args, kwargs) into the arguments dict the enforcer sees,
# plus a function that rebuilds (args, kwargs) from a rewritten dict (MODIFY).
Rebuild = Callable[[dict[str, Any]], tuple[tuple[Any, ...], dict[str, Any]]]
Binder = Callable[[tuple[Any, ...], dict[str, Any]], tuple[dict[str, Any], Rebuild]]


class _ArgsBinder:
    """Maps a call to ``{parameter: value}`` using the function's signature."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        try:
            self._sig: inspect.Signature | None = inspect.signature(fn)
        except (TypeError, ValueError):
            self._sig = None
        plain = (inspect.Parameter.POSITIONAL_OR_KEYWORD,)
        params = self._sig.parameters.values() if self._sig is not None else ()
        self._simple: tuple[str, ...] | None = (
            tuple(p.name for p in params)
            if self._sig is not None and all(p.kind in plain for p in params)
            else None
        )
        self._simple_set = frozenset(self._simple or ())
        self._rebuild: Rebuild = (
            functools.partial(_rebuild_bound, self._sig) if self._sig else _rebuild_legacy
        )

    def bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[dict[str, Any], Rebuild]:
        if (
            self._simple is not None
            and len(args) <= len(self._simple)
            and not kwargs.keys() - self._simple_set
        ):
            # Fast path for plain parameters (the common case): no Signature.bind needed.
            values = dict(zip(self._simple, args, strict=False))
            if not values.keys() & kwargs.keys():
                values.update(kwargs)
                return values, self._rebuild
        if self._sig is not None:
            try:
                bound = self._sig.bind(*args, **kwargs)
            except TypeError:
                pass  # the tool itself will report the bad call, after governance
            else:
                return _flatten(bound), self._rebuild
        return {"args": list(args), "kwargs": dict(kwargs)}, _rebuild_legacy


def _flatten(bound: inspect.BoundArguments) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in bound.arguments.items():
        kind = bound.signature.parameters[name].kind
        if kind is inspect.Parameter.VAR_KEYWORD:
            out.update(value)
        elif kind is inspect.Parameter.VAR_POSITIONAL:
            out[name] = list(value)
        else:
            out[name] = value
    return out


def _rebuild_bound(sig: inspect.Signature, values: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    rest = dict(values)
    for name, param in sig.parameters.items():
        if name not in rest:
            continue
        value = rest.pop(name)
        if param.kind is inspect.Parameter.POSITIONAL_ONLY:
            args.append(value)
        elif param.kind is inspect.Parameter.VAR_POSITIONAL:
            args.extend(value)
        else:
            kwargs[name] = value
    kwargs.update(rest)  # anything else goes to **kwargs (the enforcer may add arguments)
    return tuple(args), kwargs


def _rebuild_legacy(values: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    return tuple(values.get("args") or ()), dict(values.get("kwargs") or {})


class _DictBinder:
    """For callables invoked with one arguments dict (OpenAI / Anthropic tool loops)."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self._single_param: str | None = None
        try:
            params = list(inspect.signature(fn).parameters.values())
        except (TypeError, ValueError):
            return
        positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        if len(positional) == 1 and not any(p.kind is p.VAR_KEYWORD for p in params):
            self._single_param = positional[0].name

    def bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[dict[str, Any], Rebuild]:
        if len(args) > 1:
            raise TypeError(f"a governed tool takes one arguments dict, got {len(args)} positional arguments")
        values: Any = args[0] if args else {}
        if isinstance(values, str | bytes):
            try:
                values = json.loads(values or "{}")
            except ValueError:  # never the text itself: it is the call's content
                raise TypeError("a governed tool's arguments are not valid JSON") from None
        if not isinstance(values, Mapping):
            raise TypeError(f"a governed tool takes an arguments dict, not {type(values).__name__}")
        merged = {**values, **kwargs}
        return merged, self._rebuild

    def _rebuild(self, values: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
        if self._single_param is not None and set(values) != {self._single_param}:
            return (values,), {}
        return (), values


def _govern_callable(
    tracer: Tracer, tool_name: str, fn: Callable[..., Any], binder: Binder, *, always_rebuild: bool
) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, "__call__", None)):  # noqa: B004
        afn = cast(Callable[..., Awaitable[Any]], fn)

        @functools.wraps(fn)
        async def governed_async(*args: Any, **kwargs: Any) -> Any:
            call_args, rebuild = binder(args, kwargs)
            call = await tracer.agovern(tool_name, call_args)
            if call.refused:
                return call.refuse()
            if always_rebuild or call.modified:
                args, kwargs = rebuild(call.args)
            return await call.arun(afn, *args, **kwargs)

        mark_governed(governed_async, tracer, fn)
        return governed_async

    @functools.wraps(fn)
    def governed(*args: Any, **kwargs: Any) -> Any:
        call_args, rebuild = binder(args, kwargs)
        call = tracer.govern(tool_name, call_args)
        if call.refused:
            return call.refuse()
        if always_rebuild or call.modified:
            args, kwargs = rebuild(call.args)
        return call.run(fn, *args, **kwargs)

    mark_governed(governed, tracer, fn)
    return governed
