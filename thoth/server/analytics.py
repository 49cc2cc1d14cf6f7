"""What the console's Sessions, Violations, Policies and Analytics pages read (store I/O).

Every query takes the viewer's tenants (``None``: all) and a window start, reads with its own
connection like the store's other read functions, and counts only the decisions the enforcer
made (``kind == "decision"``), not the rows a hold's resolution adds. Aggregates are computed
by the database where they can be (GROUP BY, bounded by a LIMIT); what stays in Python is
bounded by the window and a row cap, named here.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Final

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from thoth._export import BROKEN
from thoth.server import store

#: sessions listed on the Sessions page (the most recently active first)
SESSIONS_LIMIT: Final = 100
#: rows of one session's timeline (decisions plus events), the oldest first
TIMELINE_LIMIT: Final = 1000
#: violations listed per page
VIOLATIONS_LIMIT: Final = 50
#: decisions whose matched rules the Policies page counts, at most (the newest of the window)
RULE_ROWS_LIMIT: Final = 200_000
#: resolved holds whose latency Analytics measures, at most (the newest of the window)
LATENCY_ROWS_LIMIT: Final = 50_000
TOP_LIMIT: Final = 10

_decisions = store.decisions
_events = store.events
_holds = store.holds


@attrs.frozen
class Scope:
    """Whose rows, and since when: the viewer's tenants (None: all), a tenant the viewer picked,
    and the window's start (epoch seconds; None: all time)."""

    tenants: frozenset[str] | None
    tenant: str | None = None
    since: float | None = None

    def on(self, table: sa.Table, time_column: str) -> list[sa.ColumnElement[bool]]:
        conditions: list[sa.ColumnElement[bool]] = []
        if self.tenants is not None:
            conditions.append(table.c.tenant_id.in_(sorted(self.tenants)))
        if self.tenant is not None:
            conditions.append(table.c.tenant_id == self.tenant)
        if self.since is not None:
            conditions.append(table.c[time_column] >= self.since)
        return conditions


def _made(scope: Scope) -> list[sa.ColumnElement[bool]]:
    """The enforcer's own decisions in the scope."""
    return [_decisions.c.kind == "decision", *scope.on(_decisions, "created_at")]


def _count_of(decision: str) -> sa.ColumnElement[Any]:
    return sa.func.sum(sa.case((_decisions.c.decision == decision, 1), else_=0))


# -- Sessions ----------------------------------------------------------------------------------------


def session_summaries(
    engine: Engine, scope: Scope, agent: str | None, decision: str | None
) -> list[dict[str, Any]]:
    """The sessions most recently active in the scope, the latest first: one row each with its
    agent, first and last activity, decision counts (total, BLOCK, STEP_UP), event count and
    broken chain links, over the whole session (the window only chooses which are listed)."""
    active = _decided_sessions(engine, scope, agent, decision)
    if decision is None:  # a session whose SDK only sends events is a session too
        for key, row in _evented_sessions(engine, scope, agent).items():
            if key not in active or active[key]["last_at"] < row["last_at"]:
                active[key] = row
    latest = sorted(active, key=lambda key: (-active[key]["last_at"], key))[:SESSIONS_LIMIT]
    whole = Scope(scope.tenants, scope.tenant)
    decided = _decided_sessions(engine, whole, None, None, latest)
    evented = _evented_sessions(engine, whole, None, latest)
    return [_merged_session(key, decided.get(key), evented.get(key)) for key in latest]


def _of_sessions(table: sa.Table, keys: Sequence[tuple[str, str]]) -> sa.ColumnElement[bool]:
    return sa.tuple_(table.c.tenant_id, table.c.session_id).in_([tuple(key) for key in keys])


def _decided_sessions(
    engine: Engine,
    scope: Scope,
    agent: str | None,
    decision: str | None,
    keys: Sequence[tuple[str, str]] | None = None,
) -> dict[tuple[str, str], dict[str, Any]]:
    last = sa.func.max(_decisions.c.created_at).label("last_at")
    query = (
        sa.select(
            _decisions.c.tenant_id,
            _decisions.c.session_id,
            sa.func.max(_decisions.c.agent_id).label("agent_id"),
            sa.func.min(_decisions.c.created_at).label("first_at"),
            last,
            sa.func.count().label("decisions"),
            _count_of("BLOCK").label("blocked"),
            _count_of("STEP_UP").label("stepped_up"),
        )
        .where(*_made(scope))
        .group_by(_decisions.c.tenant_id, _decisions.c.session_id)
    )
    if keys is not None:
        if not keys:
            return {}
        query = query.where(_of_sessions(_decisions, keys))
    else:
        query = query.order_by(last.desc()).limit(SESSIONS_LIMIT)
    if agent is not None:
        query = query.where(_decisions.c.agent_id == agent)
    if decision is not None:
        query = query.having(_count_of(decision) > 0)
    with engine.connect() as conn:
        return {(r["tenant_id"], r["session_id"]): dict(r) for r in conn.execute(query).mappings()}


def _evented_sessions(
    engine: Engine, scope: Scope, agent: str | None, keys: Sequence[tuple[str, str]] | None = None
) -> dict[tuple[str, str], dict[str, Any]]:
    last = sa.func.max(_events.c.received_at).label("last_at")
    broken = sa.func.sum(sa.case((_events.c.chain_status.in_(sorted(BROKEN)), 1), else_=0))
    query = (
        sa.select(
            _events.c.tenant_id,
            _events.c.session_id,
            sa.func.max(_events.c.agent_id).label("agent_id"),
            sa.func.min(_events.c.received_at).label("first_at"),
            last,
            sa.func.count().label("events"),
            broken.label("broken"),
        )
        .where(*scope.on(_events, "received_at"))
        .group_by(_events.c.tenant_id, _events.c.session_id)
    )
    if keys is not None:
        if not keys:
            return {}
        query = query.where(_of_sessions(_events, keys))
    else:
        query = query.order_by(last.desc()).limit(SESSIONS_LIMIT)
    if agent is not None:
        query = query.where(_events.c.agent_id == agent)
    with engine.connect() as conn:
        return {(r["tenant_id"], r["session_id"]): dict(r) for r in conn.execute(query).mappings()}


def _merged_session(
    key: tuple[str, str], decided: Mapping[str, Any] | None, evented: Mapping[str, Any] | None
) -> dict[str, Any]:
    sides = [side for side in (decided, evented) if side is not None]
    return {
        "tenant_id": key[0],
        "session_id": key[1],
        "agent_id": sides[0]["agent_id"],
        "first_at": min(side["first_at"] for side in sides),
        "last_at": max(side["last_at"] for side in sides),
        "decisions": int(decided["decisions"]) if decided else 0,
        "blocked": int(decided["blocked"] or 0) if decided else 0,
        "stepped_up": int(decided["stepped_up"] or 0) if decided else 0,
        "events": int(evented["events"]) if evented else 0,
        "broken": int(evented["broken"] or 0) if evented else 0,
    }


def session_timeline(
    engine: Engine, tenants: frozenset[str] | None, tenant: str, session: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any] | None]:
    """One session's decisions and events (each the oldest first, at most TIMELINE_LIMIT of each)
    and its chain head (None when no chained event arrived), or nothing for another tenant."""
    if tenants is not None and tenant not in tenants:
        return [], [], None
    decided = (
        sa.select(_decisions)
        .where(_decisions.c.tenant_id == tenant, _decisions.c.session_id == session)
        .order_by(_decisions.c.id)
        .limit(TIMELINE_LIMIT)
    )
    evented = (
        sa.select(_events)
        .where(_events.c.tenant_id == tenant, _events.c.session_id == session)
        .order_by(_events.c.id)
        .limit(TIMELINE_LIMIT)
    )
    head = sa.select(store.sessions.c.chain_index, store.sessions.c.chain_hash).where(
        store.sessions.c.tenant_id == tenant, store.sessions.c.session_id == session
    )
    with engine.connect() as conn:
        decisions = [dict(r) for r in conn.execute(decided).mappings()]
        events = [dict(r) for r in conn.execute(evented).mappings()]
        chain = conn.execute(head).mappings().first()
    return decisions, events, dict(chain) if chain is not None and chain["chain_hash"] else None


def agents_of(engine: Engine, scope: Scope) -> list[str]:
    """The agents that made a decision in the scope, for the filter's choices (at most 200)."""
    query = (
        sa.select(_decisions.c.agent_id)
        .where(*_made(scope))
        .group_by(_decisions.c.agent_id)
        .order_by(_decisions.c.agent_id)
        .limit(200)
    )
    with engine.connect() as conn:
        return [row[0] for row in conn.execute(query)]


# -- Violations --------------------------------------------------------------------------------------

REFUSALS: Final = ("BLOCK", "STEP_UP")


def violations(
    engine: Engine, scope: Scope, decision: str | None, before_id: int | None
) -> list[dict[str, Any]]:
    """Blocked and escalated calls, newest first (one more than a page: is there a next one?),
    each with its hold's outcome when it was held."""
    chosen = [decision] if decision in REFUSALS else list(REFUSALS)
    query = (
        sa.select(
            _decisions,
            _holds.c.status.label("hold_status"),
            _holds.c.expires_at.label("hold_expires_at"),
            _holds.c.approver.label("hold_approver"),
            _holds.c.hold_ref.label("hold_ref"),
        )
        .select_from(_decisions.outerjoin(_holds, _holds.c.hold_token == _decisions.c.hold_token))
        .where(*_made(scope), _decisions.c.decision.in_(chosen))
        .order_by(_decisions.c.id.desc())
        .limit(VIOLATIONS_LIMIT + 1)
    )
    if before_id is not None:
        query = query.where(_decisions.c.id < before_id)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def decision_context(
    engine: Engine, tenants: frozenset[str] | None, decision_id: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Everything recorded of one governed call: its decision rows (the decision, then a hold's
    resolution), its holds and its events, each the oldest first."""

    def of(table: sa.Table, order: sa.ColumnElement[Any]) -> sa.Select[Any]:
        query = sa.select(table).where(table.c.decision_id == decision_id).order_by(order).limit(100)
        return query.where(table.c.tenant_id.in_(sorted(tenants))) if tenants is not None else query

    with engine.connect() as conn:
        decided = [dict(r) for r in conn.execute(of(_decisions, _decisions.c.id)).mappings()]
        held = [dict(r) for r in conn.execute(of(_holds, _holds.c.created_at)).mappings()]
        evented = [dict(r) for r in conn.execute(of(_events, _events.c.id)).mappings()]
    return decided, held, evented


# -- Policies ----------------------------------------------------------------------------------------


def rule_matches(engine: Engine, scope: Scope) -> tuple[Counter[str], int]:
    """How many decisions of the window each rule id matched, and how many decisions were read
    (the newest RULE_ROWS_LIMIT of the window at most: the page says when it was cut)."""
    query = (
        sa.select(_decisions.c.rule_ids)
        .where(*_made(scope))
        .order_by(_decisions.c.id.desc())
        .limit(RULE_ROWS_LIMIT)
    )
    counts: Counter[str] = Counter()
    read = 0
    with engine.connect() as conn:
        for (text,) in conn.execute(query):
            read += 1
            counts.update(_rule_ids(text))
    return counts, read


def _rule_ids(text: str | None) -> set[str]:
    try:
        ids = json.loads(text) if text else []
    except ValueError:
        return set()
    return {rule for rule in ids if isinstance(rule, str)} if isinstance(ids, list) else set()


# -- Analytics ---------------------------------------------------------------------------------------


def decisions_over_time(engine: Engine, scope: Scope, bucket_seconds: int) -> list[tuple[int, str, int]]:
    """(bucket number, decision, count): bucket n covers [n * bucket_seconds, (n + 1) * ...)."""
    scaled = _decisions.c.created_at / bucket_seconds
    # PostgreSQL rounds a cast to integer; SQLite truncates (and may lack floor): epochs are positive
    number = sa.func.floor(scaled) if engine.dialect.name == "postgresql" else sa.cast(scaled, sa.Integer)
    bucket = sa.cast(number, sa.BigInteger).label("bucket")
    query = (
        sa.select(bucket, _decisions.c.decision, sa.func.count().label("n"))
        .where(*_made(scope))
        .group_by(bucket, _decisions.c.decision)
    )
    with engine.connect() as conn:
        return [(int(b), str(d), int(n)) for b, d, n in conn.execute(query)]


def top_refused(engine: Engine, scope: Scope, column: str) -> list[tuple[str, int]]:
    """The tools (or agents) with the most BLOCK decisions in the scope, most first."""
    key = _decisions.c[column]
    count = sa.func.count().label("n")
    query = (
        sa.select(key, count)
        .where(*_made(scope), _decisions.c.decision == "BLOCK")
        .group_by(key)
        .order_by(count.desc(), key)
        .limit(TOP_LIMIT)
    )
    with engine.connect() as conn:
        return [(str(name), int(n)) for name, n in conn.execute(query)]


def approval_latencies(engine: Engine, scope: Scope) -> list[float]:
    """Seconds from hold to resolution of the holds a human approved or denied in the window
    (expired holds have no approver: they are not a latency of anyone's)."""
    waited = (_holds.c.resolved_at - _holds.c.created_at).label("waited")
    query = (
        sa.select(waited)
        .where(
            *Scope(scope.tenants, scope.tenant).on(_holds, "created_at"),
            _holds.c.status.in_(("approved", "denied")),
            _holds.c.resolved_at.is_not(None),
        )
        .order_by(_holds.c.resolved_at.desc())
        .limit(LATENCY_ROWS_LIMIT)
    )
    if scope.since is not None:
        query = query.where(_holds.c.resolved_at >= scope.since)
    with engine.connect() as conn:
        return [float(row[0]) for row in conn.execute(query)]


def decision_totals(engine: Engine, scope: Scope) -> dict[str, int]:
    query = (
        sa.select(_decisions.c.decision, sa.func.count()).where(*_made(scope)).group_by(_decisions.c.decision)
    )
    with engine.connect() as conn:
        return {str(d): int(n) for d, n in conn.execute(query)}
