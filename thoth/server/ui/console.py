"""The console's routes under ``/ui/``: sign-in, sign-out, the Approvals page and its live fragment.

HTTP and store I/O only; what a page shows is ``views``, what a cookie or token holds is
``session``. Holds are read with the store queries the API uses (``store.list_holds``,
``store.get_hold``) and the principal's tenants, and resolved through ``Enforcer.resolve``,
so a click records exactly what ``POST /v1/enforce/hold/{token}/resolve`` would, with the
signed-in key's name as the approver. Hold tokens travel in form bodies, never in paths, so
the access log never sees one. Nothing here logs a key, a cookie or a hold's arguments.
"""

from __future__ import annotations

import logging
import re
import time
from functools import partial
from pathlib import Path
from typing import Any, Final

import anyio.to_thread
import attrs
import pydantic
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy.engine import Engine
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from thoth._version import __version__
from thoth.server import holds, store
from thoth.server._limiter import FailureLimiter, client_key
from thoth.server.auth import Principal
from thoth.server.errors import ApiError
from thoth.server.schemas import HOLD_TOKEN_PATTERN, RESOLVE_REQUEST
from thoth.server.service import Enforcer
from thoth.server.ui import activity, insights, session, views
from thoth.server.ui.forms import FORGED, HOME_PATH, LOGIN_PATH, form_of, next_page, sign_in_first
from thoth.server.ui.session import ConsoleKeys

log = logging.getLogger("thoth.server.console")

TEMPLATES: Final = Path(__file__).with_name("templates")
STATIC: Final = Path(__file__).with_name("static")
COOKIE_PATH: Final = "/ui"
_TOKEN: Final = re.compile(HOLD_TOKEN_PATTERN)
_REF: Final = re.compile(rf"[0-9a-f]{{{holds.REF_HEX}}}")
_RESOLUTIONS: Final = {"approve": "ALLOW", "deny": "BLOCK"}


@attrs.frozen
class Visitor:
    """A signed-in admin (``session_id`` set: may submit forms) or a Bearer request (read-only)."""

    principal: Principal
    session_id: str | None
    csrf: str


def templates() -> Environment:
    """Autoescape on for every template, so anything an agent sent renders as text."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


class Console:
    def __init__(self, enforcer: Enforcer, limiter: FailureLimiter) -> None:
        self.enforcer = enforcer
        self.limiter = limiter  # the API's: a refused sign-in counts like a refused API key
        self.templates = templates()
        self._keys: ConsoleKeys | None = None

    @property
    def engine(self) -> Engine:
        return self.enforcer.engine

    def routes(self) -> list[BaseRoute]:
        return [
            Mount(
                "/ui",
                routes=[
                    Route("/", self.index, methods=["GET"]),
                    Route("/login", self.login_form, methods=["GET"]),
                    Route("/login", self.login, methods=["POST"]),
                    Route("/logout", self.logout, methods=["POST"]),
                    Route("/approvals", self.approvals, methods=["GET"]),
                    Route("/approvals/live", self.approvals_live, methods=["GET"]),
                    Route("/approvals/resolve", self.resolve, methods=["POST"]),
                    Route("/holds/{ref}", self.hold_page, methods=["GET"]),
                    *activity.routes(self),
                    *insights.routes(self),
                    Mount("/static", app=StaticFiles(directory=STATIC)),
                    Route("/{path:path}", self.not_found, methods=["GET"]),
                ],
            )
        ]

    # -- who is asking --------------------------------------------------------------------------------

    async def keys(self) -> ConsoleKeys:
        """The cookie and CSRF keys, from the secret every replica on this store shares."""
        if self._keys is None:
            candidate = session.new_master()
            master = await self.enforcer.writer.submit(
                lambda txn: store.server_secret(txn.conn, session.SECRET_NAME, candidate, txn.now)
            )
            self._keys = ConsoleKeys.derive(master)
        return self._keys

    async def signed_in(self, request: Request) -> Visitor | None:
        """The admin whose session cookie this is, while the session and its key both last."""
        cookie = request.cookies.get(session.SESSION_COOKIE)
        if not cookie:
            return None
        keys = await self.keys()
        now = time.time()
        session_id = session.unseal(keys, cookie, now)
        if session_id is None:
            return None
        digest = session.session_digest(session_id)
        row = await anyio.to_thread.run_sync(store.get_console_session, self.engine, digest, now)
        principal = self.enforcer.keys.by_digest(row["key_digest"]) if row is not None else None
        if principal is None or not principal.admin:
            return None
        request.scope["thoth.principal"] = principal.name
        return Visitor(principal, session_id, session.csrf_token(keys, session.SESSION, session_id))

    async def visitor(self, request: Request) -> Visitor | Response | None:
        """For a GET: a Bearer (or X-API-Key) admin key, else the session cookie; a refusal
        page for a key that is wrong or not an admin's; None when neither was sent."""
        headers = request.headers
        if "authorization" not in headers and "x-api-key" not in headers:
            return await self.signed_in(request)
        if (locked := self.locked_out(request)) is not None:
            return locked
        principal = self.enforcer.keys.resolve(headers.get("x-api-key"), headers.get("authorization"))
        if principal is None:
            sent = f"{headers.get('x-api-key', '')}\x00{headers.get('authorization', '')}"
            if (locked := self.failed_authentication(request, sent)) is not None:
                return locked
            return self.error(
                401, "Not signed in", "This server has no such key.", {"WWW-Authenticate": "Bearer"}
            )
        request.scope["thoth.principal"] = principal.name
        if not principal.admin:
            return self.error(403, "Not an admin key", _AGENT_KEY)
        return Visitor(principal, None, "")

    async def reader(self, request: Request) -> Visitor | Response:
        """For a read-only page: the visitor, else the response to send instead (to the sign-in
        form, which returns to this page, or a refusal)."""
        who = await self.visitor(request)
        return sign_in_first(request.url.path) if who is None else who

    def locked_out(self, request: Request) -> Response | None:
        """429 for a client the limiter locked out, before any key of its is looked at."""
        wait = self.limiter.retry_after(client_key(request.client.host if request.client else None))
        return None if wait is None else self._too_many(wait)

    def failed_authentication(self, request: Request, sent: str) -> Response | None:
        """One place for every refused key (sign-in or Bearer), for the per-client limiter: a
        429 page when this refusal locks the client out (``sent`` is digested, never kept)."""
        client = client_key(request.client.host if request.client else None)
        log.warning("refused an unknown key from %s", client)
        wait = self.limiter.failed(client, self.enforcer.keys.digest_of(sent))
        if wait is None:
            return None
        log.warning("client %s locked out for %d s: too many different keys refused", client, wait)
        return self._too_many(wait)

    def _too_many(self, wait: int) -> HTMLResponse:
        message = f"Too many wrong keys came from this address. Wait {wait} seconds, then try again."
        return self.error(429, "Too many attempts", message, {"Retry-After": str(wait)})

    # -- pages ------------------------------------------------------------------------------------------

    def render(
        self, template: str, status: int = 200, visitor: Visitor | None = None, **context: Any
    ) -> HTMLResponse:
        context.setdefault("csrf", visitor.csrf if visitor else "")
        context.setdefault("current", "")
        html = self.templates.get_template(template).render(
            nav=views.PAGES,
            viewer=views.viewer(visitor.principal, self.enforcer.keys.insecure_dev) if visitor else None,
            version=__version__,
            **context,
        )
        return HTMLResponse(html, status_code=status)

    def error(
        self,
        status: int,
        title: str,
        message: str,
        headers: dict[str, str] | None = None,
        visitor: Visitor | None = None,
    ) -> HTMLResponse:
        response = self.render("error.html", status, visitor, title=title, message=message)
        response.headers.update(headers or {})
        return response

    async def index(self, _request: Request) -> Response:
        return RedirectResponse(HOME_PATH, 303)

    async def not_found(self, request: Request) -> Response:
        return self.error(404, "Not found", "There is no such page in the console.")

    async def approvals(self, request: Request) -> Response:
        who = await self.visitor(request)
        if who is None:
            return RedirectResponse(LOGIN_PATH, 303)
        if isinstance(who, Response):
            return who
        page = await self._approvals(who.principal)
        return self.render("approvals.html", visitor=who, page=page, current="approvals")

    async def hold_page(self, request: Request) -> Response:
        """One hold's page (``approval_url`` points here): Approve / Deny while it is pending,
        else who resolved it. Named by its ref, so the link never carries the token."""
        ref = request.path_params["ref"]
        who = await self.visitor(request)
        if who is None:
            return sign_in_first(request.url.path)
        if isinstance(who, Response):
            return who
        row = (
            await anyio.to_thread.run_sync(store.get_hold_by_ref, self.engine, ref)
            if _REF.fullmatch(ref)
            else None
        )
        if row is None or not who.principal.may_act_for(row["tenant_id"]):
            return self.error(404, "No such hold", _NO_HOLD, visitor=who)
        now = time.time()
        hold = views.hold_view(row, now)
        outcome = "" if hold.status == "pending" else views.outcome_text(row, now)
        return self.render("hold.html", visitor=who, hold=hold, outcome=outcome, current="approvals")

    async def approvals_live(self, request: Request) -> Response:
        """The part of the Approvals page that changes, polled by static/console.js."""
        who = await self.visitor(request)
        if who is None:
            return PlainTextResponse("not signed in", 401)
        if isinstance(who, Response):
            return who
        page = await self._approvals(who.principal)
        return self.render("_holds.html", visitor=who, page=page)

    async def _approvals(self, principal: Principal) -> views.ApprovalsPage:
        now = time.time()
        pending, resolved = await anyio.to_thread.run_sync(
            partial(_approval_rows, self.engine, principal.tenants, now)
        )
        return views.approvals_page(pending, resolved, now)

    # -- forms ------------------------------------------------------------------------------------------

    async def resolve(self, request: Request) -> Response:
        who = await self.signed_in(request)
        form = await form_of(request)
        if who is None or who.session_id is None:
            return RedirectResponse(LOGIN_PATH, 303)
        if not session.csrf_valid(await self.keys(), session.SESSION, who.session_id, form.get("csrf")):
            return self.error(403, "Refused", FORGED, visitor=who)
        resolution = _RESOLUTIONS.get(form.get("decision", ""))
        token = form.get("hold", "")
        if resolution is None:
            return self.error(400, "Nothing to do", "Choose Approve or Deny.", visitor=who)
        if not _TOKEN.match(token):
            return self.error(404, "No such hold", _NO_HOLD, visitor=who)
        reason = form.get("reason", "").strip()
        try:
            body = RESOLVE_REQUEST.validate_python({"resolution": resolution, "reason": reason})
        except pydantic.ValidationError:
            return self.error(400, "Reason too long", "A reason is at most 4096 characters.", visitor=who)
        if "\x00" in reason:
            return self.error(400, "Bad reason", "A reason cannot contain a NUL character.", visitor=who)
        try:
            await self.enforcer.resolve(who.principal, token, body)
        except ApiError as exc:
            return await self._not_resolved(who, token, exc)
        back = form.get("back", "")
        return RedirectResponse(f"/ui/holds/{back}" if _REF.fullmatch(back) else HOME_PATH, 303)

    async def _not_resolved(self, who: Visitor, token: str, exc: ApiError) -> Response:
        if exc.status == 404:
            return self.error(404, "No such hold", _NO_HOLD, visitor=who)
        if exc.status == 409:
            row = await anyio.to_thread.run_sync(store.get_hold, self.engine, token)
            if row is not None and who.principal.may_act_for(row["tenant_id"]):
                return self.error(
                    409, "Already resolved", views.already_resolved(row, time.time()), visitor=who
                )
        return self.error(exc.status, "Not resolved", exc.message, visitor=who)

    async def login_form(self, request: Request) -> Response:
        after = next_page(request.query_params.get("next"))
        if await self.signed_in(request) is not None:
            return RedirectResponse(after, 303)
        return await self._login_page(request, 200, "", after)

    async def _login_page(
        self, request: Request, status: int, problem: str, after: str = HOME_PATH
    ) -> Response:
        """The sign-in form, with its nonce cookie (kept while it is valid, so two tabs work)."""
        nonce = request.cookies.get(session.LOGIN_COOKIE)
        if not session.well_formed_nonce(nonce):
            nonce = session.new_nonce()
        csrf = session.csrf_token(await self.keys(), session.LOGIN, nonce)
        insecure_dev = self.enforcer.keys.insecure_dev
        response = self.render(
            "login.html",
            status,
            csrf=csrf,
            problem=problem,
            insecure_dev=insecure_dev,
            next="" if after == HOME_PATH else after,
        )
        _set_cookie(response, request, session.LOGIN_COOKIE, nonce, session.LOGIN_SECONDS)
        return response

    async def login(self, request: Request) -> Response:
        form = await form_of(request)
        after = next_page(form.get("next"))
        keys = await self.keys()
        nonce = request.cookies.get(session.LOGIN_COOKIE)
        if not session.well_formed_nonce(nonce) or not session.csrf_valid(
            keys, session.LOGIN, nonce, form.get("csrf")
        ):
            return await self._login_page(request, 403, "This sign-in form expired: sign in again.", after)
        key = form.get("key", "").strip()
        if not key:
            return await self._login_page(request, 400, "Enter an admin key.", after)
        if (locked := self.locked_out(request)) is not None:
            return locked
        principal = self.enforcer.keys.resolve(key, None)
        if principal is None:
            if (locked := self.failed_authentication(request, key)) is not None:
                return locked
            return await self._login_page(request, 401, "This server has no such key.", after)
        if not principal.admin:
            return await self._login_page(request, 403, _AGENT_KEY, after)
        session_id, now = session.new_nonce(), time.time()
        row = {
            "id_sha256": session.session_digest(session_id),
            "key_digest": self.enforcer.keys.digest_of(key),
            "created_at": now,
            "expires_at": now + session.SESSION_SECONDS,
        }
        await self.enforcer.writer.submit(lambda txn: store.insert_console_session(txn.conn, row, txn.now))
        request.scope["thoth.principal"] = principal.name
        log.info("%s signed in", principal.name)
        response = RedirectResponse(after, 303)
        cookie = session.seal(keys, session_id, now)
        _set_cookie(response, request, session.SESSION_COOKIE, cookie, session.SESSION_SECONDS)
        _clear_cookie(response, request, session.LOGIN_COOKIE)
        return response

    async def logout(self, request: Request) -> Response:
        who = await self.signed_in(request)
        form = await form_of(request)
        if who is not None and who.session_id is not None:
            if not session.csrf_valid(await self.keys(), session.SESSION, who.session_id, form.get("csrf")):
                return self.error(403, "Refused", FORGED, visitor=who)
            digest = session.session_digest(who.session_id)
            await self.enforcer.writer.submit(lambda txn: store.delete_console_session(txn.conn, digest))
            log.info("%s signed out", who.principal.name)
        response = RedirectResponse(LOGIN_PATH, 303)
        _clear_cookie(response, request, session.SESSION_COOKIE)
        return response


_AGENT_KEY: Final = (
    "That is an agent key: it can call the API, but only an admin key (thoth serve --admin-key) "
    "can sign in to the console."
)
_NO_HOLD: Final = "There is no such hold, or it belongs to a tenant this key may not see."


def _approval_rows(
    engine: Engine, tenants: frozenset[str] | None, now: float
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Pending holds (one more than shown: is there more?) and the latest approved and denied."""
    pending = store.list_holds(engine, tenants, "pending", None, None, views.PENDING_LIMIT + 1, 0, now)
    resolved = [
        row
        for status in ("approved", "denied")
        for row in store.list_holds(engine, tenants, status, None, None, views.RESOLVED_LIMIT, 0, now)
    ]
    return pending, resolved


def _set_cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )


def _clear_cookie(response: Response, request: Request, name: str) -> None:
    response.delete_cookie(
        name, path=COOKIE_PATH, secure=request.url.scheme == "https", httponly=True, samesite="strict"
    )
