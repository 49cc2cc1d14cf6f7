"""HTTP: the routes of openapi/thoth.yaml on Starlette. No stack trace ever reaches a client."""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, Final, TypeVar, get_args

import anyio.to_thread
import pydantic
import pydantic_core
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from thoth._version import __version__
from thoth.server import cursors, sessions
from thoth.server._limiter import FailureLimiter, client_key
from thoth.server.auth import Principal
from thoth.server.config import ServerConfig
from thoth.server.errors import ApiError
from thoth.server.schemas import (
    DECISION_ID_PATTERN,
    ENFORCE_FIELDS,
    ENFORCE_REQUEST,
    EVENT_FIELDS,
    EVENTS,
    EXPLAIN_REQUEST,
    HOLD_TOKEN_PATTERN,
    RESOLVE_REQUEST,
    TOOL_INVENTORY,
    EventTypeName,
    ExtensionError,
    HoldStateName,
    extensions_of,
)
from thoth.server.service import Enforcer
from thoth.server.slack import endpoint as slack_endpoint
from thoth.server.slack.endpoint import SlackActions
from thoth.server.telemetry import ENFORCE_SPAN, INGEST_SPAN, Telemetry
from thoth.server.ui.console import Console
from thoth.server.ui.headers import ConsoleHeaders
from thoth.server.writer import StoreUnavailable, WriterClosed

access_log = logging.getLogger("thoth.server.access")
error_log = logging.getLogger("thoth.server.errors")

_TOKEN = re.compile(HOLD_TOKEN_PATTERN)
_IDENTIFIER_MAX: Final = 256
_DECISION_ID: Final = re.compile(DECISION_ID_PATTERN)
_HOLD_STATES: Final[tuple[str, ...]] = get_args(HoldStateName)
_EVENT_TYPES: Final[tuple[str, ...]] = get_args(EventTypeName)

T = TypeVar("T")


def create_app(config: ServerConfig) -> Starlette:
    """The enforcer as an ASGI app. Its store and writer live until the lifespan ends
    (or ``app.state.enforcer.close()`` is called)."""
    enforcer = Enforcer(config)
    # refused keys per client, for the API and the console's sign-in
    limiter = FailureLimiter(threshold=config.auth_failure_limit)
    api = _Api(enforcer, limiter)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        enforcer.open()
        yield
        await enforcer.aclose()

    routes = [
        Route("/v1/enforce", api.enforce, methods=["POST"]),
        Route("/v1/enforce/hold/{hold_token}", api.get_hold, methods=["GET"]),
        Route("/v1/enforce/hold/{hold_token}/resolve", api.resolve_hold, methods=["POST"]),
        Route("/v1/holds", api.list_holds, methods=["GET"]),
        Route("/v1/events/batch", api.ingest_events, methods=["POST"]),
        Route("/v1/events", api.list_events, methods=["GET"]),
        Route("/v1/explain", api.explain, methods=["POST"]),
        Route("/v1/receipts/public-key", api.receipt_public_key, methods=["GET"]),
        Route("/v1/policy/bundle", api.policy_bundle, methods=["GET"]),
        Route("/v1/tool-inventory", api.list_tool_inventory, methods=["GET"]),
        Route("/v1/sessions", api.list_sessions, methods=["GET"]),
        Route("/v1/sessions/{session_id:path}", api.get_session, methods=["GET"]),
        Route("/{tenant_id}/thoth/tool-inventory", api.publish_tool_inventory, methods=["POST"]),
        Route("/healthz", api.health, methods=["GET"]),
        *Console(enforcer, limiter).routes(),  # /ui/: the approval console, on the same store
        *_slack_routes(enforcer),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(AccessLog), Middleware(ConsoleHeaders)],
        exception_handlers={
            ApiError: _api_error,
            ClientDisconnect: _client_disconnected,
            HTTPException: _http_error,
            WriterClosed: _unavailable,
            StoreUnavailable: _store_unavailable,
            OperationalError: _store_unavailable,  # a read found the store down or locked
            InterfaceError: _store_unavailable,
            SQLAlchemyTimeoutError: _store_unavailable,  # no pooled connection came free in time
            Exception: _internal_error,
        },
    )
    app.state.enforcer = enforcer
    return app


def _slack_routes(enforcer: Enforcer) -> list[BaseRoute]:
    """Slack's interactivity callback, when the server posts holds to Slack."""
    if enforcer.config.slack is None or enforcer.slack is None:
        return []
    actions = SlackActions(enforcer, enforcer.config.slack, enforcer.slack)
    return [Route(slack_endpoint.PATH, actions.handle, methods=["POST"])]


class _Api:
    def __init__(self, enforcer: Enforcer, limiter: FailureLimiter) -> None:
        self.enforcer = enforcer
        self.config = enforcer.config
        self.limiter = limiter
        config = self.config
        self.telemetry = (  # None: off, and opentelemetry never imported
            Telemetry(config.otel_tracer_provider, config.otel_meter_provider) if config.otel else None
        )

    def principal(self, request: Request, *, ingest: bool = False) -> Principal:
        """The caller's key, or 401; 429 for a client locked out by its refused keys (_limiter),
        before its key is looked at, so a lockout says nothing about the key it sent."""
        headers = request.headers
        client = client_key(request.client.host if request.client else None)
        sends_a_key = any(name in headers for name in _CREDENTIAL_HEADERS)  # none: nothing to guess
        wait = self.limiter.retry_after(client) if sends_a_key else None
        if wait is not None:
            raise rate_limited(wait)
        principal = self.enforcer.keys.resolve(headers.get("x-api-key"), headers.get("authorization"))
        if principal is None and ingest:  # atensec-thoth's dedicated event-ingest token
            principal = self.enforcer.keys.resolve(headers.get("x-thoth-event-ingest-token"), None)
        if principal is None and sends_a_key:
            sent = (headers.get(name, "") for name in _CREDENTIAL_HEADERS)
            wait = refused(self.limiter, client, self.enforcer.keys.digest_of("\x00".join(sent)))
            if wait is not None:
                raise rate_limited(wait)
        if principal is None:
            raise ApiError(401, "unauthorized", "missing or invalid API key", {"WWW-Authenticate": "Bearer"})
        request.scope["thoth.principal"] = principal.name
        return principal

    async def body(self, request: Request) -> bytes:
        limit = self.config.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise _too_large(limit)
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)
        return b"".join(chunks)

    async def enforce(self, request: Request) -> Response:
        telemetry = self.telemetry
        if telemetry is None:
            return JSONResponse((await self._decide(request))[1])
        with telemetry.span(ENFORCE_SPAN, request.headers) as span:
            tool_name, answer = await self._decide(request)
            telemetry.decided(span, tool_name, answer)
        return JSONResponse(answer)

    async def _decide(self, request: Request) -> tuple[str, dict[str, Any]]:
        principal = self.principal(request)
        raw = _parse_json(await self.body(request))
        body = _validate(ENFORCE_REQUEST.validate_python, raw)
        _check_finite(body.tool_args, "tool_args")
        _check_finite(body.model_extra, "body")
        _extensions(raw, ENFORCE_FIELDS, "body")
        return body.tool_name, await self.enforcer.decide(principal, body)

    async def explain(self, request: Request) -> Response:
        principal = self.principal(request)
        raw = _parse_json(await self.body(request))
        body = _validate(EXPLAIN_REQUEST.validate_python, raw)
        return JSONResponse(await self.enforcer.explain(principal, body))

    async def receipt_public_key(self, request: Request) -> Response:
        self.principal(request)
        key = self.enforcer.receipt_public_key()
        if key is None:
            raise ApiError(404, "not_found", "this server signs no decision receipts")
        return JSONResponse(key)

    async def policy_bundle(self, request: Request) -> Response:
        """The active policy as data (``decision_mode="local"``); 304 when the caller has it."""
        self.principal(request)
        bundle = self.enforcer.policy_bundle()
        headers = {"ETag": bundle.etag, "Cache-Control": "no-cache"}
        if _matches_etag(request.headers.get("if-none-match"), bundle.etag):
            return Response(status_code=304, headers=headers)
        return Response(bundle.body, media_type="application/json", headers=headers)

    async def publish_tool_inventory(self, request: Request) -> Response:
        principal = self.principal(request)
        tenant = str(request.path_params["tenant_id"])
        if not 1 <= len(tenant) <= _IDENTIFIER_MAX:
            raise ApiError(400, "bad_request", f"tenant_id must be 1 to {_IDENTIFIER_MAX} characters")
        body = _validate(TOOL_INVENTORY.validate_python, _parse_json(await self.body(request)))
        for position, tool in enumerate(body.tools):
            _check_finite(tool.input_schema, f"tools[{position}].input_schema")
        return JSONResponse(await self.enforcer.publish_tool_inventory(principal, tenant, body))

    async def list_tool_inventory(self, request: Request) -> Response:
        principal = self.principal(request)
        query = request.query_params
        page = await self.enforcer.list_tool_inventory(
            principal,
            _identifier(query.get("tenant_id"), "tenant_id"),
            _identifier(query.get("agent_id"), "agent_id"),
            _limit(query.get("limit")),
            _cursor(query.get("cursor")),
        )
        return JSONResponse(page)

    async def get_hold(self, request: Request) -> Response:
        # The token is the credential of a request that sends none (aten-thoth 0.1.0-0.1.1).
        principal = None if _sends_no_credentials(request) else self.principal(request)
        token = _hold_token(request)
        status, pending = await self.enforcer.hold_status(principal, token)
        headers = {"Retry-After": str(self.config.hold_retry_after_seconds)} if pending else None
        return JSONResponse(status, headers=headers)

    async def resolve_hold(self, request: Request) -> Response:
        principal = self.principal(request)
        token = _hold_token(request)
        body = _validate(RESOLVE_REQUEST.validate_python, _parse_json(await self.body(request)))
        return JSONResponse(await self.enforcer.resolve(principal, token, body))

    async def list_holds(self, request: Request) -> Response:
        principal = self.principal(request)
        query = request.query_params
        status = _choice(query.get("status"), _HOLD_STATES, "status")
        tenant = _identifier(query.get("tenant_id"), "tenant_id")
        session = _identifier(query.get("session_id"), "session_id")
        page = await self.enforcer.list_holds(
            principal, status, tenant, session, _limit(query.get("limit")), _cursor(query.get("cursor"))
        )
        return JSONResponse(page)

    async def ingest_events(self, request: Request) -> Response:
        telemetry = self.telemetry
        if telemetry is None:
            return JSONResponse((await self._ingest(request))[1])
        with telemetry.span(INGEST_SPAN, request.headers) as span:
            received, result = await self._ingest(request)
            telemetry.ingested(span, received, result)
        return JSONResponse(result)

    async def _ingest(self, request: Request) -> tuple[int, dict[str, Any]]:
        principal = self.principal(request, ingest=True)
        raw = _parse_json(await self.body(request))
        if not isinstance(raw, list) or not raw:
            raise ApiError(422, "validation_error", "the body must be a non-empty JSON array of events")
        if len(raw) > self.config.max_batch_events:
            raise ApiError(  # the schema's maxItems: 422; a body over the byte limit is 413
                422,
                "validation_error",
                f"a batch holds at most {self.config.max_batch_events} events, not {len(raw)}",
            )
        _validate(EVENTS.validate_python, raw, prefix="events")
        for position, event in enumerate(raw):
            where = f"events[{position}]"
            _check_finite(event.get("metadata"), f"{where}.metadata")
            if not EVENT_FIELDS.issuperset(event):  # cheap when there are none
                _check_finite(_extensions(event, EVENT_FIELDS, where), where)
        return len(raw), await self.enforcer.ingest(principal, raw)

    async def list_events(self, request: Request) -> Response:
        principal = self.principal(request)
        query = request.query_params
        page = await self.enforcer.list_events(
            principal,
            _identifier(query.get("session_id"), "session_id"),
            _identifier(query.get("agent_id"), "agent_id"),
            _choice(query.get("event_type"), _EVENT_TYPES, "event_type"),
            _cursor(query.get("cursor")),
            _limit(query.get("limit")),
            decision_id=_decision_id(query.get("decision_id")),
            since=_moment(query.get("since"), "since"),
            until=_moment(query.get("until"), "until"),
        )
        return JSONResponse(page)

    async def list_sessions(self, request: Request) -> Response:
        """Sessions of a window with their behaviour scores (thoth.server.sessions)."""
        principal = self.principal(request)
        query = request.query_params
        tenant = _visible_tenant(principal, query.get("tenant_id"))
        listing = partial(
            sessions.list_sessions,
            self.enforcer.engine,
            principal.tenants,
            tenant,
            _identifier(query.get("agent_id"), "agent_id"),
            _window(query.get("window")),
            time.time(),
            _sort(query.get("sort")),
            _limit(query.get("limit")),
        )
        return JSONResponse(await anyio.to_thread.run_sync(listing))

    async def get_session(self, request: Request) -> Response:
        """One session, whole, with its behaviour score and the reasons."""
        principal = self.principal(request)
        query = request.query_params
        session = _identifier(str(request.path_params["session_id"]), "session_id") or ""
        tenant = _visible_tenant(principal, query.get("tenant_id"))
        reading = partial(
            sessions.get_session,
            self.enforcer.engine,
            principal.tenants,
            tenant,
            session,
            _window(query.get("window")),
            time.time(),
        )
        try:
            found = await anyio.to_thread.run_sync(reading)
        except sessions.AmbiguousSession:
            raise ApiError(
                409, "ambiguous_session", "sessions of this id exist in more than one tenant: give tenant_id"
            ) from None
        if found is None:
            raise ApiError(404, "not_found", "no such session")
        return JSONResponse(found)

    async def health(self, _request: Request) -> Response:
        if not await self.enforcer.store_reachable():
            body = {
                "code": "store_unavailable",
                "message": "the store does not answer",
                "store": "unreachable",
            }
            return JSONResponse(body, status_code=503, headers={"Retry-After": "1"})
        now = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
        return JSONResponse({"status": "ok", "version": __version__, "time": now, "store": "ok"})


_CREDENTIAL_HEADERS: Final = ("x-api-key", "authorization", "x-thoth-event-ingest-token")


def refused(limiter: FailureLimiter, client: str, attempt: str) -> int | None:
    """Count a refused credential (``attempt``: a keyed digest of it) against ``client``; the
    seconds to wait when that locks the client out, which is logged (the address, never a key)."""
    wait = limiter.failed(client, attempt)
    if wait is not None:
        error_log.warning(
            "client %s locked out for %d s: more than %d different keys refused in %d s",
            client,
            wait,
            limiter.threshold,
            limiter.window,
        )
    return wait


def rate_limited(wait: int) -> ApiError:
    """The API's 429 for a client locked out by its refused keys (openapi TooManyRequests)."""
    return ApiError(
        429, "rate_limited", "too many refused keys from this client; retry later", {"Retry-After": str(wait)}
    )


# -- input ------------------------------------------------------------------------------------------


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "payload_too_large", f"body exceeds {limit} bytes")


def _parse_json(body: bytes) -> Any:
    try:
        return pydantic_core.from_json(body, allow_inf_nan=False)
    except ValueError as exc:
        raise ApiError(400, "bad_request", f"body is not valid JSON: {exc}") from None


def _validate(validate: Callable[[Any], T], raw: Any, prefix: str = "") -> T:
    try:
        return validate(raw)
    except pydantic.ValidationError as exc:
        details = []
        for error in exc.errors(include_url=False, include_input=False, include_context=False):
            location = ""
            for part in error["loc"]:
                location += f"[{part}]" if isinstance(part, int) else f".{part}" if location else str(part)
            if prefix:
                location = f"{prefix}{location}" if location.startswith("[") else f"{prefix}.{location}"
            details.append({"field": location, "problem": error["msg"]})
        first = details[0]
        message = f"{first['field'] or 'body'}: {first['problem']}"
        raise ApiError(422, "validation_error", message, details=details) from None


def _extensions(body: dict[str, Any], known: frozenset[str], where: str) -> dict[str, Any]:
    try:
        return extensions_of(body, known)
    except ExtensionError as exc:
        raise ApiError(422, "validation_error", f"{where}: {exc}") from None


def _check_finite(value: Any, where: str) -> None:
    """JSON has no NaN or Infinity, but 1e999 parses as inf: refuse it rather than store it."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            raise ApiError(422, "validation_error", f"{where}: numbers must be finite")
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _matches_etag(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 If-None-Match: ``*`` or a list of tags, compared weakly (a ``W/`` prefix is ignored)."""
    if not if_none_match:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags


def _sends_no_credentials(request: Request) -> bool:
    headers = request.headers
    return "x-api-key" not in headers and "authorization" not in headers


def _hold_token(request: Request) -> str:
    token = str(request.path_params["hold_token"])
    if not _TOKEN.match(token):
        raise ApiError(404, "not_found", "no such hold")
    return token


def _choice(value: str | None, allowed: tuple[str, ...], name: str) -> str | None:
    if value is not None and value not in allowed:
        raise ApiError(400, "bad_request", f"{name} must be one of: {', '.join(allowed)}")
    return value


def _identifier(value: str | None, name: str) -> str | None:
    if value is not None and not 1 <= len(value) <= _IDENTIFIER_MAX:
        raise ApiError(400, "bad_request", f"{name} must be 1 to {_IDENTIFIER_MAX} characters")
    return value


def _moment(value: str | None, name: str) -> float | None:
    """An RFC 3339 time (with its offset, or Z) as epoch seconds."""
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None or len(value) > 64:
        raise ApiError(
            400, "bad_request", f"{name} must be an RFC 3339 time with an offset, e.g. 2026-11-25T00:00:00Z"
        )
    return moment.timestamp()


def _visible_tenant(principal: Principal, value: str | None) -> str | None:
    """``?tenant_id=``: one of the key's tenants (403 for another), or None: all of them."""
    tenant = _identifier(value, "tenant_id")
    if tenant is not None and not principal.may_act_for(tenant):
        raise ApiError(403, "forbidden", "this key may not act for that tenant")
    return tenant


def _window(value: str | None) -> str:
    if value is None:
        return sessions.DEFAULT_WINDOW
    if sessions.window_seconds(value) is None:
        raise ApiError(400, "bad_request", "window must be 1 to 999 minutes, hours or days: 90m, 24h, 7d")
    return value


def _sort(value: str | None) -> sessions.Sort:
    for sort in sessions.SORTS:
        if value == sort:
            return sort
    if value is None:
        return "recent"
    raise ApiError(400, "bad_request", f"sort must be one of: {', '.join(sessions.SORTS)}")


def _decision_id(value: str | None) -> str | None:
    if value is not None and not _DECISION_ID.fullmatch(value):
        raise ApiError(400, "bad_request", "decision_id must be 1 to 256 of A-Z a-z 0-9 . _ : ~ -")
    return value


def _limit(value: str | None) -> int:
    if value is None:
        return 100
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= 1000:
        raise ApiError(400, "bad_request", "limit must be an integer from 1 to 1000")
    return int(value)


def _cursor(value: str | None) -> int | None:
    """0 without a cursor; None for a well-formed cursor this server never gave."""
    if value is None:
        return 0
    if not cursors.PATTERN.match(value):
        raise ApiError(400, "bad_request", "cursor must be a next_cursor this server gave")
    return cursors.decode(value)


# -- errors and logging ---------------------------------------------------------------------------


async def _api_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers or None)


_HTTP_CODES: Final = {404: "not_found", 405: "method_not_allowed", 400: "bad_request"}


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = {404: "no such path", 405: "method not allowed"}.get(exc.status_code, str(exc.detail))
    return JSONResponse({"code": code, "message": message}, status_code=exc.status_code, headers=exc.headers)


async def _unavailable(_request: Request, _exc: Exception) -> Response:
    body = {"code": "unavailable", "message": "the server is shutting down"}
    return JSONResponse(body, status_code=503, headers={"Retry-After": "1"})


async def _store_unavailable(_request: Request, exc: Exception) -> Response:
    if not isinstance(exc, StoreUnavailable):
        error_log.warning("store unavailable: %s", type(exc).__name__)  # the class only
    body = {"code": "store_unavailable", "message": "the store did not answer in time; retry"}
    return JSONResponse(body, status_code=503, headers={"Retry-After": "1"})


async def _client_disconnected(request: Request, _exc: Exception) -> Response:
    """The client went away before its body arrived: its problem, one line, no traceback (there
    is nobody left to answer; the status is for the access log). No path: it may hold a hold token."""
    error_log.info(
        "client disconnected before sending the whole body (%s %s)", request.method, request.url.path
    )
    return Response(status_code=499)


async def _internal_error(request: Request, exc: Exception) -> Response:
    request_id = "req_" + secrets.token_hex(6)
    if isinstance(exc, SQLAlchemyError):  # a driver's message can quote the values it refused
        error_log.error("request %s failed: %s", request_id, type(exc).__name__)
    else:
        error_log.error("request %s failed", request_id, exc_info=exc)
    body = {"code": "internal_error", "message": "internal server error", "request_id": request_id}
    return JSONResponse(body, status_code=500)


class AccessLog:
    """One INFO line per request: method, route (never the hold token or a key), status, duration."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        started_response = False

        async def send_and_note(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                status = message["status"]
                started_response = True
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        except Exception as exc:
            if status != 500 or started_response:
                raise
            request_id = "req_" + secrets.token_hex(6)
            error_log.error("request %s failed", request_id, exc_info=exc)
            body = {"code": "internal_error", "message": "internal server error", "request_id": request_id}
            await JSONResponse(body, status_code=500)(scope, receive, send)
        finally:
            path = scope.get("path", "")
            if path.startswith("/v1/enforce/hold/"):
                path = "/v1/enforce/hold/{hold_token}" + ("/resolve" if path.endswith("/resolve") else "")
            elif path.startswith("/v1/sessions/"):
                path = "/v1/sessions/{session_id}"  # an id an agent chose
            elif path.endswith("/thoth/tool-inventory"):
                path = "/{tenant_id}/thoth/tool-inventory"  # the tenant came from the client
            access_log.info(
                "%s %s %d %.1fms %s",
                scope.get("method", ""),
                path,
                status,
                (time.perf_counter() - started) * 1000.0,
                scope.get("thoth.principal", "-"),
            )
