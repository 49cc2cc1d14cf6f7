"""Classify what went wrong talking to the enforcer: which reason, and whether to retry. Pure."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from time import time

import httpx

from thoth.errors import ReasonCode

__all__ = ["GATEWAY_STATUSES", "Failure", "from_exception", "from_status", "retry_after_seconds"]

# Answers that say the enforcer is not there right now (a gateway in front of it): worth another try.
GATEWAY_STATUSES = frozenset({502, 503, 504})


@dataclass(frozen=True, slots=True)
class Failure:
    """A failed attempt. ``retryable`` says whether another attempt may succeed."""

    reason: str
    reason_code: str
    retryable: bool = False
    retry_after: float | None = None


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    """The ``Retry-After`` header in seconds (delta or HTTP date), or None."""
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time())
    except (TypeError, ValueError, IndexError):
        return None


def _server_message(content: bytes) -> str:
    try:
        body = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return ""
    if isinstance(body, dict):
        code, message = body.get("code"), body.get("message") or body.get("detail")
        parts = [str(p)[:200] for p in (code, message) if p]
        return f": {' - '.join(parts)}" if parts else ""
    return ""


def from_status(status: int, headers: httpx.Headers, content: bytes) -> Failure:
    """A non-200 answer from the enforcer."""
    detail = _server_message(content)
    if status in (401, 403):
        return Failure(
            f"enforcer rejected the API key (HTTP {status}{detail}); check THOTH_API_KEY or api_key",
            ReasonCode.AUTH_REJECTED,
        )
    if status == 429:
        after = retry_after_seconds(headers)
        return Failure(
            f"enforcer is rate limiting (HTTP 429{detail})",
            ReasonCode.RATE_LIMITED,
            retryable=after is not None,
            retry_after=after,
        )
    if status >= 500:
        return Failure(
            f"enforcer failed (HTTP {status}{detail})",
            ReasonCode.ENFORCER_ERROR,
            retryable=status in GATEWAY_STATUSES,
            retry_after=retry_after_seconds(headers),
        )
    if 400 <= status < 500:
        return Failure(f"enforcer rejected the request (HTTP {status}{detail})", ReasonCode.REQUEST_REJECTED)
    return Failure(f"enforcer answered an unexpected HTTP {status}", ReasonCode.MALFORMED_RESPONSE)


def _is_dns_failure(exc: BaseException) -> bool:
    current: BaseException | None = exc
    visited: set[int] = set()
    while current is not None and id(current) not in visited:  # exception chains can loop
        if isinstance(current, socket.gaierror):
            return True
        visited.add(id(current))
        current = current.__cause__ or current.__context__
    text = str(exc).lower()
    return "name or service not known" in text or "nodename nor servname" in text or "name resolution" in text


def from_exception(exc: BaseException) -> Failure:
    """An exception raised while sending the request or reading the answer."""
    if isinstance(exc, httpx.ConnectTimeout):
        return Failure("timed out connecting to the enforcer", ReasonCode.ENFORCER_TIMEOUT, retryable=True)
    if isinstance(exc, httpx.TimeoutException):
        return Failure(f"enforcer did not answer in time ({type(exc).__name__})", ReasonCode.ENFORCER_TIMEOUT)
    if isinstance(exc, httpx.ConnectError):
        if _is_dns_failure(exc):
            return Failure(
                "cannot resolve the enforcer's host name (DNS failure)", ReasonCode.ENFORCER_UNREACHABLE
            )
        return Failure(
            "cannot connect to the enforcer (connection refused or unreachable)",
            ReasonCode.ENFORCER_UNREACHABLE,
            retryable=True,
        )
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return Failure(
            "connection to the enforcer was reset", ReasonCode.ENFORCER_UNREACHABLE, retryable=True
        )
    if isinstance(exc, httpx.HTTPError):
        return Failure(
            f"transport error talking to the enforcer ({type(exc).__name__})", ReasonCode.ENFORCER_UNREACHABLE
        )
    return Failure(
        f"internal error while asking the enforcer ({type(exc).__name__})", ReasonCode.ENFORCER_ERROR
    )
