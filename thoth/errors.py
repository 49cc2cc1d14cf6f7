"""Exceptions raised by Thoth, and the text a model reads when a call is refused."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from thoth.explanations import Explanation

__all__ = [
    "ReasonCode",
    "ThothConfigError",
    "ThothError",
    "ThothPolicyViolation",
    "refusal_text",
]


class ReasonCode:
    """Machine-readable causes carried by :class:`ThothPolicyViolation`.

    A policy decision uses the enforcer's own ``decision_reason_code`` when it
    sends one; the codes below are the SDK's own, for refusals it decides itself
    while failing closed.
    """

    POLICY_BLOCK = "policy_block"
    DEFERRED = "deferred"
    STEP_UP_DENIED = "step_up_denied"
    STEP_UP_TIMEOUT = "step_up_timeout"
    ENFORCER_UNREACHABLE = "enforcer_unreachable"
    ENFORCER_TIMEOUT = "enforcer_timeout"
    ENFORCER_ERROR = "enforcer_error"
    RATE_LIMITED = "rate_limited"
    AUTH_REJECTED = "auth_rejected"
    REQUEST_REJECTED = "request_rejected"
    MALFORMED_RESPONSE = "malformed_response"
    UNKNOWN_DECISION = "unknown_decision"
    MISSING_HOLD_TOKEN = "missing_hold_token"  # noqa: S105 - a reason code, not a secret
    BUNDLE_MISSING = "bundle_missing"  # local decisions: no policy bundle yet
    BUNDLE_STALE = "bundle_stale"  # local decisions: the last good bundle is older than allowed


# The codes of refusals no policy decided: Thoth could not get a decision and failed closed.
FAILED_CLOSED_CODES = frozenset(
    {
        ReasonCode.ENFORCER_UNREACHABLE,
        ReasonCode.ENFORCER_TIMEOUT,
        ReasonCode.ENFORCER_ERROR,
        ReasonCode.RATE_LIMITED,
        ReasonCode.AUTH_REJECTED,
        ReasonCode.REQUEST_REJECTED,
        ReasonCode.MALFORMED_RESPONSE,
        ReasonCode.UNKNOWN_DECISION,
        ReasonCode.MISSING_HOLD_TOKEN,
        ReasonCode.BUNDLE_MISSING,
        ReasonCode.BUNDLE_STALE,
    }
)


class ThothError(Exception):
    """Base class of every exception Thoth raises."""


class ThothConfigError(ThothError, ValueError):
    """The configuration given to ``instrument()`` (or ``ThothConfig``) cannot work.

    The message says what to fix. It never contains the API key.
    """


class ThothPolicyViolation(ThothError):
    """A governed tool call was refused; the tool did not run.

    Attributes:
        tool_name: the tool that was refused.
        reason: a human-readable reason.
        violation_id: the enforcer's reference for the violation record, if any.
        decision: ``"BLOCK"``, ``"DEFER"`` or ``"STEP_UP"`` (denied or timed out).
        reason_code: why, machine-readable: the enforcer's ``decision_reason_code``
            or one of :class:`ReasonCode` when the SDK failed closed.
        retry_after_seconds: for DEFER, when the caller may try again.
        failed_closed: True when no policy decided the refusal: Thoth could not
            get a decision (enforcer down, key rejected, a malformed answer...)
            and refused the call rather than run it unchecked. The message says so.
        receipt: the enforcer's signed receipt for the decision that refused the
            call (for a denied step-up, the STEP_UP decision's), when it sent one;
            check it with ``thoth.receipts.verify_receipt``.
        matched_rule_ids: the ids of the policy rules that decided, as the enforcer sent them.
        decision_id: the refused call's decision id, which its decision (on the enforcer) and
            every event of the call carry: ``thoth events tail`` prints it, and
            ``GET /v1/events?decision_id=`` lists the call's events.

    :meth:`explain` asks the enforcer why, in plain language.
    """

    _explainer: Callable[[ThothPolicyViolation], Explanation] | None = None
    _async_explainer: Callable[[ThothPolicyViolation], Awaitable[Explanation]] | None = None

    def __init__(
        self,
        tool_name: str,
        reason: str,
        violation_id: str | None = None,
        *,
        decision: str = "BLOCK",
        reason_code: str | None = None,
        retry_after_seconds: float | None = None,
        receipt: Mapping[str, Any] | None = None,
        matched_rule_ids: Sequence[str] = (),
        decision_id: str | None = None,
    ) -> None:
        self.tool_name = tool_name
        self.decision_id = decision_id
        self.reason = reason
        self.violation_id = violation_id
        self.decision = decision
        self.reason_code = reason_code
        self.retry_after_seconds = retry_after_seconds
        self.receipt = dict(receipt) if receipt is not None else None
        self.matched_rule_ids = tuple(matched_rule_ids)
        if self.failed_closed:
            message = f"Thoth blocked tool '{tool_name}' (failed closed, no policy decision): {reason}"
        else:
            message = f"Thoth blocked tool '{tool_name}': {reason}"
        if violation_id:
            message += f" (violation_id={violation_id})"
        super().__init__(message)

    @property
    def failed_closed(self) -> bool:
        """True when Thoth refused the call because it could not get a policy decision."""
        return self.reason_code in FAILED_CLOSED_CODES

    def explain(self) -> Explanation:
        """Why the call was refused, in plain language: which rule, why, what would have let it
        run, who can approve it (``POST /v1/explain``; the enforcer reads its stored decision).

        A refusal no policy decided (:attr:`failed_closed`) is explained without a request.
        Raises ThothError when the enforcer cannot be asked or answers no explanation, or when
        this violation was not raised by a governed call of this process (say, it was unpickled).
        """
        from thoth import explanations

        if self.failed_closed:
            return explanations.failed_closed(self)
        if self._explainer is None:
            raise ThothError(_NO_EXPLAINER)
        return self._explainer(self)

    async def aexplain(self) -> Explanation:
        """Async :meth:`explain`: never blocks the event loop."""
        from thoth import explanations

        if self.failed_closed:
            return explanations.failed_closed(self)
        if self._async_explainer is None:
            raise ThothError(_NO_EXPLAINER)
        return await self._async_explainer(self)

    def __reduce__(self) -> tuple[object, ...]:  # keep keyword-only fields across pickling
        return (
            _rebuild_violation,
            (
                self.tool_name,
                self.reason,
                self.violation_id,
                self.decision,
                self.reason_code,
                self.retry_after_seconds,
                self.receipt,
                self.matched_rule_ids,
                self.decision_id,
            ),
        )


_NO_EXPLAINER = (
    "this violation was not raised by a governed call of this process, so there is no enforcer "
    "to ask; explain it with POST /v1/explain and its violation_id"
)


def _rebuild_violation(
    tool_name: str,
    reason: str,
    violation_id: str | None,
    decision: str,
    reason_code: str | None,
    retry_after_seconds: float | None,
    receipt: Mapping[str, Any] | None = None,  # absent from violations pickled before receipts
    matched_rule_ids: Sequence[str] = (),  # absent from violations pickled before explain()
    decision_id: str | None = None,  # absent from violations pickled before decision ids
) -> ThothPolicyViolation:
    return ThothPolicyViolation(
        tool_name,
        reason,
        violation_id,
        decision=decision,
        reason_code=reason_code,
        retry_after_seconds=retry_after_seconds,
        receipt=receipt,
        matched_rule_ids=matched_rule_ids,
        decision_id=decision_id,
    )


def refusal_text(violation: ThothPolicyViolation) -> str:
    """The message a model should read in place of the tool's result.

    It says that the tool did not run and why, so the model can choose another
    path rather than retrying blindly.
    """
    if violation.failed_closed:
        return (
            f"[Thoth policy] The tool '{violation.tool_name}' was not run: Thoth could not get a policy "
            f"decision ({violation.reason}) and failed closed; no policy refused it. "
            "Continue without it or ask the user; it may work once Thoth's enforcer answers again."
        )
    text = f"[Thoth policy] The tool '{violation.tool_name}' was not run: {violation.reason}."
    if violation.decision == "DEFER" and violation.retry_after_seconds:
        text += f" It may be retried in {violation.retry_after_seconds:g} seconds."
    elif violation.decision != "DEFER":
        text += " Do not retry it; continue without it or ask the user."
    if violation.violation_id:
        text += f" (violation {violation.violation_id})"
    return text
