"""Plain-language explanations of refusals: ``violation.explain()``.

A refused call's :class:`~thoth.errors.ThothPolicyViolation` can say, in words a person
reads, which rule decided, why, what would have let the call run and who can approve it::

    try:
        send_email(to="bob@example.com")
    except thoth.ThothPolicyViolation as violation:
        print(violation.explain())  # asks the enforcer: POST /v1/explain

The enforcer explains from the policy's own metadata (and from the decision it stored,
when the violation has an id). A refusal no policy decided (``violation.failed_closed``:
the enforcer was down, the key was rejected...) is explained here, without a request:
the enforcer has nothing to say about a decision it never made.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from thoth.errors import ThothPolicyViolation

__all__ = ["Explanation"]

_SEVERITIES: Final = ("low", "medium", "high", "critical")


@dataclass(frozen=True, slots=True)
class Explanation:
    """One decision, explained. ``str()`` gives a paragraph for a person; the fields are for code.

    ``source`` is ``"stored"`` when the enforcer explained the decision it recorded,
    ``"request"`` when it explained the decision as the SDK stated it, and ``"sdk"`` for a
    refusal the SDK made itself because it could not get a decision.
    """

    tool_name: str
    decision: str
    what_happened: str
    why: str
    what_to_do_next: str
    business_impact: str
    severity: str
    approvers: tuple[str, ...] = ()
    matched_rule_ids: tuple[str, ...] = ()
    reason_code: str | None = None
    violation_id: str | None = None
    policy_version: str | None = None
    source: str = "request"
    raw: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)

    def __str__(self) -> str:
        lines = [self.what_happened, f"Why: {self.why}", f"What to do: {self.what_to_do_next}"]
        if self.approvers:
            lines.append(f"Who can approve: {', '.join(self.approvers)}")
        lines.append(f"Impact: {self.business_impact} (severity {self.severity})")
        return "\n".join(lines)


class MalformedExplanation(ValueError):
    """The enforcer's answer is not an explanation; the message says what is missing."""


def from_payload(payload: Any, violation: ThothPolicyViolation) -> Explanation:
    """The explanation in a ``POST /v1/explain`` answer (already JSON-decoded)."""
    if not isinstance(payload, Mapping):
        raise MalformedExplanation(f"the answer is a JSON {type(payload).__name__}, not an object")
    texts = {}
    for name in ("what_happened", "why_it_was_blocked", "what_to_do_next", "business_impact"):
        value = payload.get(name)
        if not isinstance(value, str) or not value:
            raise MalformedExplanation(f"the answer has no {name}")
        texts[name] = value
    severity = payload.get("severity")
    return Explanation(
        tool_name=_text(payload.get("tool_name")) or violation.tool_name,
        decision=_text(payload.get("decision")) or violation.decision,
        what_happened=texts["what_happened"],
        why=texts["why_it_was_blocked"],
        what_to_do_next=texts["what_to_do_next"],
        business_impact=texts["business_impact"],
        severity=severity if severity in _SEVERITIES else "high",
        approvers=_texts(payload.get("approvers")),
        matched_rule_ids=_texts(payload.get("matched_rule_ids")),
        reason_code=_text(payload.get("decision_reason_code")) or violation.reason_code,
        violation_id=_text(payload.get("violation_id")) or violation.violation_id,
        policy_version=_text(payload.get("policy_version")),
        source=_text(payload.get("source")) or "request",
        raw=dict(payload),
    )


def failed_closed(violation: ThothPolicyViolation) -> Explanation:
    """A refusal the SDK made because it could not get a decision, explained without asking."""
    return Explanation(
        tool_name=violation.tool_name,
        decision="BLOCK",
        what_happened=f"The call to {violation.tool_name} was refused without a policy decision.",
        why=f"Thoth could not get a decision from the enforcer ({violation.reason_code}): {violation.reason}",
        what_to_do_next=(
            "Check that the enforcer is running and reachable at the configured api_url, and that "
            "the API key is valid; then try the call again. Thoth fails closed: an undecided call never runs."
        ),
        business_impact=f"The agent's task could not use {violation.tool_name} until the enforcer answers.",
        severity="high",
        reason_code=violation.reason_code,
        source="sdk",
    )


def request_body(violation: ThothPolicyViolation, context: Mapping[str, Any]) -> dict[str, Any]:
    """The ``POST /v1/explain`` body: the agent's identity (``context``) and the decision."""
    body: dict[str, Any] = dict(context)
    body.update(
        tool_name=violation.tool_name,
        decision=violation.decision,
        decision_reason_code=violation.reason_code,
        reason=violation.reason[:4096],
    )
    if violation.violation_id:
        body["violation_id"] = violation.violation_id
    if violation.matched_rule_ids:
        body["matched_rule_ids"] = list(violation.matched_rule_ids[:100])
    return body


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _texts(value: Any) -> tuple[str, ...]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        return ()
    return tuple(item for item in value if isinstance(item, str))
