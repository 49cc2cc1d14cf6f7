"""What the Sessions, Violations, Policies and Analytics pages show, from store rows (pure).

Like ``views``, nothing here builds HTML: every string may have come from an agent, and the
templates print it escaped.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import attrs

from thoth._export import BROKEN
from thoth.server.ui.views import duration_text, utc_text


@attrs.frozen
class Window:
    """A choice of how far back a page looks, and how wide a bar of the Analytics chart is."""

    name: str
    title: str
    seconds: int | None  # None: all time
    bucket_seconds: int


WINDOWS: Final = (
    Window("1h", "last hour", 3600, 300),
    Window("24h", "last 24 hours", 86_400, 3600),
    Window("7d", "last 7 days", 7 * 86_400, 6 * 3600),
    Window("30d", "last 30 days", 30 * 86_400, 86_400),
)
_BY_NAME: Final = {window.name: window for window in WINDOWS}
DECISIONS: Final = ("ALLOW", "BLOCK", "STEP_UP", "MODIFY", "DEFER")


def window_of(name: str | None, default: str = "24h") -> Window:
    """The window a query string names, else the page's default (an unknown name is not an error:
    a link from an older console keeps working)."""
    return _BY_NAME.get(name or "", _BY_NAME[default])


def since_of(window: Window, now: float) -> float | None:
    return None if window.seconds is None else now - window.seconds


# -- Sessions ----------------------------------------------------------------------------------------


@attrs.frozen
class SessionRow:
    tenant_id: str
    session_id: str
    agent_id: str
    first: str
    last: str
    duration: str
    decisions: int
    blocked: int
    stepped_up: int
    events: int
    broken: int


def session_rows(rows: Iterable[Mapping[str, Any]]) -> tuple[SessionRow, ...]:
    return tuple(
        SessionRow(
            tenant_id=row["tenant_id"],
            session_id=row["session_id"],
            agent_id=row["agent_id"] or "",
            first=utc_text(row["first_at"]),
            last=utc_text(row["last_at"]),
            duration=duration_text(row["last_at"] - row["first_at"]),
            decisions=row["decisions"],
            blocked=row["blocked"],
            stepped_up=row["stepped_up"],
            events=row["events"],
            broken=row["broken"],
        )
        for row in rows
    )


@attrs.frozen
class Moment:
    """One line of a session's timeline: a decision the enforcer made or an event the SDK sent."""

    at: float
    when: str
    kind: str  # "decision" or "event"
    label: str  # the decision (ALLOW, BLOCK...) or the event type
    tool_name: str
    detail: str  # the reason, or what the event says
    rules: str
    decision_id: str
    chain_status: str  # events only
    css: str  # a class for the label's colour


@attrs.frozen
class ChainState:
    status: str  # verified, broken, unchained, mixed, none
    text: str


@attrs.frozen
class Timeline:
    moments: tuple[Moment, ...]
    chain: ChainState
    agent_id: str
    cut: bool  # a side reached its row limit: the oldest part is shown


def timeline(
    decisions: Sequence[Mapping[str, Any]],
    events: Sequence[Mapping[str, Any]],
    head: Mapping[str, Any] | None,
    limit: int,
) -> Timeline:
    moments = [_decision_moment(row) for row in decisions] + [_event_moment(row) for row in events]
    moments.sort(key=lambda moment: (moment.at, moment.kind != "decision"))
    agents = [str(row["agent_id"]) for row in (*decisions, *events) if row.get("agent_id")]
    return Timeline(
        moments=tuple(moments),
        chain=chain_state(events, head),
        agent_id=agents[0] if agents else "",
        cut=len(decisions) >= limit or len(events) >= limit,
    )


def _decision_moment(row: Mapping[str, Any]) -> Moment:
    kind = row.get("kind") or "decision"
    label = {"hold_approved": "APPROVED", "hold_denied": "DENIED"}.get(kind, row["decision"])
    mode = f" ({row['mode']} mode)" if row.get("mode") else ""
    return Moment(
        at=row["created_at"],
        when=utc_text(row["created_at"]),
        kind="decision",
        label=label,
        tool_name=row["tool_name"],
        detail=(row.get("reason") or "") + (mode if kind == "decision" else ""),
        rules=", ".join(rule_list(row.get("rule_ids"))),
        decision_id=row.get("decision_id") or "",
        chain_status="",
        css=css_of(label),
    )


def _event_moment(row: Mapping[str, Any]) -> Moment:
    body = _body(row.get("body"))
    found = body.get("metadata")
    metadata: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    detail = " ".join(
        f"{key}={metadata[key]}" for key in ("decision", "reason", "approver", "error") if metadata.get(key)
    )
    return Moment(
        at=row["received_at"],
        when=utc_text(row["received_at"]),
        kind="event",
        label=row["event_type"],
        tool_name=str(body.get("tool_name") or ""),
        detail=detail,
        rules="",
        decision_id=row.get("decision_id") or "",
        chain_status=row.get("chain_status") or "",
        css="event",
    )


def _body(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def chain_state(events: Sequence[Mapping[str, Any]], head: Mapping[str, Any] | None) -> ChainState:
    """What the session's hash chain says of its record, from each event's status on arrival."""
    statuses = Counter(str(row.get("chain_status")) for row in events)
    if not events:
        return ChainState("none", "No events arrived for this session.")
    broken = [row for row in events if row.get("chain_status") in BROKEN]
    if broken:
        first = broken[0]
        return ChainState(
            "broken",
            f"Broken: {len(broken)} of {len(events)} events did not link "
            f"(first: {first['chain_status']} at index {first.get('chain_index')}).",
        )
    if statuses.get("unchained") == len(events):
        return ChainState("unchained", f"Not chained: the client sent {len(events)} events without hashes.")
    verified = statuses.get("verified", 0)
    at = f"; head at index {head['chain_index']}" if head is not None else ""
    if verified == len(events):
        return ChainState("verified", f"Verified: all {verified} events link{at}.")
    return ChainState(
        "mixed", f"{verified} events verified, {statuses.get('unchained', 0)} sent without hashes{at}."
    )


def rule_list(text: str | None) -> list[str]:
    try:
        value = json.loads(text) if text else []
    except ValueError:
        return []
    return [str(rule) for rule in value] if isinstance(value, list) else []


def css_of(label: str) -> str:
    return "d-" + "".join(ch if ch.isalnum() else "-" for ch in label.lower())


# -- Violations --------------------------------------------------------------------------------------


@attrs.frozen
class ViolationRow:
    id: int
    when: str
    tenant_id: str
    session_id: str
    agent_id: str
    tool_name: str
    decision: str
    css: str
    reason: str
    reason_code: str
    rules: str
    mode: str
    decision_id: str
    outcome: str  # a hold's fate, "" for a BLOCK
    hold_ref: str


def violation_rows(rows: Iterable[Mapping[str, Any]], now: float) -> tuple[ViolationRow, ...]:
    return tuple(
        ViolationRow(
            id=row["id"],
            when=utc_text(row["created_at"]),
            tenant_id=row["tenant_id"],
            session_id=row["session_id"],
            agent_id=row["agent_id"],
            tool_name=row["tool_name"],
            decision=row["decision"],
            css=css_of(row["decision"]),
            reason=row.get("reason") or "",
            reason_code=row.get("reason_code") or "",
            rules=", ".join(rule_list(row.get("rule_ids"))),
            mode=row.get("mode") or "",
            decision_id=row.get("decision_id") or "",
            outcome=_hold_outcome(row, now),
            hold_ref=row.get("hold_ref") or "",
        )
        for row in rows
    )


def _hold_outcome(row: Mapping[str, Any], now: float) -> str:
    status = row.get("hold_status")
    if status is None:
        return "held (no hold recorded)" if row["decision"] == "STEP_UP" else ""
    if status == "pending":
        expires = row.get("hold_expires_at")
        return "expired unresolved" if expires is not None and expires <= now else "waiting for approval"
    approver = row.get("hold_approver")
    return f"{status} by {approver}" if approver else str(status)


@attrs.frozen
class EventView:
    when: str
    event_type: str
    chain_status: str
    body: str  # pretty JSON of what was stored (redacted as stored)


def event_views(rows: Iterable[Mapping[str, Any]]) -> tuple[EventView, ...]:
    return tuple(
        EventView(
            when=utc_text(row["received_at"]),
            event_type=row["event_type"],
            chain_status=row.get("chain_status") or "",
            body=json.dumps(_body(row.get("body")), indent=2, ensure_ascii=False, sort_keys=True),
        )
        for row in rows
    )


# -- Policies ----------------------------------------------------------------------------------------


@attrs.frozen
class RuleRow:
    index: int
    rule_id: str
    decision: str
    css: str
    conditions: tuple[str, ...]  # what the rule looks at, as written ("tools: delete_*")
    reason: str
    matches: int


#: the keys of a rule that say when it applies, in the order a reader expects them
_CONDITIONS: Final = ("tools", "agents", "environments", "tags", "after_tags", "after_tools", "when", "limit")


def rule_rows(document: Mapping[str, Any], counts: Mapping[str, int]) -> tuple[RuleRow, ...]:
    """Each rule of the policy as written, in order, with how often it matched."""
    rules = document.get("rules")
    out = []
    for index, rule in enumerate(rules if isinstance(rules, list) else [], 1):
        if not isinstance(rule, Mapping):
            continue
        rule_id = str(rule.get("id") or f"rule-{index}")
        decision = str(rule.get("decision") or "")
        out.append(
            RuleRow(
                index=index,
                rule_id=rule_id,
                decision=decision,
                css=css_of(decision.upper()),
                conditions=tuple(f"{key}: {_written(rule[key])}" for key in _CONDITIONS if key in rule)
                or ("every call",),
                reason=str(rule.get("reason") or ""),
                matches=counts.get(rule_id, 0),
            )
        )
    return tuple(out)


def other_rules(document: Mapping[str, Any], counts: Mapping[str, int]) -> tuple[tuple[str, int], ...]:
    """Rule ids that matched but are not in the policy: the enforcer's own (approved scope...) or
    those of an earlier policy, most matched first."""
    rules = document.get("rules")
    written = (
        {str(rule.get("id")) for rule in rules if isinstance(rule, Mapping)}
        if isinstance(rules, list)
        else set()
    )
    return tuple(
        sorted(((rule, n) for rule, n in counts.items() if rule not in written), key=lambda x: (-x[1], x[0]))
    )


def _written(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if isinstance(value, Mapping):
        return ", ".join(f"{key}={item}" for key, item in value.items())
    return str(value)


# -- Analytics ---------------------------------------------------------------------------------------


@attrs.frozen
class Latency:
    count: int
    p50: str
    p90: str


def latency(seconds: Sequence[float]) -> Latency:
    """Approval latency: the median and the 90th percentile (linear between the nearest ranks)."""
    if not seconds:
        return Latency(0, "-", "-")
    return Latency(
        len(seconds), duration_text(percentile(seconds, 50)), duration_text(percentile(seconds, 90))
    )


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def series(
    counts: Iterable[tuple[int, str, int]], window: Window, now: float
) -> tuple[list[float], dict[str, list[int]]]:
    """Bucket starts and one count per bucket for each decision, from ``(bucket, decision, n)``
    rows; the window's buckets all appear, empty ones too (all time: from the first bucket seen)."""
    rows = list(counts)
    width = window.bucket_seconds
    last = int(now // width)
    if window.seconds is not None:
        first = last - math.ceil(window.seconds / width) + 1
    else:
        first = min((bucket for bucket, _, _ in rows), default=last)
        first = max(first, last - 365)  # all time: at most a year of bars
    starts = [float(bucket * width) for bucket in range(first, last + 1)]
    by_type: dict[str, list[int]] = {}
    for bucket, decision, n in rows:
        if first <= bucket <= last:
            by_type.setdefault(decision, [0] * len(starts))[bucket - first] += n
    return starts, by_type
