"""The one decision every integration makes before a tool runs, failing closed.

A framework hook must never let an error of ours fall through to running the
tool: some frameworks turn a hook exception into "allow" (or retry the tool).
So the hook asks :func:`check` / :func:`acheck`, which always answer with a
``Permit`` or a ``ThothPolicyViolation`` and never raise, and then shapes the
answer the way its framework expects.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from thoth.errors import ReasonCode, ThothPolicyViolation, refusal_text

if TYPE_CHECKING:
    from thoth.tracer import Permit, Tracer

__all__ = ["acheck", "as_args", "check", "finish", "is_async_callable", "refusal_text", "returns_refusal"]

log = logging.getLogger("thoth.integrations")


def as_args(raw: Any) -> dict[str, Any]:
    """Tool arguments as the dict the enforcer expects, whatever shape the framework used."""
    try:
        if raw is None:
            return {}
        if isinstance(raw, Mapping):
            return {str(k): v for k, v in raw.items()}
        dump = getattr(raw, "model_dump", None)
        if callable(dump):  # a pydantic model (validated arguments)
            dumped = dump()
            if isinstance(dumped, dict):
                return dumped
    except Exception:  # never fail the hook over argument shape; the enforcer still sees the call
        return {"input": repr(raw)}
    return {"input": raw}


def _internal_failure(tool_name: str, exc: BaseException) -> ThothPolicyViolation:
    log.warning("thoth: policy check for %r failed, refusing the call: %s", tool_name, type(exc).__name__)
    return ThothPolicyViolation(
        tool_name,
        f"the policy check failed ({type(exc).__name__}), so the call was refused",
        reason_code=ReasonCode.ENFORCER_ERROR,
    )


def check(
    tracer: Tracer, tool_name: str, args: dict[str, Any], call_id: str | None = None
) -> Permit | ThothPolicyViolation:
    """Authorize one call (sync). Never raises: an unexpected error is a refusal."""
    try:
        return tracer.authorize(tool_name, args, call_id=call_id)
    except ThothPolicyViolation as violation:
        return violation
    except Exception as exc:
        return _internal_failure(tool_name, exc)


async def acheck(
    tracer: Tracer, tool_name: str, args: dict[str, Any], call_id: str | None = None
) -> Permit | ThothPolicyViolation:
    """Authorize one call (async). Never raises: an unexpected error is a refusal."""
    try:
        return await tracer.aauthorize(tool_name, args, call_id=call_id)
    except ThothPolicyViolation as violation:
        return violation
    except Exception as exc:
        return _internal_failure(tool_name, exc)


def finish(permit: Permit, *, result: Any = None, error: BaseException | None = None) -> None:
    """Record the outcome of a call that ran. Reporting must not break the agent."""
    try:
        if error is not None:
            permit.finish(error=error)
        else:
            permit.finish(result=result)
    except Exception as exc:  # the event pipeline is best effort; the tool already ran
        log.warning("thoth: could not record the result of a governed call: %s", type(exc).__name__)


def returns_refusal(tracer: Tracer) -> bool:
    """True when refusals go back to the model as text, False when they are raised."""
    return getattr(tracer, "on_block", "raise") == "return"


def is_async_callable(fn: Callable[..., Any]) -> bool:
    """Like the frameworks' own test: coroutine functions, and objects whose ``__call__`` is one."""
    if inspect.iscoroutinefunction(fn):
        return True
    call = getattr(fn, "__call__", None)  # noqa: B004 - we want the bound method, not callable()
    return call is not None and inspect.iscoroutinefunction(call)
