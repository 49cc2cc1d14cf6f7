"""Thoth: a policy check in front of every tool call an AI agent makes.

    import thoth

    agent = thoth.instrument(agent, agent_id="research-agent", approved_scope=["search"],
                             tenant_id="acme-corp", enforcement="block")

Every governed call is sent to the enforcer (``POST /v1/enforce``), which allows,
blocks, holds for a human (STEP_UP), rewrites the arguments (MODIFY) or defers it.
Audit events go to ``POST /v1/events/batch`` in the background. When the enforcer
cannot be reached or answers nonsense, the tool does not run (fail closed).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from thoth._version import __version__
from thoth.errors import ThothConfigError, ThothError, ThothPolicyViolation, refusal_text

if TYPE_CHECKING:
    from thoth._instrument import create_tracer, instrument, instrument_anthropic, instrument_openai
    from thoth.client import ThothClient
    from thoth.explanations import Explanation
    from thoth.models import EnforcementMode, ThothConfig
    from thoth.session import SessionContext, get_current_session
    from thoth.tracer import Permit, Tracer

# Loaded on first use (PEP 562): `import thoth` stays cheap for tools that only import it.
_LAZY = {
    "create_tracer": "thoth._instrument",
    "instrument": "thoth._instrument",
    "instrument_anthropic": "thoth._instrument",
    "instrument_openai": "thoth._instrument",
    "ThothClient": "thoth.client",
    "Explanation": "thoth.explanations",
    "EnforcementMode": "thoth.models",
    "ThothConfig": "thoth.models",
    "SessionContext": "thoth.session",
    "get_current_session": "thoth.session",
    "Permit": "thoth.tracer",
    "Tracer": "thoth.tracer",
}


def __getattr__(name: str) -> Any:
    if name in ("testing", "receipts"):
        return importlib.import_module(f"thoth.{name}")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'thoth' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "EnforcementMode",
    "Explanation",
    "Permit",
    "SessionContext",
    "ThothClient",
    "ThothConfig",
    "ThothConfigError",
    "ThothError",
    "ThothPolicyViolation",
    "Tracer",
    "__version__",
    "close",
    "create_tracer",
    "delivery_stats",
    "flush",
    "get_current_session",
    "instrument",
    "instrument_anthropic",
    "instrument_openai",
    "refusal_text",
]


def flush(timeout: float = 5.0, *, api_url: str | None = None) -> bool:
    """Wait up to ``timeout`` seconds for queued audit events to be delivered (to ``api_url`` only,
    if given). True when everything was delivered in time."""
    from thoth._runtime import runtime

    return runtime().flush(timeout, api_url)


def close(timeout: float = 5.0, *, api_url: str | None = None) -> bool:
    """Flush and stop the background senders, finish the shadow checks and close the connection
    pools (those of ``api_url`` only, if given), all within ``timeout`` seconds. Each starts again
    when next used. True when nothing queued was left behind."""
    from thoth._runtime import runtime

    return runtime().close(timeout, api_url)


def delivery_stats() -> dict[str, Any]:
    """Event delivery counts across endpoints: enqueued, sent, retried, dropped by reason, pending."""
    from thoth._runtime import runtime

    return runtime().delivery_stats()
