"""What ``thoth policy check`` says of a policy, in one place: the CLI prints it and the
console's draft check shows it, so both name the same problems in the same words (pure)."""

from __future__ import annotations

import attrs

from thoth.policy.load import PolicyError, load_policy
from thoth.policy.rules import Policy


@attrs.frozen
class CheckReport:
    """``error`` (``file:line:col: message``) when the policy does not load, else ``ok`` (the
    summary line); ``warnings`` are what loads but is probably not meant."""

    error: str | None
    warnings: tuple[str, ...]
    ok: str | None


def report(policy: Policy, file: str) -> CheckReport:
    """The report of a policy that loaded."""
    engine = policy.engine.name if policy.engine else "none"
    return CheckReport(
        error=None,
        warnings=tuple(f"{file}: warning: {warning}" for warning in policy.warnings),
        ok=f"{file}: OK, {len(policy.rules)} rules, {len(policy.tags)} tags (CEL engine: {engine})",
    )


def check_text(text: str, file: str) -> CheckReport:
    """Load ``text`` as the policy file ``file`` and report on it."""
    try:
        policy = load_policy(text, file)
    except PolicyError as exc:
        return CheckReport(error=str(exc), warnings=(), ok=None)
    return report(policy, file)
