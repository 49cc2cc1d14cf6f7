"""``POST /v1/enforce``: ask the enforcer whether a tool call may run. Fails closed.

Every failure (unreachable, timeout, 5xx, 429, rejected key, rejected request,
a body that is not JSON, an unknown decision, a STEP_UP without a hold token)
becomes a BLOCK whose ``reason_code`` says which it was. Transient failures
(connection refused or reset, 502/503/504, 429 with Retry-After) are retried a
few times with jittered backoff, all within one decision deadline.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
import uuid
from typing import Any

import httpx
from thoth_api_client.api.enforcement import enforce as _enforce_op
from thoth_api_client.models.enforce_request import EnforceRequest

from thoth import _failures
from thoth._decisions import EnforcementDecision, block, normalize_enforce_payload
from thoth._transport import Transport, get_transport
from thoth.errors import ReasonCode
from thoth.models import ThothConfig

__all__ = ["EnforcerClient"]

logger = logging.getLogger("thoth.enforcer")

_BACKOFF_BASE = 0.05
_BACKOFF_CAP = 1.0


def transport_for(config: ThothConfig) -> Transport:
    return get_transport(
        config.resolved_api_url,
        config.resolved_api_key,
        connect_timeout=config.connect_timeout_seconds,
        request_timeout=config.request_timeout_seconds,
    )


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
        # The generated client owns the wire shape (method, path, headers); built once, since
        # constructing and dumping its model on every call costs more than the rest of the SDK.
        template = _enforce_op._get_kwargs(
            body=EnforceRequest.from_dict({**self._static, "tool_name": "-", "session_id": "-"})
        )
        template.pop("json")
        self._template = template

    def __repr__(self) -> str:
        return f"EnforcerClient(agent_id={self._config.agent_id!r}, url={self._transport.base_url!r})"

    def _request(
        self, tool_name: str, session_id: str, tool_calls: list[str], tool_args: dict[str, Any] | None
    ) -> dict[str, Any]:
        body = dict(self._static)
        body["tool_name"] = tool_name
        body["session_id"] = session_id
        body["session_tool_calls"] = tool_calls
        body["enforcement_trace_id"] = self._config.enforcement_trace_id or session_id
        body["action_attestation_id"] = uuid.uuid4().hex
        if tool_args is not None:
            body["tool_args"] = tool_args if _is_plain_json(tool_args) else _jsonable(tool_args)
        return {**self._template, "json": body}

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

    def _next_delay(self, failure: _failures.Failure, attempt: int, deadline: float) -> float | None:
        """Seconds to wait before retrying, or None when this failure is final."""
        if not failure.retryable or attempt >= self._config.max_retries:
            return None
        delay = failure.retry_after
        if delay is None:
            delay = random.uniform(0, min(_BACKOFF_CAP, _BACKOFF_BASE * 2 ** min(attempt, 16)))  # full jitter
        # Only retry when an attempt still fits in the decision deadline.
        return delay if time.monotonic() + delay + 0.01 < deadline else None

    def check(
        self, tool_name: str, session_id: str, tool_calls: list[str], tool_args: dict[str, Any] | None = None
    ) -> EnforcementDecision:
        """Ask for a decision. Never raises; any failure is a BLOCK with a reason code."""
        deadline = self._deadline()
        try:
            kwargs = self._request(tool_name, session_id, tool_calls, tool_args)
            client = self._transport.sync_client
            attempt = 0
            while True:
                try:
                    response = client.request(**kwargs, timeout=self._timeout(deadline))
                    outcome = _read(response)
                except httpx.HTTPError as exc:
                    outcome = _failures.from_exception(exc)
                if isinstance(outcome, EnforcementDecision):
                    return _warn_if_overridden(tool_name, outcome)
                delay = self._next_delay(outcome, attempt, deadline)
                if delay is None:
                    return _fail_closed(tool_name, outcome)
                time.sleep(delay)
                attempt += 1
        except Exception as exc:  # a bug here must still not let the tool run
            return _fail_closed(tool_name, _failures.from_exception(exc))

    async def acheck(
        self, tool_name: str, session_id: str, tool_calls: list[str], tool_args: dict[str, Any] | None = None
    ) -> EnforcementDecision:
        """Async :meth:`check`: never blocks the event loop, never raises (except cancellation)."""
        deadline = self._deadline()
        try:
            kwargs = self._request(tool_name, session_id, tool_calls, tool_args)
            client = self._transport.async_client()
            attempt = 0
            while True:
                try:
                    response = await client.request(**kwargs, timeout=self._timeout(deadline))
                    outcome = _read(response)
                except httpx.HTTPError as exc:
                    outcome = _failures.from_exception(exc)
                if isinstance(outcome, EnforcementDecision):
                    return _warn_if_overridden(tool_name, outcome)
                delay = self._next_delay(outcome, attempt, deadline)
                if delay is None:
                    return _fail_closed(tool_name, outcome)
                await asyncio.sleep(delay)
                attempt += 1
        except Exception as exc:
            return _fail_closed(tool_name, _failures.from_exception(exc))

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


_SDK_OVERRIDES = frozenset(
    {ReasonCode.MALFORMED_RESPONSE, ReasonCode.UNKNOWN_DECISION, ReasonCode.MISSING_HOLD_TOKEN}
)


def _warn_if_overridden(tool_name: str, decision: EnforcementDecision) -> EnforcementDecision:
    """Log when the SDK turned a nonsensical answer into a BLOCK."""
    if decision.reason_code in _SDK_OVERRIDES:
        logger.warning("thoth: blocking %s (fail closed): %s", tool_name, decision.reason)
    return decision


def _fail_closed(tool_name: str, failure: _failures.Failure) -> EnforcementDecision:
    logger.warning("thoth: blocking %s (fail closed): %s", tool_name, failure.reason)
    return block(failure.reason, failure.reason_code)


_PLAIN = (str, int, float, bool, type(None))


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
        except Exception:  # noqa: S110 - fall back to repr
            pass
    return repr(value)
