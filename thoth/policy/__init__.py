"""The policy engine: one definition of a call, one evaluation, wherever a decision is made.

Pure (no HTTP, no database, no clock of its own): ``thoth serve`` decides with it inside the
transaction that reads the session, the SDK decides with it in process from a bundle
(``decision_mode="local"``), and ``thoth policy test`` runs its cases through it.

    policy = thoth.policy.load_policy(text, "policy.yaml")
    record = thoth.policy.SessionRecord()
    decided = thoth.policy.decide(policy, thoth.policy.Call.from_request(body), record, time.time())
"""

from thoth.policy.decide import IDENTITY_RULE_ID, Decided, answer, decide, identity_mismatch
from thoth.policy.load import PolicyError, builtin_policy, load_document, load_policy, load_policy_file
from thoth.policy.modes import CLIENT_CANNOT_APPLY, Outcome, apply_mode, for_a_client_without_modify
from thoth.policy.rules import (
    CONTEXT_KEYS,
    REQUEST_DEFAULTS,
    SCOPE_RULE_ID,
    Call,
    Decision,
    Policy,
    PolicyResult,
    Rule,
)
from thoth.policy.session import SessionRecord

__all__ = [
    "CLIENT_CANNOT_APPLY",
    "CONTEXT_KEYS",
    "IDENTITY_RULE_ID",
    "REQUEST_DEFAULTS",
    "SCOPE_RULE_ID",
    "Call",
    "Decided",
    "Decision",
    "Outcome",
    "Policy",
    "PolicyError",
    "PolicyResult",
    "Rule",
    "SessionRecord",
    "answer",
    "apply_mode",
    "builtin_policy",
    "decide",
    "for_a_client_without_modify",
    "identity_mismatch",
    "load_document",
    "load_policy",
    "load_policy_file",
]
