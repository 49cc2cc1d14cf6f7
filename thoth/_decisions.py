"""Turn whatever an enforcer answered into a decision the SDK can act on.

Pure functions, no I/O. Everything that is not clearly a known decision
becomes BLOCK, with a reason code saying why (fail closed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from thoth._wire import DecisionType
from thoth.errors import ReasonCode

__all__ = [
    "EnforcementDecision",
    "HoldOutcome",
    "block",
    "normalize_enforce_payload",
    "normalize_hold_payload",
]

_ALIASES: dict[str, DecisionType] = {
    "ALLOW": DecisionType.ALLOW,
    "BLOCK": DecisionType.BLOCK,
    "DENY": DecisionType.BLOCK,
    "STEP_UP": DecisionType.STEP_UP,
    "CHALLENGE": DecisionType.STEP_UP,
    "ESCALATE": DecisionType.STEP_UP,
    "REVIEW": DecisionType.STEP_UP,
    "MODIFY": DecisionType.MODIFY,
    "MODIFIED": DecisionType.MODIFY,
    "TRANSFORM": DecisionType.MODIFY,
    "DEFER": DecisionType.DEFER,
    "DEFERRED": DecisionType.DEFER,
    "HOLD": DecisionType.DEFER,
}


@dataclass(frozen=True, slots=True)
class EnforcementDecision:
    """One decision, normalised. ``reason_code`` is set whenever the SDK overrode the answer."""

    decision: DecisionType
    reason: str | None = None
    reason_code: str | None = None
    violation_id: str | None = None
    hold_token: str | None = None
    modified_args: dict[str, Any] | None = None
    retry_after_seconds: float | None = None
    step_up_timeout_seconds: float | None = None
    matched_rule_ids: tuple[str, ...] = field(default=())
    raw: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    #: The server's signed receipt for this decision, as sent (a server with a receipt signing
    #: key sends one); check it with ``thoth.receipts.verify_receipt``. Not checked here: the SDK
    #: acts on the decision it was answered either way.
    receipt: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    #: A STEP_UP's console page (``thoth serve --public-url``): where a human approves it.
    approval_url: str | None = None


def block(reason: str, reason_code: str) -> EnforcementDecision:
    """A BLOCK the SDK decided itself (fail closed)."""
    return EnforcementDecision(DecisionType.BLOCK, reason=reason, reason_code=reason_code)


def _text(payload: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = payload.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return None


def _number(payload: dict[str, Any], *keys: str) -> float | None:
    for key in keys:
        value = payload.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            return float(value)
    return None


def normalize_enforce_payload(payload: Any) -> EnforcementDecision:
    """Map a ``POST /v1/enforce`` response body (already JSON-decoded) to a decision."""
    if not isinstance(payload, dict):
        return block(
            f"enforcer answered a JSON {type(payload).__name__}, not an object", ReasonCode.MALFORMED_RESPONSE
        )
    raw_decision = (
        payload.get("decision")
        or payload.get("authorization_decision")
        or payload.get("authorizationDecision")
    )
    if raw_decision is None:
        return block("enforcer answered without a decision", ReasonCode.UNKNOWN_DECISION)
    decision = _ALIASES.get(str(raw_decision).strip().upper()) if isinstance(raw_decision, str) else None
    if decision is None:
        return block(
            f"enforcer answered an unknown decision {str(raw_decision)[:64]!r}", ReasonCode.UNKNOWN_DECISION
        )

    reason_code = _text(payload, "decision_reason_code", "decisionReasonCode")
    common: dict[str, Any] = {
        "violation_id": _text(payload, "violation_id", "violationId"),
        "raw": payload,
        "receipt": payload["receipt"] if isinstance(payload.get("receipt"), dict) else None,
        "matched_rule_ids": tuple(
            str(r) for r in payload.get("matched_rule_ids") or () if isinstance(r, str)
        ),
    }
    reason = _text(payload, "reason")
    if decision is DecisionType.STEP_UP:
        token = _text(payload, "hold_token", "holdToken")
        if token is None:
            return block(
                "enforcer asked for step-up approval without a hold token", ReasonCode.MISSING_HOLD_TOKEN
            )
        return EnforcementDecision(
            decision,
            reason=reason,
            reason_code=reason_code,
            hold_token=token,
            step_up_timeout_seconds=_number(payload, "step_up_timeout_seconds", "stepUpTimeoutSeconds"),
            approval_url=_web_address(_text(payload, "approval_url", "approvalUrl")),
            **common,
        )
    if decision is DecisionType.MODIFY:
        modified = payload.get("modified_tool_args", payload.get("modifiedToolArgs"))
        if not isinstance(modified, dict):
            return block("enforcer answered MODIFY without modified_tool_args", ReasonCode.MALFORMED_RESPONSE)
        return EnforcementDecision(
            decision,
            reason=reason or _text(payload, "modification_reason"),
            reason_code=reason_code,
            modified_args=modified,
            **common,
        )
    if decision is DecisionType.DEFER:
        return EnforcementDecision(
            decision,
            reason=_text(payload, "defer_reason") or reason or "deferred pending additional context",
            reason_code=reason_code or ReasonCode.DEFERRED,
            retry_after_seconds=_number(payload, "defer_timeout_seconds", "deferTimeoutSeconds"),
            **common,
        )
    if decision is DecisionType.BLOCK:
        return EnforcementDecision(
            decision,
            reason=reason or "blocked by Thoth policy",
            reason_code=reason_code or ReasonCode.POLICY_BLOCK,
            **common,
        )
    return EnforcementDecision(decision, reason=reason, reason_code=reason_code, **common)


def _web_address(text: str | None) -> str | None:
    """An http(s) URL of printable ASCII, else None: it is logged for a human to open, so an
    answer cannot put control characters or another scheme in front of them."""
    if text is None or len(text) > 2048 or not text.isascii() or not text.isprintable() or " " in text:
        return None
    return text if text.startswith(("https://", "http://")) else None


@dataclass(frozen=True, slots=True)
class HoldOutcome:
    """The state of a step-up hold: ``approved`` is None while pending."""

    approved: bool | None
    reason: str | None = None
    reason_code: str | None = None
    approver: str | None = None  # who resolved it, when the enforcer says so


PENDING = HoldOutcome(None)


def normalize_hold_payload(payload: Any) -> HoldOutcome:
    """Map a ``GET /v1/enforce/hold/{token}`` body: the hold shape or the older decision shape."""
    if not isinstance(payload, dict):
        return HoldOutcome(False, "hold status was not a JSON object", ReasonCode.MALFORMED_RESPONSE)
    reason = _text(payload, "reason")
    if "resolved" in payload:
        if payload["resolved"] is not True:
            return (
                PENDING
                if payload["resolved"] is False
                else HoldOutcome(
                    False, "hold status has a non-boolean 'resolved'", ReasonCode.MALFORMED_RESPONSE
                )
            )
        resolution = payload.get("resolution")
        approver = _text(payload, "approver")
        if isinstance(resolution, str) and _ALIASES.get(resolution.strip().upper()) is DecisionType.ALLOW:
            return HoldOutcome(True, reason, approver=approver)
        return HoldOutcome(
            False, reason or "step-up request denied", ReasonCode.STEP_UP_DENIED, approver=approver
        )
    legacy = payload.get("decision") or payload.get("authorization_decision")
    if isinstance(legacy, str):
        decision = _ALIASES.get(legacy.strip().upper())
        if decision is DecisionType.ALLOW:
            return HoldOutcome(True, reason)
        if decision is DecisionType.STEP_UP or decision is DecisionType.DEFER:
            return PENDING
        return HoldOutcome(False, reason or "step-up request denied", ReasonCode.STEP_UP_DENIED)
    return HoldOutcome(
        False, "hold status has neither 'resolved' nor 'decision'", ReasonCode.MALFORMED_RESPONSE
    )
