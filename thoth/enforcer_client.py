"""``POST /v1/enforce``: ask the enforcer whether a tool call may run. Fails closed.

Every failure (unreachable, timeout, 5xx, 429, rejected key, rejected request,
a body that is not JSON, an unknown decision, a STEP_UP without a hold token)
becomes a BLOCK whose ``reason_code`` says which it was. Transient failures
(connection refused or reset, 502/503/504, 429 with Retry-After) are retried a
few times with jittered backoff, all within one decision deadline.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import httpx

from thoth import _failures
from thoth._decisions import EnforcementDecision, block, normalize_enforce_payload
from thoth._ids import random_hex
from thoth._retry import Backoff, aretrying, retrying
from thoth._transport import Transport
from thoth._wire import ENFORCE, EXPLAIN
from thoth.errors import ReasonCode, ThothError
from thoth.models import ThothConfig

if TYPE_CHECKING:
    from thoth.errors import ThothPolicyViolation
    from thoth.explanations import Explanation

__all__ = ["EnforcerClient"]

logger = logging.getLogger("thoth.enforcer")

_BACKOFF_BASE: Final = 0.05
_BACKOFF_CAP: Final = 1.0
_HEADERS: Final = {"Content-Type": "application/json"}


def transport_for(config: ThothConfig) -> Transport:
    """The process-wide pooled transport for this configuration's endpoint, key and timeouts."""
    from thoth._runtime import runtime

    return runtime().transport(
        config.resolved_api_url,
        config.resolved_api_key,
        connect_timeout=config.connect_timeout_seconds,
        request_timeout=config.request_timeout_seconds,
    )


def _enforce_headers(trace_headers: Mapping[str, str] | None) -> Mapping[str, str]:
    """An enforce request's headers: with the caller's trace context when it sent one."""
    return {**_HEADERS, **trace_headers} if trace_headers else _HEADERS


class EnforcerClient:
    """Policy decisions for one agent configuration (sync and async)."""

    def __init__(self, config: ThothConfig, *, transport: Transport | None = None) -> None:
        self._config = config
        self._transport = transport or transport_for(config)
        # The parts of the request that never change for this agent, built once.
        self._static: dict[str, Any] = {
            "agent_id": config.agent_id,
            "tenant_id": config.tenant_id,
            "user_id": config.user_id,
            "approved_scope": list(config.approved_scope),
            "enforcement_mode": config.enforcement.value,
            "environment": config.environment,
        }
        if config.session_intent is not None:
            self._static["session_intent"] = config.session_intent
        self._backoff = Backoff(_BACKOFF_BASE, _BACKOFF_CAP, max_retries=config.max_retries)

    def __repr__(self) -> str:
        return f"EnforcerClient(agent_id={self._config.agent_id!r}, url={self._transport.base_url!r})"

    def _body(
        self,
        tool_name: str,
        session_id: str,
        tool_calls: list[str],
        tool_args: dict[str, Any] | None,
        decision_id: str | None = None,
    ) -> dict[str, Any]:
        body = dict(self._static)
        body["tool_name"] = tool_name
        body["session_id"] = session_id
        body["session_tool_calls"] = tool_calls
        body["enforcement_trace_id"] = self._config.enforcement_trace_id or session_id
        # the server takes it as the decision's id: the call id the call's events carry
        body["action_attestation_id"] = decision_id or random_hex()
        if tool_args is not None:
            body["tool_args"] = wire_args(tool_args)
        return body

    def _deadline(self) -> float:
        return time.monotonic() + self._config.decision_timeout_seconds

    def _timeout(self, deadline: float) -> httpx.Timeout:
        remaining = max(0.001, deadline - time.monotonic())
        t = self._transport.timeout
        if remaining >= (t.read or 0) + (t.connect or 0):
            return t  # the usual case: the per-attempt timeout fits in the deadline
        return httpx.Timeout(
            min(t.read or remaining, remaining), connect=min(t.connect or remaining, remaining)
        )

    def check(
        self,
        tool_name: str,
        session_id: str,
        tool_calls: list[str],
        tool_args: dict[str, Any] | None = None,
        *,
        shadow: bool = False,
        decision_id: str | None = None,
        trace_headers: Mapping[str, str] | None = None,
    ) -> EnforcementDecision:
        """Ask for a decision. Never raises; any failure is a BLOCK with a reason code.
        ``shadow``: observe mode's background check (the call already ran; logged as such).
        ``decision_id``: the call's id, which the decision is to be known by.
        ``trace_headers``: the W3C trace context of the ``thoth.enforce`` span (otel), so the
        enforcer's span of the request is its child."""
        deadline = self._deadline()
        try:
            body = self._body(tool_name, session_id, tool_calls, tool_args, decision_id)
            client = self._transport.sync_client
            headers = _enforce_headers(trace_headers)

            def attempt() -> EnforcementDecision | _failures.Failure:
                try:
                    response = client.request(
                        ENFORCE.method,
                        ENFORCE.path,
                        json=body,
                        headers=headers,
                        timeout=self._timeout(deadline),
                    )
                    return _read(response)
                except httpx.HTTPError as exc:
                    return _failures.from_exception(exc)

            outcome = retrying(attempt, self._backoff, deadline)
        except Exception as exc:  # noqa: BLE001 - a bug here must still not let the tool run
            outcome = _failures.from_exception(exc)
        return _concluded(tool_name, outcome, shadow=shadow)

    async def acheck(
        self,
        tool_name: str,
        session_id: str,
        tool_calls: list[str],
        tool_args: dict[str, Any] | None = None,
        *,
        decision_id: str | None = None,
        trace_headers: Mapping[str, str] | None = None,
    ) -> EnforcementDecision:
        """Async :meth:`check`: never blocks the event loop, never raises (except cancellation)."""
        deadline = self._deadline()
        try:
            body = self._body(tool_name, session_id, tool_calls, tool_args, decision_id)
            client = self._transport.async_client()
            headers = _enforce_headers(trace_headers)

            async def attempt() -> EnforcementDecision | _failures.Failure:
                try:
                    response = await client.request(
                        ENFORCE.method,
                        ENFORCE.path,
                        json=body,
                        headers=headers,
                        timeout=self._timeout(deadline),
                    )
                    return _read(response)
                except httpx.HTTPError as exc:
                    return _failures.from_exception(exc)

            outcome = await aretrying(attempt, self._backoff, deadline)
        except Exception as exc:  # noqa: BLE001 - a bug here must still not let the tool run
            outcome = _failures.from_exception(exc)
        return _concluded(tool_name, outcome)

    # ---- explanations (off the hot path: asked for by a person, after a refusal) ----------
    def _explain_body(self, violation: ThothPolicyViolation, session_id: str) -> dict[str, Any]:
        from thoth import explanations

        static = self._static
        context = {name: static[name] for name in ("agent_id", "tenant_id", "user_id", "approved_scope")}
        context |= {"session_id": session_id, "enforcement_mode": static["enforcement_mode"]}
        return explanations.request_body(violation, context)

    def explain(self, violation: ThothPolicyViolation, session_id: str) -> Explanation:
        """``POST /v1/explain`` for a refusal of this agent. Raises ThothError when it cannot."""
        body = self._explain_body(violation, session_id)
        deadline = self._deadline()
        client = self._transport.sync_client

        def attempt() -> Explanation | _failures.Failure:
            try:
                response = client.request(
                    EXPLAIN.method, EXPLAIN.path, json=body, headers=_HEADERS, timeout=self._timeout(deadline)
                )
            except httpx.HTTPError as exc:
                return _failures.from_exception(exc)
            return _explanation(response, violation)

        return _explained(retrying(attempt, self._backoff, deadline))

    async def aexplain(self, violation: ThothPolicyViolation, session_id: str) -> Explanation:
        """Async :meth:`explain`."""
        body = self._explain_body(violation, session_id)
        deadline = self._deadline()
        client = self._transport.async_client()

        async def attempt() -> Explanation | _failures.Failure:
            try:
                response = await client.request(
                    EXPLAIN.method, EXPLAIN.path, json=body, headers=_HEADERS, timeout=self._timeout(deadline)
                )
            except httpx.HTTPError as exc:
                return _failures.from_exception(exc)
            return _explanation(response, violation)

        return _explained(await aretrying(attempt, self._backoff, deadline))

    def hold_concluded(self, tool_name: str, session_id: str, approved: bool) -> None:
        """The enforcer made the hold and keeps its outcome: nothing to record here (local
        decisions' records learn it, see ``thoth._local``)."""

    def tokens_spent(self, session_id: str, tokens: int) -> None:
        """The enforcer counts tokens from the LLM_INVOCATION events it receives: nothing to do here."""

    def close(self) -> None:
        """Kept for aten-thoth compatibility: the pool is shared; see ``thoth.close()``."""

    async def aclose(self) -> None:
        """Kept for aten-thoth compatibility: the pool is shared; see ``thoth.close()``."""


def _read(response: httpx.Response) -> EnforcementDecision | _failures.Failure:
    if response.status_code != 200:
        return _failures.from_status(response.status_code, response.headers, response.content)
    try:
        payload = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return _failures.Failure(
            "enforcer answered HTTP 200 with a body that is not JSON", ReasonCode.MALFORMED_RESPONSE
        )
    return normalize_enforce_payload(payload)


def _explanation(
    response: httpx.Response, violation: ThothPolicyViolation
) -> Explanation | _failures.Failure:
    from thoth import explanations

    if response.status_code != 200:
        return _failures.from_status(response.status_code, response.headers, response.content)
    try:
        return explanations.from_payload(json.loads(response.content), violation)
    except (ValueError, UnicodeDecodeError) as exc:  # MalformedExplanation is a ValueError
        reason = str(exc) if isinstance(exc, explanations.MalformedExplanation) else "the body is not JSON"
        return _failures.Failure(f"enforcer answered no explanation: {reason}", ReasonCode.MALFORMED_RESPONSE)


def _explained(outcome: Explanation | _failures.Failure) -> Explanation:
    if isinstance(outcome, _failures.Failure):
        raise ThothError(f"cannot explain the decision: {outcome.reason}")
    return outcome


_SDK_OVERRIDES = frozenset(
    {ReasonCode.MALFORMED_RESPONSE, ReasonCode.UNKNOWN_DECISION, ReasonCode.MISSING_HOLD_TOKEN}
)


def _concluded(
    tool_name: str, outcome: EnforcementDecision | _failures.Failure, *, shadow: bool = False
) -> EnforcementDecision:
    """The decision to act on: a failure becomes a BLOCK (fail closed), logged with its reason,
    as is a nonsensical answer the SDK turned into a BLOCK."""
    if isinstance(outcome, _failures.Failure):
        log_failed_closed(tool_name, outcome.reason, shadow=shadow)
        return block(outcome.reason, outcome.reason_code)
    if outcome.reason_code in _SDK_OVERRIDES:
        log_failed_closed(tool_name, outcome.reason or "", shadow=shadow)
    return outcome


def log_failed_closed(tool_name: str, reason: str, *, shadow: bool = False) -> None:
    """Say what happened: a governed call refused, or in observe mode a shadow check that got no
    decision while the call itself ran (observe never blocks)."""
    if shadow:
        logger.warning("thoth: observe mode: %s ran; its shadow check got no decision: %s", tool_name, reason)
    else:
        logger.warning("thoth: blocking %s (fail closed): %s", tool_name, reason)


_PLAIN = (str, int, float, bool, type(None))


def wire_args(tool_args: dict[str, Any]) -> dict[str, Any]:
    """A call's arguments as the enforcer receives them (JSON values; see ``_jsonable``)."""
    return tool_args if _is_plain_json(tool_args) else _jsonable(tool_args)


def _is_plain_json(args: dict[str, Any]) -> bool:
    """True when every argument is a JSON scalar (the common case needs no conversion)."""
    return all(type(key) is str and type(value) in _PLAIN for key, value in args.items())


def _jsonable(value: Any, depth: int = 0) -> Any:
    """Tool arguments as JSON values (the enforcer cannot read Python objects)."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if depth > 16:
        return repr(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v, depth + 1) for v in value]
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            return _jsonable(dump(mode="json"), depth + 1)
        except Exception:  # noqa: S110, BLE001 - any failure to dump falls back to repr
            pass
    return repr(value)
