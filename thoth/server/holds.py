"""Step-up holds: tokens and the wire shapes (pure). Arguments are named by
``thoth.receipts.args_sha256``, the digest a receipt names them by too, and kept for the
approver only as ``redacted_args``."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Mapping
from typing import Any, Final

from thoth._redaction import to_content
from thoth._wire import DecisionType

_RESOLUTION_OF: Final = {
    "approved": DecisionType.ALLOW.value,
    "denied": DecisionType.BLOCK.value,
    "expired": DecisionType.BLOCK.value,
}


def new_token() -> str:
    """An unguessable token (192 random bits)."""
    return "hold_" + secrets.token_urlsafe(24)


#: hex digits of a hold's ref: 80 bits, so two holds of one store never share one
REF_HEX: Final = 20


def ref_of(token: str) -> str:
    """The hold's public name: a digest of its token, so it names the hold without being able to
    poll or resolve it (the token is a bearer credential and never goes in a URL)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()[:REF_HEX]


#: how much of a call's arguments a hold keeps for its approver (as an event's content by default)
REDACTED_ARGS_MAX_CHARS: Final = 4096


def redacted_args(args: Mapping[str, Any]) -> str:
    """What an approver reads of the call: its arguments redacted as the SDK redacts event
    content (secrets replaced, cut to a bound), never the raw values the policy saw."""
    return to_content(args, max_chars=REDACTED_ARGS_MAX_CHARS)


def iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat().replace("+00:00", "Z")


def state(row: Mapping[str, Any], now: float) -> str:
    """pending, approved, denied or expired (a pending hold past its expiry)."""
    if row["status"] == "pending" and row["expires_at"] <= now:
        return "expired"
    return str(row["status"])


def to_hold(row: Mapping[str, Any], now: float) -> dict[str, Any]:
    """The contract's Hold."""
    return {
        "hold_token": row["hold_token"],
        "hold_ref": row.get("hold_ref") or ref_of(row["hold_token"]),
        "status": state(row, now),
        "tenant_id": row["tenant_id"],
        "agent_id": row["agent_id"],
        "session_id": row["session_id"],
        "user_id": row.get("user_id"),
        "tool_name": row["tool_name"],
        "args_sha256": row["args_sha256"],
        "reason": row.get("reason"),
        "rule_id": row.get("rule_id"),
        "created_at": iso(row["created_at"]),
        "expires_at": iso(row["expires_at"]),
        "resolved_at": iso(row.get("resolved_at")),
        "approver": row.get("approver"),
        "resolution_reason": row.get("resolution_reason"),
    }


def to_status(row: Mapping[str, Any], now: float, *, detail: bool = True) -> dict[str, Any]:
    """The contract's HoldPollResponse, as the SDK polls it; without ``detail`` (a caller holding only
    the token) the reason names no approver and carries no free text."""
    current = state(row, now)
    resolution = _RESOLUTION_OF.get(current)
    approver = (row["approver"] if detail else None) or "an approver"
    if current == "approved":
        reason = f"approved by {approver}"
    elif current == "denied":
        reason = f"denied by {approver}"
    elif current == "expired":
        reason = "step-up auth timeout"
    else:
        reason = "awaiting approval"
    if detail and row["resolution_reason"]:
        reason = f"{reason}: {row['resolution_reason']}"
    status = {
        "hold_token": row["hold_token"],
        "resolved": resolution is not None,
        "resolution": resolution,
        "reason": reason,
        "decision": resolution or DecisionType.STEP_UP.value,
        "expires_at": iso(row["expires_at"]),
    }
    if detail and row["approver"]:
        status["approver"] = row["approver"]
    return status
