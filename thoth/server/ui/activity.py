"""The console's Sessions and Violations pages, and one call's record (HTTP and store I/O).

Read-only pages: a signed-in admin or a Bearer admin key may read them, within the key's
tenants. Filters come from the query string and are checked here: an unknown decision or
window is ignored rather than refused, a tenant outside the key's scope shows nothing.
"""

from __future__ import annotations

import re
import time
from functools import partial
from typing import TYPE_CHECKING, Final

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from thoth.server import analytics, sessions
from thoth.server.analytics import Scope
from thoth.server.schemas import DECISION_ID_PATTERN
from thoth.server.ui import report, views

if TYPE_CHECKING:
    from thoth.server.ui.console import Console, Visitor

_DECISION_ID: Final = re.compile(DECISION_ID_PATTERN)
#: a filter's text, as long as the column that holds it
_FILTER_MAX: Final = 256


def routes(console: Console) -> list[BaseRoute]:
    """Mounted under ``/ui`` by ``Console.routes``."""
    pages = ActivityPages(console)
    return [
        Route("/sessions", pages.sessions, methods=["GET"]),
        Route("/session", pages.session, methods=["GET"]),
        Route("/violations", pages.violations, methods=["GET"]),
        Route("/calls/{decision_id}", pages.call, methods=["GET"]),
    ]


def text_filter(request: Request, name: str) -> str | None:
    value = request.query_params.get(name, "").strip()
    return value[:_FILTER_MAX] if value and "\x00" not in value else None


def scope_of(who: Visitor, request: Request, window: report.Window) -> Scope:
    return Scope(who.principal.tenants, text_filter(request, "tenant"), report.since_of(window, time.time()))


class ActivityPages:
    def __init__(self, console: Console) -> None:
        self.console = console

    async def sessions(self, request: Request) -> Response:
        who = await self.console.reader(request)
        if isinstance(who, Response):
            return who
        window = report.window_of(request.query_params.get("window"), "7d")
        scope = scope_of(who, request, window)
        agent = text_filter(request, "agent")
        decision = request.query_params.get("decision")
        decision = decision if decision in report.DECISIONS else None
        rows, agents, scored = await anyio.to_thread.run_sync(
            partial(_sessions, self.console, scope, agent, decision)
        )
        return self.console.render(
            "sessions.html",
            visitor=who,
            current="sessions",
            rows=report.session_rows(rows),
            anomalies=_anomaly_views(rows, scored),
            agents=agents,
            windows=report.WINDOWS,
            decisions=report.DECISIONS,
            chosen={
                "window": window.name,
                "agent": agent or "",
                "tenant": scope.tenant or "",
                "decision": decision or "",
            },
            window=window,
            limit=analytics.SESSIONS_LIMIT,
        )

    async def session(self, request: Request) -> Response:
        who = await self.console.reader(request)
        if isinstance(who, Response):
            return who
        tenant, session_id = text_filter(request, "tenant"), text_filter(request, "id")
        if tenant is None or session_id is None:
            return self.console.error(404, "No such session", _NO_SESSION, visitor=who)
        decisions, events, head = await anyio.to_thread.run_sync(
            analytics.session_timeline, self.console.engine, who.principal.tenants, tenant, session_id
        )
        if not decisions and not events:
            return self.console.error(404, "No such session", _NO_SESSION, visitor=who)
        line = report.timeline(decisions, events, head, analytics.TIMELINE_LIMIT)
        window = report.window_of(request.query_params.get("window"), "7d")
        since = report.since_of(window, time.time())
        scored = await anyio.to_thread.run_sync(
            sessions.anomaly_of, self.console.engine, tenant, session_id, since
        )
        return self.console.render(
            "session.html",
            visitor=who,
            current="sessions",
            tenant=tenant,
            session_id=session_id,
            line=line,
            anomaly=sessions.anomaly_view(scored),
            window=window,
        )

    async def violations(self, request: Request) -> Response:
        who = await self.console.reader(request)
        if isinstance(who, Response):
            return who
        window = report.window_of(request.query_params.get("window"), "7d")
        scope = scope_of(who, request, window)
        decision = request.query_params.get("decision")
        decision = decision if decision in analytics.REFUSALS else None
        before = request.query_params.get("before", "")
        before_id = int(before) if before.isdigit() and len(before) < 19 else None
        rows = await anyio.to_thread.run_sync(
            analytics.violations, self.console.engine, scope, decision, before_id
        )
        shown = rows[: analytics.VIOLATIONS_LIMIT]
        return self.console.render(
            "violations.html",
            visitor=who,
            current="violations",
            rows=report.violation_rows(shown, time.time()),
            next_before=shown[-1]["id"] if len(rows) > analytics.VIOLATIONS_LIMIT else None,
            windows=report.WINDOWS,
            refusals=analytics.REFUSALS,
            chosen={"window": window.name, "tenant": scope.tenant or "", "decision": decision or ""},
            window=window,
        )

    async def call(self, request: Request) -> Response:
        """Everything recorded of one governed call, by its decision id: the decision, its hold
        (with the arguments as redacted and stored) and every event it produced."""
        who = await self.console.reader(request)
        if isinstance(who, Response):
            return who
        decision_id = request.path_params["decision_id"]
        if not _DECISION_ID.match(decision_id):
            return self.console.error(404, "No such call", _NO_CALL, visitor=who)
        decided, held, evented = await anyio.to_thread.run_sync(
            analytics.decision_context, self.console.engine, who.principal.tenants, decision_id
        )
        if not decided and not evented:
            return self.console.error(404, "No such call", _NO_CALL, visitor=who)
        now = time.time()
        first = (decided or evented)[0]
        return self.console.render(
            "call.html",
            visitor=who,
            current="violations",
            decision_id=decision_id,
            tenant=first["tenant_id"],
            session_id=first["session_id"],
            line=report.timeline(decided, [], None, analytics.TIMELINE_LIMIT),
            holds=[views.hold_view(row, now) for row in held],
            events=report.event_views(evented),
        )


def _sessions(
    console: Console, scope: Scope, agent: str | None, decision: str | None
) -> tuple[list[dict[str, object]], list[str], dict[tuple[str, str], sessions.Scored]]:
    """The listed sessions, the agents to filter by, and the window's behaviour scores (each
    session against its agent's other sessions of the window, as GET /v1/sessions scores them)."""
    engine = console.engine
    listed = analytics.session_summaries(engine, scope, agent, decision)
    scored = sessions.anomalies(engine, scope.tenants, scope.tenant, scope.since)
    return listed, analytics.agents_of(engine, scope), scored


def _anomaly_views(
    rows: list[dict[str, object]], scored: dict[tuple[str, str], sessions.Scored]
) -> dict[tuple[str, str], sessions.AnomalyView]:
    keys = [(str(row["tenant_id"]), str(row["session_id"])) for row in rows]
    return {key: sessions.anomaly_view(scored.get(key)) for key in keys}


_NO_SESSION: Final = "There is no such session, or it belongs to a tenant this key may not see."
_NO_CALL: Final = "There is no call with this decision id, or it belongs to a tenant this key may not see."
