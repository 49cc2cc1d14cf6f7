"""Sessions and their behaviour scores: ``GET /v1/sessions`` and ``GET /v1/sessions/{session_id}``,
and the console's Anomaly column.

Reads (store I/O, on SQLite and PostgreSQL alike) take the decisions the enforcer made
(``kind == "decision"``; a hold's resolution is not a call) in a window, the newest
``ROWS_LIMIT`` of them at most, and say when the window held more (``truncated``). Rows are
grouped per session, each session under the agent of its first call, and scored per agent by
``thoth.server.behaviour`` (each session against the agent's other sessions of the window). The
rest is pure: grouping, scoring, ordering and the wire shape.

Nothing is stored: scores are computed when asked for, so they always reflect the current window.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any, Final, Literal, NamedTuple

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from thoth._export import UNIT_SECONDS
from thoth.server import behaviour, store
from thoth.server.behaviour import Anomaly, RecordedSession
from thoth.server.holds import iso

#: decision rows one read takes at most (the newest of the window)
ROWS_LIMIT: Final = 100_000
#: rows of the one session ``GET /v1/sessions/{id}`` reads whole (the oldest first)
SESSION_ROWS_LIMIT: Final = 10_000
DEFAULT_WINDOW: Final = "7d"
#: a window: 1 to 999 minutes, hours or days (the spec's pattern)
WINDOW_PATTERN: Final = re.compile(r"[1-9][0-9]{0,2}[mhd]")
DECISIONS: Final = ("ALLOW", "BLOCK", "STEP_UP", "MODIFY", "DEFER")
Sort = Literal["recent", "anomaly"]
SORTS: Final[tuple[Sort, ...]] = ("recent", "anomaly")
_decisions = store.decisions


class DecisionRow(NamedTuple):
    """The columns of a decision a session's score and summary need."""

    id: int
    tenant_id: str
    session_id: str
    agent_id: str
    tool_name: str
    decision: str
    created_at: float


_COLUMNS: Final = [_decisions.c[name] for name in DecisionRow._fields]


def window_seconds(window: str) -> int | None:
    """Seconds of a window such as ``90m``, ``24h`` or ``7d``; None when it is not one."""
    if not WINDOW_PATTERN.fullmatch(window):
        return None
    return int(window[:-1]) * UNIT_SECONDS[window[-1]]


@attrs.frozen
class SessionRows:
    """One session's decision rows, the oldest first, under the agent of its first call."""

    tenant_id: str
    session_id: str
    agent_id: str
    rows: tuple[DecisionRow, ...]

    @property
    def key(self) -> tuple[str, str]:
        return self.tenant_id, self.session_id

    @property
    def last_at(self) -> float:
        return self.rows[-1].created_at

    def recorded(self) -> RecordedSession:
        calls = tuple((row.tool_name, row.created_at) for row in self.rows)
        return RecordedSession(self.session_id, calls)


@attrs.frozen
class Window:
    """The sessions of a window's newest rows, and whether the window held more rows."""

    sessions: tuple[SessionRows, ...]
    rows_read: int
    truncated: bool


@attrs.frozen
class Scored:
    record: SessionRows
    anomaly: Anomaly
    baseline_truncated: bool


# -- reads (store I/O) -------------------------------------------------------------------------------


def _where(
    tenants: frozenset[str] | None, tenant: str | None, agent: str | None
) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = [_decisions.c.kind == "decision"]
    if tenants is not None:
        conditions.append(_decisions.c.tenant_id.in_(sorted(tenants)))
    if tenant is not None:
        conditions.append(_decisions.c.tenant_id == tenant)
    if agent is not None:
        conditions.append(_decisions.c.agent_id == agent)
    return conditions


def read_window(
    engine: Engine,
    tenants: frozenset[str] | None,
    tenant: str | None,
    since: float,
    agent: str | None = None,
) -> Window:
    """The sessions of the newest ROWS_LIMIT decisions since ``since`` (one row more is asked
    for, to know whether the window held more)."""
    query = (
        sa.select(*_COLUMNS)
        .where(*_where(tenants, tenant, agent), _decisions.c.created_at >= since)
        .order_by(_decisions.c.id.desc())
        .limit(ROWS_LIMIT + 1)
    )
    with engine.connect() as conn:
        rows = _rows(conn.execute(query))
    truncated = len(rows) > ROWS_LIMIT
    kept = rows[:ROWS_LIMIT]
    return Window(group(kept), len(kept), truncated)


def session_tenants(
    engine: Engine, tenants: frozenset[str] | None, tenant: str | None, session: str
) -> list[str]:
    """The tenants (at most two: is the id ambiguous?) with decisions in a session of that id."""
    query = (
        sa.select(_decisions.c.tenant_id)
        .where(*_where(tenants, tenant, None), _decisions.c.session_id == session)
        .group_by(_decisions.c.tenant_id)
        .order_by(_decisions.c.tenant_id)
        .limit(2)
    )
    with engine.connect() as conn:
        return [str(row[0]) for row in conn.execute(query)]


def read_session(engine: Engine, tenant: str, session: str) -> SessionRows | None:
    """One session's decisions, whole (the oldest SESSION_ROWS_LIMIT)."""
    query = (
        sa.select(*_COLUMNS)
        .where(*_where(None, tenant, None), _decisions.c.session_id == session)
        .order_by(_decisions.c.id)
        .limit(SESSION_ROWS_LIMIT)
    )
    with engine.connect() as conn:
        rows = _rows(conn.execute(query))
    records = group(rows)
    return records[0] if records else None


def _rows(result: Iterable[Any]) -> list[DecisionRow]:
    return [
        DecisionRow(int(i), str(t), str(s), str(a), str(tool), str(d), float(at))
        for i, t, s, a, tool, d, at in result
    ]


# -- grouping and scoring (pure) -------------------------------------------------------------------


def group(rows: Iterable[DecisionRow]) -> tuple[SessionRows, ...]:
    """Rows (in any order) as sessions, each the oldest call first; sessions by tenant and id."""
    by_session: dict[tuple[str, str], list[DecisionRow]] = {}
    for row in rows:
        by_session.setdefault((row.tenant_id, row.session_id), []).append(row)
    records = []
    for (tenant, session), found in sorted(by_session.items()):
        ordered = tuple(sorted(found, key=lambda row: (row.created_at, row.id)))
        records.append(SessionRows(tenant, session, ordered[0].agent_id, ordered))
    return tuple(records)


def score(records: Sequence[SessionRows], truncated: bool) -> list[Scored]:
    """Every session scored against its agent's (same tenant, same agent) other sessions."""
    by_agent: dict[tuple[str, str], list[SessionRows]] = {}
    for record in records:
        by_agent.setdefault((record.tenant_id, record.agent_id), []).append(record)
    scored: list[Scored] = []
    for _agent, sessions in sorted(by_agent.items()):
        anomalies = behaviour.score_sessions([record.recorded() for record in sessions])
        scored += [Scored(r, a, truncated) for r, a in zip(sessions, anomalies, strict=True)]
    return scored


def score_one(session: SessionRows, baseline: Window) -> Scored:
    """``session`` (read whole) against the other sessions of its agent in ``baseline``."""
    others = [r for r in baseline.sessions if r.key != session.key and r.agent_id == session.agent_id]
    scored = score([session, *others], baseline.truncated)
    return next(item for item in scored if item.record.key == session.key)


def ordered(scored: Sequence[Scored], sort: Sort, limit: int) -> list[Scored]:
    """The newest activity first, or the highest score first (sessions without a score last);
    ties by the newest activity, then by tenant and id."""

    def key(item: Scored) -> tuple[float, float, str, str]:
        rank = -(item.anomaly.score if item.anomaly.score is not None else -1.0) if sort == "anomaly" else 0.0
        return rank, -item.record.last_at, item.record.tenant_id, item.record.session_id

    return sorted(scored, key=key)[:limit]


# -- the wire shape (pure) ---------------------------------------------------------------------------


def to_wire(item: Scored) -> dict[str, Any]:
    """A ``Session`` of openapi/thoth.yaml."""
    record = item.record
    counts = Counter(row.decision for row in record.rows)
    return {
        "tenant_id": record.tenant_id,
        "session_id": record.session_id,
        "agent_id": record.agent_id,
        "calls": len(record.rows),
        "first_at": iso(record.rows[0].created_at),
        "last_at": iso(record.last_at),
        "decisions": {decision: counts[decision] for decision in DECISIONS},
        "anomaly": anomaly_to_wire(item.anomaly, item.baseline_truncated),
    }


def anomaly_to_wire(anomaly: Anomaly, baseline_truncated: bool) -> dict[str, Any]:
    return {
        "status": anomaly.status,
        "score": anomaly.score,
        "baseline_sessions": anomaly.baseline_sessions,
        "baseline_truncated": baseline_truncated,
        "new_tools": anomaly.new_tools,
        "sequence_z": _finite(anomaly.sequence_z),
        "rate_z": _finite(anomaly.rate_z),
        "reasons": [_reason(reason) for reason in anomaly.reasons],
    }


def _reason(reason: behaviour.Reason) -> dict[str, Any]:
    body = {name: value for name, value in attrs.asdict(reason).items() if value is not None}
    if "previous_tool" not in body and reason.kind == "unusual_transition":
        body["previous_tool"] = None  # from the session's start
    return body


def _finite(value: float | None) -> float | None:
    return value if value is None or math.isfinite(value) else None


# -- what the API answers (store I/O) --------------------------------------------------------------


class AmbiguousSession(Exception):
    """The id names a session in more than one of the key's tenants: ``tenant_id`` must say which
    (409: the request is well formed, the store holds more than one answer)."""


def list_sessions(
    engine: Engine,
    tenants: frozenset[str] | None,
    tenant: str | None,
    agent: str | None,
    window_name: str,
    now: float,
    sort: Sort,
    limit: int,
) -> dict[str, Any]:
    """``GET /v1/sessions``: the sessions active in the window before ``now``, each scored
    against its agent's other sessions of the window (read whole: the agent filter only chooses
    what is listed, so a baseline never depends on it)."""
    window = read_window(engine, tenants, tenant, _since(window_name, now))
    scored = score(window.sessions, window.truncated)
    if agent is not None:
        scored = [item for item in scored if item.record.agent_id == agent]
    return {
        "items": [to_wire(item) for item in ordered(scored, sort, limit)],
        "sort": sort,
        "window": window_name,
        "rows_read": window.rows_read,
        "truncated": window.truncated,
    }


def get_session(
    engine: Engine,
    tenants: frozenset[str] | None,
    tenant: str | None,
    session: str,
    window_name: str,
    now: float,
) -> dict[str, Any] | None:
    """``GET /v1/sessions/{session_id}``: the session (whole), scored against its agent's other
    sessions of the window before ``now``; None when no tenant of the key has it."""
    found = session_tenants(engine, tenants, tenant, session)
    if len(found) > 1:
        raise AmbiguousSession(session)
    record = read_session(engine, found[0], session) if found else None
    if record is None:
        return None
    baseline = read_window(engine, None, record.tenant_id, _since(window_name, now), agent=record.agent_id)
    return to_wire(score_one(record, baseline))


def _since(window_name: str, now: float) -> float:
    seconds = window_seconds(window_name)
    if seconds is None:
        raise ValueError(f"not a window: {window_name[:16]!r}")
    return now - seconds


# -- the console (store I/O, then a pure view) -----------------------------------------------------


def anomalies(
    engine: Engine, tenants: frozenset[str] | None, tenant: str | None, since: float | None
) -> dict[tuple[str, str], Scored]:
    """Every session of the window scored, by (tenant, session): the Sessions page's column."""
    window = read_window(engine, tenants, tenant, since or 0.0)
    return {item.record.key: item for item in score(window.sessions, window.truncated)}


def anomaly_of(engine: Engine, tenant: str, session: str, since: float | None) -> Scored | None:
    """One session (whole) scored against its agent's other sessions since ``since``."""
    record = read_session(engine, tenant, session)
    if record is None:
        return None
    return score_one(record, read_window(engine, None, tenant, since or 0.0, agent=record.agent_id))


@attrs.frozen
class AnomalyView:
    """What the console shows of a score; every text may hold a tool name an agent chose (the
    templates escape it)."""

    text: str  # the score with two decimals, or a dash
    level: str  # a CSS class: high, raised, low, none
    summary: str  # the first reason, or why there is no score
    reasons: tuple[str, ...]
    baseline: str


#: the score from which a session is shown as high, or raised
HIGH: Final = 0.75
RAISED: Final = 0.25


def anomaly_view(item: Scored | None) -> AnomalyView:
    if item is None:  # a session with events only: no calls to score
        return AnomalyView("\u2013", "none", "no decisions to score", (), "")
    anomaly = item.anomaly
    others = f"{anomaly.baseline_sessions} other sessions of {item.record.agent_id}"
    cut = " (the window was cut to its newest decisions)" if item.baseline_truncated else ""
    if anomaly.score is None:
        text = f"insufficient baseline: {others}, {behaviour.MIN_BASELINE} needed"
        return AnomalyView("\u2013", "none", text, (), text + cut)
    level = "high" if anomaly.score >= HIGH else "raised" if anomaly.score >= RAISED else "low"
    reasons = tuple(reason.message for reason in anomaly.reasons)
    summary = reasons[0] + (f" (+{len(reasons) - 1} more)" if len(reasons) > 1 else "") if reasons else ""
    return AnomalyView(f"{anomaly.score:.2f}", level, summary, reasons, f"against {others}{cut}")
