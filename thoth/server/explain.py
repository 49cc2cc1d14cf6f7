"""Plain-language explanations of decisions, from the policy's own rules (pure).

``POST /v1/explain`` answers in the shape atensec-thoth 0.5's ``HumanExplanation`` reads:
what happened, why, what to do next, the business impact and a severity.
"""

from __future__ import annotations

from typing import Any, Final

import attrs

from thoth.policy import IDENTITY_RULE_ID, SCOPE_RULE_ID, Policy, Rule

_SEVERITY: Final = {"BLOCK": "high", "STEP_UP": "medium", "DEFER": "medium", "MODIFY": "low", "ALLOW": "low"}
_VERB: Final = {
    "ALLOW": "was allowed",
    "BLOCK": "was blocked",
    "STEP_UP": "was held for a human's approval",
    "MODIFY": "ran with rewritten arguments",
    "DEFER": "was deferred",
}
_APPROVERS: Final = "a holder of an admin key, with `thoth holds approve` or the API"


@attrs.frozen
class DecisionFacts:
    """What is known of the decision being explained (stored, or as the client states it)."""

    tool_name: str
    decision: str | None = None
    reason_code: str | None = None
    rule_ids: tuple[str, ...] = ()
    reason: str | None = None
    violation_id: str | None = None
    tenant_id: str | None = None
    agent_id: str | None = None
    user_id: str | None = None
    session_id: str | None = None
    approved_scope: tuple[str, ...] = ()
    mode: str | None = None


def explain(policy: Policy, facts: DecisionFacts) -> dict[str, Any]:
    decision = (facts.decision or "BLOCK").upper()
    rules = {rule.id: rule for rule in policy.rules}
    deciding = next((rules[i] for i in facts.rule_ids if i in rules), None)
    tool = facts.tool_name
    return {
        "violation_id": facts.violation_id or "",
        "tenant_id": facts.tenant_id,
        "session_id": facts.session_id,
        "agent_id": facts.agent_id,
        "user_id": facts.user_id,
        "tool_name": tool,
        "decision": decision,
        "decision_reason_code": facts.reason_code,
        "matched_rule_ids": list(facts.rule_ids),
        "what_happened": f"The call to {tool} {_VERB.get(decision, 'was refused')}.",
        "why_it_was_blocked": _why(facts, deciding),
        "what_to_do_next": _next_step(facts, deciding, decision),
        "business_impact": _impact(decision, tool),
        "severity": _SEVERITY.get(decision, "high"),
        "approvers": [_APPROVERS] if decision == "STEP_UP" else [],  # a BLOCK has no hold to approve
    }


def _why(facts: DecisionFacts, rule: Rule | None) -> str:
    if rule is not None:
        return f"Policy rule {rule.id} ({rule.code}): {rule.reason}."
    if SCOPE_RULE_ID in facts.rule_ids and facts.reason_code == "OUT_OF_SCOPE":
        return f"{facts.tool_name} is not in the session's approved scope."
    if IDENTITY_RULE_ID in facts.rule_ids:
        return "The call was bound to an identity other than the one it claimed."
    if facts.reason:
        return facts.reason
    return "No rule of the active policy names this decision."


def _next_step(facts: DecisionFacts, rule: Rule | None, decision: str) -> str:
    if decision == "ALLOW":
        return "Nothing: the call may run."
    if rule is not None and rule.limit is not None:
        return "Wait until the rule's limit window has passed, or ask an approver."
    if facts.reason_code == "OUT_OF_SCOPE":
        return f"Add {facts.tool_name} to the agent's approved_scope, or have an approver allow this call."
    if decision == "STEP_UP":
        return "Wait for an approver to resolve the hold."
    if rule is not None:
        return f"Change or remove policy rule {rule.id}, or run the agent without this call."
    return "Check the agent's identity and the policy with the team that runs Thoth."


def _impact(decision: str, tool: str) -> str:
    if decision in ("ALLOW", "MODIFY"):
        return f"The agent's task went on; {tool} ran."
    if decision in ("STEP_UP", "DEFER"):
        return f"The agent waits until {tool} is resolved."
    return f"The agent's task could not use {tool}."
