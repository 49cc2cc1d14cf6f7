"""One decision, from a call and the session's record to the answer (pure).

The enforcer (``thoth serve``, inside the transaction that reads and writes the session), local
decisions in the SDK and ``thoth policy test`` all decide here, so they cannot disagree.
"""

from __future__ import annotations

from typing import Any, Final, Literal

import attrs

from thoth._wire import EnforcementMode
from thoth.policy.modes import Outcome, apply_mode, for_a_client_without_modify
from thoth.policy.rules import Call, Decision, Policy, PolicyResult
from thoth.policy.session import SessionRecord

IDENTITY_RULE_ID: Final = "builtin.identity_binding"
DECISION_ENVELOPE_VERSION: Final = "1"

Fact = Literal["ran", "refused"]
_FACT_OF: Final[dict[Decision, Fact]] = {
    Decision.ALLOW: "ran",
    Decision.MODIFY: "ran",
    Decision.BLOCK: "refused",
}


@attrs.frozen
class Decided:
    """A decision: the policy's ``result``, the ``outcome`` the caller is told, and the ``fact``
    it adds to the session's record (``None``: nothing yet, as for a hold or a DEFER)."""

    result: PolicyResult
    outcome: Outcome
    fact: Fact | None


def decide(
    policy: Policy,
    call: Call,
    record: SessionRecord,
    now: float,
    *,
    predates_modify: bool = False,
    agent_tokens_today: int = 0,
) -> Decided:
    """Decide ``call`` against the session as ``record`` knows it, and add the fact to ``record``.

    ``predates_modify``: the caller cannot apply MODIFY or DEFER (aten-thoth <= 0.1.6).
    ``agent_tokens_today``: the agent's LLM tokens this UTC day, for ``tokens_per_agent_per_day``."""
    result = identity_mismatch(call) or policy.evaluate(
        call, record, now, agent_tokens_today=agent_tokens_today
    )
    outcome = apply_mode(result, call.mode, record.should_escalate(call.tool))
    if predates_modify:
        outcome = for_a_client_without_modify(outcome)
    fact = "ran" if call.mode is EnforcementMode.OBSERVE else _FACT_OF.get(outcome.decision)
    if fact == "ran":
        record.ran(call.tool, now)
    elif fact == "refused":
        record.refused(call.tool)
    return Decided(result, outcome, fact)


def identity_mismatch(call: Call) -> PolicyResult | None:
    """A call bound to an identity other than the one it claims is refused before any rule."""
    claimed = {"agent_id": call.agent, "tenant_id": call.tenant, "user_id": call.user}
    for field, value in claimed.items():
        bound = call.identity_binding.get(field)
        if bound is not None and bound != value:
            return PolicyResult(
                decision=Decision.BLOCK,
                reason=f"identity_binding.{field} does not match the request's {field}",
                reason_code="identity_mismatch",
                rule_id=IDENTITY_RULE_ID,
                matched_rule_ids=(IDENTITY_RULE_ID,),
            )
    return None


def answer(decided: Decided, policy_version: str, default_hold_timeout: float) -> dict[str, Any]:
    """The enforce answer's fields that follow from the decision alone (the contract's
    ``EnforceResponse``); the enforcer adds what it alone has (violation id, hold, latency)."""
    result, outcome = decided.result, decided.outcome
    response: dict[str, Any] = {
        "decision": outcome.decision.value,
        "reason": outcome.reason,
        "decision_reason_code": outcome.reason_code,
        "matched_rule_ids": list(result.matched_rule_ids),
        "policy_version": policy_version,
        "policy_references": [f"policy:{policy_version}#{rule}" for rule in result.matched_rule_ids],
        "decision_envelope_version": DECISION_ENVELOPE_VERSION,
    }
    if outcome.shadow_decision is not None:
        response["shadow_decision"] = outcome.shadow_decision.value
    if outcome.decision is Decision.MODIFY:
        response["modified_tool_args"] = result.modified_args
        response["modification_reason"] = result.reason
    elif outcome.decision is Decision.DEFER:
        response["defer_reason"] = result.reason
        response["defer_timeout_seconds"] = result.defer_timeout_seconds or 60.0
    elif outcome.decision is Decision.STEP_UP:
        response["step_up_timeout_seconds"] = result.hold_timeout_seconds or default_hold_timeout
    return response
