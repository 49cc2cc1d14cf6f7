"""The server redacts secrets in the events it stores (issue 14, item 11), on a real ``thoth
serve`` on SQLite and PostgreSQL: a platform team on the generated client skips the SDK's
redaction, so the server applies it too, counts it, keeps the chain, and can be told not to."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import ThothServer
from tests.server.test_api import chained_events
from thoth._chain import event_hash
from thoth.server.config import build_config

pytestmark = pytest.mark.e2e

PASSWORD = "hunter2-correct-horse"
OPENAI_KEY = "sk-proj-4f9a8b7c6d5e4f3a2b1c0d9e"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkFkYSJ9"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
SECRETS = (PASSWORD, OPENAI_KEY, JWT)


def with_secrets(server: ThothServer, session: str) -> list[dict[str, Any]]:
    """Three chained events, as a client that redacts nothing would send them: the secrets in
    JSON content, in free-text content, in metadata and in an extension field."""
    events = chained_events(server, session, 4)
    events[0]["content"] = json.dumps({"user": "ada", "password": PASSWORD, "note": f"key {OPENAI_KEY}"})
    events[1]["content"] = f"login with password={PASSWORD} then Authorization: Bearer {JWT}"
    events[2]["metadata"] = {"n": 2, "headers": {"authorization": f"Bearer {JWT}"}, "max_tokens": 512}
    events[2]["request"] = {"api_key": OPENAI_KEY, "model": "gpt-x"}  # an extension field
    previous = ""
    for event in events:  # re-chained as the sender would, over what it sends
        event["previous_hash"] = previous
        event["hash"] = previous = event_hash(event)
    return events


def stored(server: ThothServer, session: str) -> tuple[str, list[dict[str, Any]]]:
    with server.client(server.admin_key) as client:
        response = client.get("/v1/events", params={"session_id": session})
    response.raise_for_status()
    return response.text, response.json()["items"]


def test_passwords_api_keys_and_jwts_never_reach_the_store_and_the_chain_holds(
    make_thoth_server: Callable[..., ThothServer],
) -> None:
    server = make_thoth_server()
    session = f"redact-{uuid.uuid4()}"
    events = with_secrets(server, session)
    with server.client() as client:
        result = client.post("/v1/events/batch", json=events).json()
    assert (result["accepted"], result["redacted"], result["chain_breaks"]) == (4, 3, 0)
    text, items = stored(server, session)
    assert not [secret for secret in SECRETS if secret in text]
    assert [item["redacted"] for item in items] == [2, 2, 2, 0]
    assert [item["chain_status"] for item in items] == ["verified"] * 4  # checked as sent
    assert [item["hash"] for item in items] == [event["hash"] for event in events]
    first, second, third, fourth = items
    assert json.loads(first["content"]) == {"user": "ada", "password": "[REDACTED]", "note": "key [REDACTED]"}
    assert second["content"] == "login with password=[REDACTED] then Authorization: [REDACTED]"
    assert third["metadata"] == {"n": 2, "headers": {"authorization": "[REDACTED]"}, "max_tokens": 512}
    assert third["request"] == {"api_key": "[REDACTED]", "model": "gpt-x"}
    assert fourth["content"] == events[3]["content"]  # nothing secret: stored byte for byte
    with server.client() as client:  # a resend is the same event, not a conflict
        again = client.post("/v1/events/batch", json=events).json()
    assert (again["accepted"], again["duplicates"], again["conflicts"], again["redacted"]) == (0, 4, 0, 0)
    assert "3 of a batch had secrets redacted" in server.log()
    assert not [secret for secret in SECRETS if secret in server.log()]


def test_the_next_batch_links_to_a_redacted_event(make_thoth_server: Callable[..., ThothServer]) -> None:
    server = make_thoth_server()
    session = f"redact-{uuid.uuid4()}"
    events = with_secrets(server, session)
    with server.client() as client:
        client.post("/v1/events/batch", json=events[:1]).raise_for_status()
        client.post("/v1/events/batch", json=events[1:]).raise_for_status()
    _, items = stored(server, session)
    assert [item["chain_status"] for item in items] == ["verified"] * 4


def test_no_redact_events_stores_events_as_sent_and_says_so_at_start(
    make_thoth_server: Callable[..., ThothServer],
) -> None:
    server = make_thoth_server(extra_args=["--no-redact-events"])
    session = f"verbatim-{uuid.uuid4()}"
    events = with_secrets(server, session)
    with server.client() as client:
        result = client.post("/v1/events/batch", json=events).json()
    assert result["redacted"] == 0
    text, items = stored(server, session)
    assert all(secret in text for secret in SECRETS)
    assert [item["redacted"] for item in items] == [0] * 4
    served = ("received_at", "chain_status", "redacted")  # what the server adds
    as_sent = [{k: v for k, v in item.items() if k not in served} for item in items]
    assert [event_hash(item) for item in as_sent] == [event["hash"] for event in events]  # re-hashes
    assert "--no-redact-events: events are stored as sent" in server.log()


def test_a_bad_redaction_setting_stops_the_start_with_what_to_fix() -> None:
    with pytest.raises(ValueError, match="THOTH_SERVER_REDACT_EVENTS must be true or false"):
        build_config(insecure_dev=True, environ={"THOTH_SERVER_REDACT_EVENTS": "maybe"})
    assert (
        build_config(insecure_dev=True, environ={"THOTH_SERVER_REDACT_EVENTS": "off"}).redact_events is False
    )
    assert build_config(insecure_dev=True, environ={}).redact_events is True
