"""The generated client (what platform teams use directly) round-trips every operation.

Each request it sends and each canned response is validated against openapi/thoth.yaml.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename
from thoth_api_client import AuthenticatedClient
from thoth_api_client.api.enforcement import enforce
from thoth_api_client.api.events import ingest_events, list_events
from thoth_api_client.api.health import health
from thoth_api_client.api.holds import get_hold, list_holds, resolve_hold
from thoth_api_client.models import (
    Decision,
    EnforceRequest,
    EnforceResponse,
    Error,
    Event,
    EventPage,
    EventType,
    Health,
    Hold,
    HoldPage,
    HoldPollResponse,
    HoldResolution,
    HoldState,
    IngestResult,
    ResolveHoldRequest,
)

from tests._contract import BASE_URL, SPEC_PATH, validate_request, validate_response

TOKEN = "hold_3q2Yk9vX8wLmN4pR7tUz1A"
SESSION = "7f0c2a52-8f0e-4c4e-9a53-3f1a1f0b6f0d"
HOLD: dict[str, Any] = {
    "hold_token": TOKEN,
    "status": "pending",
    "tenant_id": "acme-corp",
    "agent_id": "billing-agent",
    "session_id": SESSION,
    "tool_name": "send_email",
    "args_sha256": "a" * 64,
    "created_at": "2026-11-25T10:00:00Z",
    "expires_at": "2026-11-25T10:15:00Z",
}
STORED: dict[str, Any] = {
    "event_id": "0b6f7c1e-3f0a-4c55-9d0e-2b7e6c1f9a10",
    "tenant_id": "acme-corp",
    "agent_id": "billing-agent",
    "session_id": SESSION,
    "event_type": "TOOL_CALL_PRE",
    "occurred_at": "2026-11-25T10:00:00Z",
    "received_at": "2026-11-25T10:00:01Z",
    "chain_status": "verified",
}
ROUTES: list[tuple[str, str, int, Any]] = [
    ("POST", "/v1/enforce", 200, {"decision": "STEP_UP", "hold_token": TOKEN, "reason": "needs approval"}),
    ("GET", f"/v1/enforce/hold/{TOKEN}", 200, {"hold_token": TOKEN, "resolved": False, "resolution": None}),
    ("POST", f"/v1/enforce/hold/{TOKEN}/resolve", 200, {**HOLD, "status": "approved", "approver": "carol"}),
    ("GET", "/v1/holds", 200, {"items": [HOLD], "next_cursor": None}),
    ("POST", "/v1/events/batch", 200, {"accepted": 1, "duplicates": 0, "chain_breaks": 0}),
    ("GET", "/v1/events", 200, {"items": [STORED], "next_cursor": "MTI"}),
    ("GET", "/healthz", 200, {"status": "ok", "version": "0.2.0"}),
]


def test_the_spec_is_valid_openapi() -> None:
    document, _ = read_from_filename(str(SPEC_PATH))
    validate(document)


@pytest.fixture
def server() -> Iterator[list[str]]:
    problems: list[str] = []

    def route(status: int, body: Any) -> Any:
        def handle(request: httpx.Request) -> httpx.Response:
            response = httpx.Response(status, json=body, request=request)
            for check in (lambda: validate_request(request), lambda: validate_response(request, response)):
                try:
                    check()
                except Exception as exc:  # noqa: BLE001 - recorded, not raised into the client under test
                    problems.append(f"{request.method} {request.url.path}: {exc}")
            return response

        return handle

    with respx.mock(assert_all_mocked=True) as router:
        for method, path, status, body in ROUTES:
            router.route(method=method, url=f"{BASE_URL}{path}").mock(side_effect=route(status, body))
        yield problems
    assert problems == []


def _client() -> AuthenticatedClient:
    return AuthenticatedClient(
        base_url=BASE_URL,
        token="thoth_test_platform_key",
        headers={"x-api-key": "thoth_test_platform_key"},
        timeout=httpx.Timeout(5.0),
        raise_on_unexpected_status=True,
    )


def _event() -> Event:
    return Event.from_dict(
        {
            "event_id": "0b6f7c1e-3f0a-4c55-9d0e-2b7e6c1f9a10",
            "tenant_id": "acme-corp",
            "agent_id": "billing-agent",
            "session_id": SESSION,
            "event_type": "TOOL_CALL_PRE",
            "occurred_at": "2026-11-25T10:00:00Z",
            "chain_index": 0,
            "previous_hash": "",
            "hash": "b" * 64,
        }
    )


def test_every_operation_sync(server: list[str]) -> None:
    with _client() as client:
        decision = enforce.sync(
            client=client,
            body=EnforceRequest(
                agent_id="billing-agent", tenant_id="acme-corp", tool_name="send_email", session_id=SESSION
            ),
        )
        assert isinstance(decision, EnforceResponse) and decision.decision == Decision.STEP_UP
        status = get_hold.sync(TOKEN, client=client)
        assert isinstance(status, HoldPollResponse) and status.resolved is False
        resolved = resolve_hold.sync(
            TOKEN,
            client=client,
            body=ResolveHoldRequest(resolution=HoldResolution.ALLOW, approver="carol", reason="expected"),
        )
        assert isinstance(resolved, Hold) and resolved.status == HoldState.APPROVED
        page = list_holds.sync(client=client, status=HoldState.PENDING, session_id=SESSION)
        assert isinstance(page, HoldPage) and page.items[0].hold_token == TOKEN
        ingested = ingest_events.sync(client=client, body=[_event()])
        assert isinstance(ingested, IngestResult) and ingested.accepted == 1
        events = list_events.sync(
            client=client, session_id=SESSION, event_type=EventType.TOOL_CALL_PRE, limit=10
        )
        assert isinstance(events, EventPage) and events.next_cursor == "MTI"
        assert isinstance(health.sync(client=client), Health)


async def test_every_operation_async(server: list[str]) -> None:
    async with _client() as client:
        decision = await enforce.asyncio(
            client=client,
            body=EnforceRequest(
                agent_id="billing-agent", tenant_id="acme-corp", tool_name="send_email", session_id=SESSION
            ),
        )
        assert isinstance(decision, EnforceResponse) and decision.hold_token == TOKEN
        assert isinstance(await get_hold.asyncio(TOKEN, client=client), HoldPollResponse)
        assert isinstance(
            await resolve_hold.asyncio(
                TOKEN, client=client, body=ResolveHoldRequest(resolution=HoldResolution.BLOCK)
            ),
            Hold,
        )
        assert isinstance(await list_holds.asyncio(client=client), HoldPage)
        assert isinstance(await ingest_events.asyncio(client=client, body=[_event()]), IngestResult)
        assert isinstance(await list_events.asyncio(client=client), EventPage)
        assert isinstance(await health.asyncio(client=client), Health)


def test_an_unknown_decision_still_parses() -> None:
    parsed = EnforceResponse.from_dict({"decision": "QUARANTINE", "riskScore": 0.9})
    assert parsed.decision == "QUARANTINE" and parsed.additional_properties == {"riskScore": 0.9}


def test_errors_parse_into_the_error_schema() -> None:
    with respx.mock() as router:
        router.post(f"{BASE_URL}/v1/enforce").respond(
            401, json={"code": "unauthorized", "message": "bad key"}
        )
        with _client() as client:
            result = enforce.sync_detailed(
                client=client, body=EnforceRequest(agent_id="a", tenant_id="t", tool_name="x", session_id="s")
            )
        sent = json.loads(router.calls[0].request.content)
    assert (
        result.status_code == 401
        and isinstance(result.parsed, Error)
        and result.parsed.code == "unauthorized"
    )
    # Scalar defaults are sent; list and enum defaults are left to the server (the spec declares them).
    assert sent == {
        "agent_id": "a",
        "tenant_id": "t",
        "tool_name": "x",
        "session_id": "s",
        "user_id": "system",
        "environment": "prod",
    }


def test_free_form_maps_are_plain_dicts_both_ways() -> None:
    """tool_args, metadata, task_context and identity_binding take a dict as the caller has it
    (no wrapper class to build), and a response's free-form maps read back as dicts."""
    args = {"to": "bob@acme.com", "nested": {"cc": ["a", "b"]}, "n": 3}
    with respx.mock() as router:
        router.post(f"{BASE_URL}/v1/enforce").respond(
            200, json={"decision": "MODIFY", "modified_tool_args": {"to": "[redacted]"}}
        )
        with _client() as client:
            answer = enforce.sync(
                client=client,
                body=EnforceRequest(
                    agent_id="a",
                    tenant_id="t",
                    tool_name="send_email",
                    session_id="s",
                    tool_args=args,
                    task_context={"task_id": "t-1"},
                    identity_binding={"agent_id": "a"},
                ),
            )
        request = router.calls[0].request
    validate_request(request)
    sent = json.loads(request.content)
    assert (sent["tool_args"], sent["task_context"], sent["identity_binding"]) == (
        args,
        {"task_id": "t-1"},
        {"agent_id": "a"},
    )
    assert isinstance(answer, EnforceResponse) and answer.modified_tool_args == {"to": "[redacted]"}
    event = Event.from_dict({**_event().to_dict(), "metadata": {"model": "gpt", "tokens": 12}})
    assert event.metadata == {"model": "gpt", "tokens": 12} and event.to_dict()["metadata"] == event.metadata


def test_stored_and_sent_events_type_their_times_alike() -> None:
    stored = EventPage.from_dict({"items": [STORED]}).items[0]
    sent = _event()
    assert isinstance(stored.occurred_at, datetime.datetime) and isinstance(
        sent.occurred_at, datetime.datetime
    )
    assert stored.received_at - stored.occurred_at == datetime.timedelta(seconds=1)
