"""Enforcement modes: what the caller is told once the policy has decided (pure)."""

from __future__ import annotations

from typing import Final

import attrs

from thoth._wire import EnforcementMode
from thoth.policy.rules import Decision, PolicyResult


@attrs.frozen
class Outcome:
    """What the caller is told, after the mode is applied."""

    decision: Decision
    reason: str
    reason_code: str
    shadow_decision: Decision | None = None


def apply_mode(result: PolicyResult, mode: EnforcementMode, escalate: bool) -> Outcome:
    """observe: always ALLOW (the policy's decision is the shadow); block: STEP_UP becomes BLOCK;
    step_up: as decided; progressive: STEP_UP, or BLOCK when ``escalate`` (the session had a
    hold denied or repeats a violation)."""
    decision = result.decision
    if mode == EnforcementMode.OBSERVE:
        return Outcome(Decision.ALLOW, f"observe mode: {result.reason}", "OBSERVE", decision)
    if decision is Decision.STEP_UP and mode == EnforcementMode.BLOCK:
        return Outcome(Decision.BLOCK, result.reason, result.reason_code)
    if decision is Decision.STEP_UP and mode == EnforcementMode.PROGRESSIVE and escalate:
        return Outcome(Decision.BLOCK, f"{result.reason} (repeated in this session)", "REPEATED_VIOLATION")
    return Outcome(decision, result.reason, result.reason_code)


CLIENT_CANNOT_APPLY: Final = "CLIENT_CANNOT_APPLY"


def for_a_client_without_modify(outcome: Outcome) -> Outcome:
    """The answer for a client that knows only ALLOW, BLOCK and STEP_UP (aten-thoth <= 0.1.6).

    Those releases run the tool on any answer they cannot read, so a MODIFY would run with the
    arguments it meant to rewrite and a DEFER would run at once: they are told BLOCK instead.
    """
    if outcome.decision not in (Decision.MODIFY, Decision.DEFER):
        return outcome
    reason = f"{outcome.reason} (a {outcome.decision.value} this client cannot apply, so blocked)"
    return Outcome(Decision.BLOCK, reason, CLIENT_CANNOT_APPLY, outcome.shadow_decision)
