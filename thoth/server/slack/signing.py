"""Slack's request signatures (pure): ``X-Slack-Signature: v0=<hex HMAC-SHA256>`` of
``v0:<timestamp>:<raw body>`` under the app's signing secret, with ``X-Slack-Request-Timestamp``.

A click is an approval, so a request is honoured only when its signature matches the raw body
as received (not a re-encoding of the parsed form) and its timestamp is recent: a captured
request cannot be replayed after :data:`MAX_SKEW_SECONDS` (within it, the caller's replay store
refuses a second use). The reasons returned name the check that failed and never echo the
secret or the signature.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

__all__ = ["MAX_SKEW_SECONDS", "sign", "verify"]

MAX_SKEW_SECONDS: Final = 300
VERSION: Final = "v0"
#: digits of a unix time in seconds, with room to spare: longer is not a timestamp
_TIMESTAMP_MAX_DIGITS: Final = 12


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The ``X-Slack-Signature`` value Slack would send for ``body`` at ``timestamp``."""
    base = f"{VERSION}:{timestamp}:".encode("ascii") + body
    return f"{VERSION}=" + hmac.new(secret, base, hashlib.sha256).hexdigest()


def verify(
    secret: bytes, timestamp: str | None, signature: str | None, body: bytes, now: float
) -> str | None:
    """None when Slack signed ``body`` at ``timestamp`` within :data:`MAX_SKEW_SECONDS` of
    ``now`` (either way: a clock ahead is no better than one behind), else why not (for a 401)."""
    if not secret:
        return "no signing secret configured"
    if not timestamp:
        return "missing timestamp"
    if not signature:
        return "missing signature"
    problem = _timestamp_problem(timestamp, now)
    if problem is not None:
        return problem
    expected = sign(secret, timestamp, body).encode("ascii")
    if not hmac.compare_digest(expected, signature.encode("utf-8", "surrogatepass")):
        return "bad signature"
    return None


def _timestamp_problem(timestamp: str, now: float) -> str | None:
    # ASCII digits only: int() would also take "+1", " 1", "1_0" and other scripts' digits.
    if len(timestamp) > _TIMESTAMP_MAX_DIGITS or not (timestamp.isascii() and timestamp.isdigit()):
        return "bad timestamp"
    if abs(now - int(timestamp)) > MAX_SKEW_SECONDS:
        return "stale timestamp"
    return None
