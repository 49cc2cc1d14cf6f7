"""The one governed-call protocol: decide, refuse or rewrite, run, record.

Every way Thoth governs a tool (``Tracer.wrap_tool``, the framework integrations,
the OpenAI/Anthropic tool loops) goes through :class:`GovernedCall`, which
``tracer.govern(...)`` / ``await tracer.agovern(...)`` return::

    with tracer.govern(name, args, call_id=call_id) as call:
        if call.refused:
            return call.refuse()          # raises, or the text the model reads (on_block)
        result = call.run(tool, **call.args)   # MODIFY already applied to call.args

``govern`` never raises: a refusal, and any internal error of ours, is a refused
call (fail closed), so a framework hook cannot fall through to running the tool.
``run`` records the outcome (TOOL_CALL_POST) once; leaving the ``with`` block
through an exception records that exception if nothing was recorded yet.

The markers below keep a callable or an agent from being governed twice, and
say which tracer governs it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from thoth import _otel
from thoth.errors import ReasonCode, ThothPolicyViolation, refusal_text
from thoth.session import _CURRENT_SESSION

if TYPE_CHECKING:
    from thoth.tracer import Permit, Tracer

__all__ = [
    "GovernedCall",
    "governed_by",
    "instrumented_by",
    "internal_failure",
    "mark_governed",
    "mark_instrumented",
]

log = logging.getLogger("thoth.integrations")

T = TypeVar("T")

_GOVERNED = "__thoth_governed__"  # on a governed callable: (tracer, original callable)
_INSTRUMENTED = "__thoth_instrumented__"  # on an instrumented agent, session, server...: its tracer


class GovernedCall:
    """One tool call after the policy decision: either allowed (``permit``) or refused (``violation``)."""

    __slots__ = ("permit", "tool_name", "tracer", "violation")

    def __init__(
        self,
        tracer: Tracer,
        tool_name: str,
        permit: Permit | None = None,
        violation: ThothPolicyViolation | None = None,
    ) -> None:
        self.tracer = tracer
        self.tool_name = tool_name
        self.permit = permit
        self.violation = violation

    def __repr__(self) -> str:
        state = "refused" if self.violation is not None else "allowed"
        return f"GovernedCall(tool_name={self.tool_name!r}, {state})"

    # ---- the decision ---------------------------------------------------------------------
    @property
    def refused(self) -> bool:
        return self.violation is not None

    @property
    def args(self) -> dict[str, Any]:
        """The arguments to run with (rewritten by a MODIFY). Empty for a refused call."""
        return self.permit.args if self.permit is not None else {}

    @property
    def modified(self) -> bool:
        """True when the enforcer rewrote the arguments (MODIFY): run with :attr:`args`."""
        return self.permit is not None and self.permit.modified

    @property
    def call_id(self) -> str | None:
        """The framework's id of the call when it gave one (else the decision id)."""
        return self.permit.call_id if self.permit is not None else None

    @property
    def decision_id(self) -> str | None:
        """The call's decision id: the one its events, stored decision and receipt carry."""
        if self.permit is not None:
            return self.permit.decision_id
        return self.violation.decision_id if self.violation is not None else None

    # ---- the refusal shapes ---------------------------------------------------------------
    @property
    def returns_refusal(self) -> bool:
        """True when refusals go back to the model as text (``on_block="return"``)."""
        return self.tracer.on_block == "return"

    def refusal_text(self) -> str:
        """The text a model reads in place of the result, whatever ``on_block`` says (for
        frameworks that stop a run their own way, or cannot be stopped from a hook)."""
        return refusal_text(self._violation())

    def refusal(self) -> str:
        """The refusal as text, for frameworks that can only answer a call (never raise out of it):
        the text a model reads (``on_block="return"``), or ``"ThothPolicyViolation: ..."``, the
        shape of an error the tool raised (``"raise"``)."""
        if self.returns_refusal:
            return self.refusal_text()
        violation = self._violation()
        return f"{type(violation).__name__}: {violation}"

    def refuse(self) -> str:
        """Raise the :class:`ThothPolicyViolation` (``on_block="raise"``), or return the text a
        model reads in place of the result (``"return"``)."""
        if not self.returns_refusal:
            raise self._violation()
        return self.refusal_text()

    def _violation(self) -> ThothPolicyViolation:
        if self.violation is None:
            raise RuntimeError(f"the call to {self.tool_name!r} was allowed, not refused")
        return self.violation

    # ---- running and recording ------------------------------------------------------------
    def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run the allowed call (``fn(*args, **kwargs)``) in its session, and record its outcome."""
        permit = self._permit()
        token = _CURRENT_SESSION.set(self.tracer.session)
        try:
            if permit.otel_span is None:
                result = fn(*args, **kwargs)
            else:  # otel=True: the tool's own spans nest under the call's
                result = _otel.run_in_span(permit.otel_span, fn, *args, **kwargs)
        except BaseException as exc:
            self.finish(error=exc)
            raise
        finally:
            _CURRENT_SESSION.reset(token)
        permit_finish(permit, result=result)
        return result

    async def arun(self, fn: Callable[..., Awaitable[T]], /, *args: Any, **kwargs: Any) -> T:
        """Await the allowed call in its session, and record its outcome."""
        permit = self._permit()
        token = _CURRENT_SESSION.set(self.tracer.session)
        try:
            if permit.otel_span is None:
                result = await fn(*args, **kwargs)
            else:
                result = await _otel.arun_in_span(permit.otel_span, fn, *args, **kwargs)
        except BaseException as exc:
            self.finish(error=exc)
            raise
        finally:
            _CURRENT_SESSION.reset(token)
        permit_finish(permit, result=result)
        return result

    def finish(self, result: Any = None, error: BaseException | None = None) -> None:
        """Record how an allowed call ended (once). Never raises: the tool already ran."""
        if self.permit is not None:
            permit_finish(self.permit, result=result, error=error)

    def _permit(self) -> Permit:
        if self.permit is None:
            raise self._violation()  # never run a refused call
        return self.permit

    # ---- with-block -----------------------------------------------------------------------
    def __enter__(self) -> GovernedCall:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> Literal[False]:
        if error is not None:
            self.finish(error=error)
        return False


def permit_finish(permit: Permit, *, result: Any = None, error: BaseException | None = None) -> None:
    """``permit.finish``, best effort: reporting must not break an agent whose tool already ran."""
    try:
        permit.finish(result=result, error=error)
    except Exception as exc:  # noqa: BLE001 - the event pipeline must never fail the call
        log.warning("thoth: could not record the result of a governed call: %s", type(exc).__name__)


def internal_failure(tool_name: str, exc: BaseException) -> ThothPolicyViolation:
    """A refusal for an error of ours during the decision: fail closed, and say so."""
    log.warning("thoth: policy check for %r failed, refusing the call: %s", tool_name, type(exc).__name__)
    return ThothPolicyViolation(
        tool_name,
        f"the policy check failed ({type(exc).__name__}), so the call was refused",
        reason_code=ReasonCode.ENFORCER_ERROR,
    )


# ---- markers ------------------------------------------------------------------------------
def mark_governed(wrapper: Any, tracer: Tracer, original: Callable[..., Any]) -> None:
    """Mark ``wrapper`` as ``original`` governed by ``tracer``."""
    setattr(wrapper, _GOVERNED, (tracer, original))


def governed_by(obj: Any) -> tuple[Tracer, Callable[..., Any]] | None:
    """``(tracer, original)`` when ``obj`` is a governed callable, else None."""
    marker = getattr(obj, _GOVERNED, None)
    if isinstance(marker, tuple) and len(marker) == 2:
        return marker
    return None


def mark_instrumented(obj: Any, tracer: Tracer) -> None:
    """Mark an agent (session, server, ...) as governed in place by ``tracer``."""
    setattr(obj, _INSTRUMENTED, tracer)


def instrumented_by(obj: Any) -> Tracer | None:
    """The tracer that governs ``obj`` in place, or None."""
    tracer: Tracer | None = getattr(obj, _INSTRUMENTED, None)
    return tracer
