"""The console's Policies and Analytics pages (HTTP and store I/O).

Policies shows the policy in force (its text when the file still holds it), each rule with how
often it matched in a window, and a form that checks a draft with ``thoth policy check``'s own
words (``thoth.policy.check``). Analytics draws decisions over time, the most refused tools
and agents, and how long approvers take, as server-side SVG (``charts``).
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import anyio.to_thread
import attrs
import yaml
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from thoth.policy.check import CheckReport, check_text
from thoth.server import analytics
from thoth.server.ui import charts, report, session
from thoth.server.ui.activity import scope_of
from thoth.server.ui.forms import FORGED, form_of, sign_in_first

if TYPE_CHECKING:
    from thoth.server.ui.console import Console, Visitor

#: the most a draft may be (a policy is a page of YAML, not a megabyte)
DRAFT_MAX_CHARS: Final = 12_000
DRAFT_FILE: Final = "<draft>"


def routes(console: Console) -> list[BaseRoute]:
    """Mounted under ``/ui`` by ``Console.routes``."""
    pages = InsightPages(console)
    return [
        Route("/policies", pages.policies, methods=["GET"]),
        Route("/policies/check", pages.check_draft, methods=["POST"]),
        Route("/analytics", pages.analytics, methods=["GET"]),
    ]


@attrs.frozen
class PolicySource:
    """What the page shows of the policy in force."""

    name: str  # the file, or "the built-in policy"
    version: str
    text: str  # the file as it is, or the document as YAML when the file changed since loading
    note: str


def policy_source(path: str | None, version: str, document: Any) -> PolicySource:
    """The policy in force as its author wrote it, when the file still holds exactly that (the
    version is a digest of the file's bytes); else the document in force, as YAML."""
    if path is None:
        return PolicySource(
            "the built-in policy", version, "", "No --policy: only approved_scope is enforced."
        )
    try:
        data = Path(path).read_bytes()
    except OSError:
        data = b""
    if data and hashlib.sha256(data).hexdigest()[:16] == version:
        return PolicySource(path, version, data.decode("utf-8", "replace"), "")
    note = (
        "The file has changed (or cannot be read) since it was loaded: this is the policy in force, as data."
    )
    return PolicySource(path, version, yaml.safe_dump(document, sort_keys=False, allow_unicode=True), note)


class InsightPages:
    def __init__(self, console: Console) -> None:
        self.console = console

    async def policies(self, request: Request) -> Response:
        who = await self.console.reader(request)
        if isinstance(who, Response):
            return who
        return await self._policies(request, who, draft="", checked=None)

    async def check_draft(self, request: Request) -> Response:
        """Check a draft policy (nothing is saved or put in force)."""
        who = await self.console.signed_in(request)
        form = await form_of(request, max_bytes=4 * DRAFT_MAX_CHARS)
        if who is None or who.session_id is None:
            return sign_in_first("/ui/policies")
        keys = await self.console.keys()
        if not session.csrf_valid(keys, session.SESSION, who.session_id, form.get("csrf")):
            return self.console.error(403, "Refused", FORGED, visitor=who)
        draft = form.get("draft", "")
        if len(draft) > DRAFT_MAX_CHARS:
            checked = CheckReport(f"{DRAFT_FILE}: a draft is at most {DRAFT_MAX_CHARS} characters", (), None)
        elif "\x00" in draft:
            checked = CheckReport(f"{DRAFT_FILE}: a policy cannot contain a NUL character", (), None)
        else:
            checked = await anyio.to_thread.run_sync(check_text, draft, DRAFT_FILE)
        return await self._policies(request, who, draft=draft, checked=checked)

    async def _policies(
        self, request: Request, who: Visitor, draft: str, checked: CheckReport | None
    ) -> Response:
        window = report.window_of(request.query_params.get("window"), "24h")
        scope = scope_of(who, request, window)
        counts, read = await anyio.to_thread.run_sync(analytics.rule_matches, self.console.engine, scope)
        active = self.console.enforcer.active
        document = active.policy.document
        return self.console.render(
            "policies.html",
            visitor=who,
            current="policies",
            source=policy_source(self.console.enforcer.config.policy_path, active.version, document),
            rules=report.rule_rows(document, counts),
            others=report.other_rules(document, counts),
            read=read,
            cut=read >= analytics.RULE_ROWS_LIMIT,
            windows=report.WINDOWS,
            chosen={"window": window.name, "tenant": scope.tenant or ""},
            window=window,
            draft=draft,
            checked=checked,
            draft_max=DRAFT_MAX_CHARS,
        )

    async def analytics(self, request: Request) -> Response:
        who = await self.console.reader(request)
        if isinstance(who, Response):
            return who
        window = report.window_of(request.query_params.get("window"), "24h")
        scope = scope_of(who, request, window)
        facts = await anyio.to_thread.run_sync(_analytics, self.console.engine, scope, window)
        now = time.time()
        starts, by_type = report.series(facts["over_time"], window, now)
        return self.console.render(
            "analytics.html",
            visitor=who,
            current="analytics",
            windows=report.WINDOWS,
            chosen={"window": window.name, "tenant": scope.tenant or ""},
            window=window,
            totals=[(name, facts["totals"].get(name, 0)) for name in report.DECISIONS],
            total=sum(facts["totals"].values()),
            over_time=charts.time_series(starts, by_type),
            top_tools=charts.bar_list(facts["tools"]),
            top_agents=charts.bar_list(facts["agents"]),
            latency=report.latency(facts["latencies"]),
        )


def _analytics(engine: Any, scope: analytics.Scope, window: report.Window) -> dict[str, Any]:
    return {
        "totals": analytics.decision_totals(engine, scope),
        "over_time": analytics.decisions_over_time(engine, scope, window.bucket_seconds),
        "tools": analytics.top_refused(engine, scope, "tool_name"),
        "agents": analytics.top_refused(engine, scope, "agent_id"),
        "latencies": analytics.approval_latencies(engine, scope),
    }
