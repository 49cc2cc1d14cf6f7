"""What each console page shows, from store rows (pure): the templates only lay it out.

Every string here may have come from an agent (tool names, arguments, reasons, ids): the
templates escape all of it (Jinja2 autoescape), and nothing here builds HTML.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import attrs

from thoth.server import holds
from thoth.server.auth import Principal

PENDING_LIMIT: Final = 200
RESOLVED_LIMIT: Final = 25


@attrs.frozen
class Page:
    """One entry of the console's navigation (its routes: ``console``, ``activity``, ``insights``)."""

    name: str
    title: str
    path: str


PAGES: Final = (
    Page("approvals", "Approvals", "/ui/approvals"),
    Page("sessions", "Sessions", "/ui/sessions"),
    Page("violations", "Violations", "/ui/violations"),
    Page("policies", "Policies", "/ui/policies"),
    Page("analytics", "Analytics", "/ui/analytics"),
)


@attrs.frozen
class HoldView:
    token: str
    ref: str  # the hold's public name: its page is /ui/holds/<ref>
    tenant_id: str
    agent_id: str
    session_id: str
    user_id: str
    tool_name: str
    rule_id: str
    reason: str
    args: str  # pretty JSON, or the stored text as it is when it is not JSON (cut)
    args_note: str  # why there is nothing, or what was done to it; "" when shown whole
    args_sha256: str
    status: str  # pending, approved, denied, expired
    created: str  # UTC, for people
    created_iso: str
    waiting: str  # how long it has waited (pending) or waited before it was resolved
    expires_in: str
    approver: str
    resolved: str
    resolution_reason: str
    signature: str  # changes when anything but the clock-driven texts changes (live merge)


@attrs.frozen
class ApprovalsPage:
    pending: tuple[HoldView, ...]
    resolved: tuple[HoldView, ...]
    more_pending: bool  # PENDING_LIMIT shown; there are more


@attrs.frozen
class Viewer:
    """Who is looking, as the header says it."""

    name: str
    scope: str  # "all tenants" or the tenants, comma-separated
    insecure_dev: bool


def viewer(principal: Principal, insecure_dev: bool) -> Viewer:
    scope = "all tenants" if principal.tenants is None else ", ".join(sorted(principal.tenants))
    return Viewer(principal.name, scope, insecure_dev)


def utc_text(epoch: float | None) -> str:
    if epoch is None:
        return ""
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration_text(seconds: float) -> str:
    """``42 s``, ``3 min 07 s``, ``2 h 05 min``: precise while it matters, short after."""
    whole = max(0, int(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def args_text(stored: str | None) -> tuple[str, str]:
    """The arguments to show and a note: pretty JSON when the stored text parses, else the
    text itself (a cut one ends with the truncation marker)."""
    if stored is None:
        return "", "not recorded (this hold was made before holds kept their arguments)"
    if stored == "":
        return "", "no arguments"
    try:
        value = json.loads(stored)
    except ValueError:
        return stored, f"cut to {holds.REDACTED_ARGS_MAX_CHARS} characters"
    if value == {}:
        return "", "no arguments"
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True), ""


def hold_view(row: Mapping[str, Any], now: float) -> HoldView:
    status = holds.state(row, now)
    args, note = args_text(row.get("redacted_args"))
    resolved_at = row.get("resolved_at")
    waited = (resolved_at if resolved_at is not None else now) - row["created_at"]
    fixed = {
        "token": row["hold_token"],
        "ref": row.get("hold_ref") or holds.ref_of(row["hold_token"]),
        "tenant_id": row["tenant_id"],
        "agent_id": row["agent_id"],
        "session_id": row["session_id"],
        "user_id": row.get("user_id") or "",
        "tool_name": row["tool_name"],
        "rule_id": row.get("rule_id") or "",
        "reason": row.get("reason") or "",
        "args": args,
        "args_note": note,
        "args_sha256": row["args_sha256"],
        "status": status,
        "created": utc_text(row["created_at"]),
        "created_iso": holds.iso(row["created_at"]) or "",
        "approver": row.get("approver") or "",
        "resolved": utc_text(resolved_at),
        "resolution_reason": row.get("resolution_reason") or "",
    }
    return HoldView(
        **fixed,
        waiting=duration_text(waited),
        expires_in=duration_text(row["expires_at"] - now),
        signature=_signature(fixed),
    )


def _signature(fields: Mapping[str, str]) -> str:
    text = json.dumps(fields, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def approvals_page(
    pending: Sequence[Mapping[str, Any]], resolved: Iterable[Mapping[str, Any]], now: float
) -> ApprovalsPage:
    """Pending holds as the store lists them (newest first); resolved ones, last resolved first."""
    latest = sorted(resolved, key=lambda row: row.get("resolved_at") or 0.0, reverse=True)[:RESOLVED_LIMIT]
    return ApprovalsPage(
        pending=tuple(hold_view(row, now) for row in pending[:PENDING_LIMIT]),
        resolved=tuple(hold_view(row, now) for row in latest),
        more_pending=len(pending) > PENDING_LIMIT,
    )


def outcome_text(row: Mapping[str, Any], now: float) -> str:
    """What became of a hold that is no longer pending, for its page."""
    status = holds.state(row, now)
    if status == "expired":
        return f"Expired unresolved at {utc_text(row['expires_at'])}: the agent was refused."
    by = row.get("approver") or "an approver"
    return f"{status.capitalize()} by {by} at {utc_text(row.get('resolved_at'))}."


def already_resolved(row: Mapping[str, Any], now: float) -> str:
    """Why a hold can no longer be resolved, naming who resolved it and when."""
    status = holds.state(row, now)
    if status == "expired":
        return f"This hold expired unresolved at {utc_text(row['expires_at'])}; the agent was refused."
    if status == "pending":
        return "This hold is still pending."
    by = row.get("approver") or "an approver"
    return f"This hold was already {status} by {by} at {utc_text(row.get('resolved_at'))}."
