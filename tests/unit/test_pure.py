"""Pure logic: decision normalisation, hold states, redaction, the hash chain, failure classification."""

from __future__ import annotations

import socket
from typing import Any

import httpx
import pytest

from thoth import _chain, _failures
from thoth._decisions import normalize_enforce_payload, normalize_hold_payload
from thoth._redaction import REDACTED, redact, to_content
from thoth.errors import ReasonCode, ThothPolicyViolation, refusal_text
from thoth.models import DecisionType


@pytest.mark.parametrize(
    ("payload", "decision", "code"),
    [
        ({"decision": "ALLOW"}, DecisionType.ALLOW, None),
        ({"decision": "allow"}, DecisionType.ALLOW, None),
        ({"authorization_decision": "DENY"}, DecisionType.BLOCK, ReasonCode.POLICY_BLOCK),
        ({"authorizationDecision": "ESCALATE", "holdToken": "hold_abcdefgh"}, DecisionType.STEP_UP, None),
        ({"decision": "REVIEW"}, DecisionType.BLOCK, ReasonCode.MISSING_HOLD_TOKEN),
        ({"decision": "TRANSFORM", "modified_tool_args": {"a": 1}}, DecisionType.MODIFY, None),
        (
            {"decision": "MODIFY", "modified_tool_args": "a=1"},
            DecisionType.BLOCK,
            ReasonCode.MALFORMED_RESPONSE,
        ),
        ({"decision": "HOLD"}, DecisionType.DEFER, ReasonCode.DEFERRED),
        ({"decision": ""}, DecisionType.BLOCK, ReasonCode.UNKNOWN_DECISION),
        ({"decision": None}, DecisionType.BLOCK, ReasonCode.UNKNOWN_DECISION),
        ({"decision": ["ALLOW"]}, DecisionType.BLOCK, ReasonCode.UNKNOWN_DECISION),
        ({"decision": "ALLOW_ALL"}, DecisionType.BLOCK, ReasonCode.UNKNOWN_DECISION),
        ("ALLOW", DecisionType.BLOCK, ReasonCode.MALFORMED_RESPONSE),
        (None, DecisionType.BLOCK, ReasonCode.MALFORMED_RESPONSE),
    ],
)
def test_normalize_enforce_payload(payload: Any, decision: DecisionType, code: str | None) -> None:
    result = normalize_enforce_payload(payload)
    assert (result.decision, result.reason_code) == (decision, code)


def test_reason_code_from_the_server_wins_and_camel_case_is_read() -> None:
    assert normalize_enforce_payload({"decision": "BLOCK", "decisionReasonCode": "PII"}).reason_code == "PII"


def test_defer_carries_its_retry_hint() -> None:
    result = normalize_enforce_payload(
        {"decision": "DEFERRED", "defer_reason": "later", "defer_timeout_seconds": 12}
    )
    assert (result.reason, result.retry_after_seconds) == ("later", 12.0)


@pytest.mark.parametrize(
    ("payload", "approved"),
    [
        ({"resolved": False}, None),
        ({"resolved": True, "resolution": "ALLOW"}, True),
        ({"resolved": True, "resolution": "BLOCK"}, False),
        ({"resolved": True, "resolution": None}, False),
        ({"resolved": True, "resolution": "SURE"}, False),
        ({"resolved": "yes"}, False),
        ({"decision": "ALLOW"}, True),
        ({"decision": "STEP_UP"}, None),
        ({"decision": "DENY"}, False),
        ({}, False),
        ([], False),
    ],
)
def test_normalize_hold_payload(payload: Any, approved: bool | None) -> None:
    assert normalize_hold_payload(payload).approved is approved


@pytest.mark.parametrize(
    "secret",
    [
        "sk-proj-ABCDEFGHIJKLMNOPQRSTUVWXYZ012345",
        "thoth_live_3f9a8b7c6d5e4f3a",
        "AKIAIOSFODNN7EXAMPLE",
        "ghp_0123456789abcdefghijABCDEFGHIJ012345",
        "xoxb-123456789012-abcdefghij",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "Bearer abcdefghijklmnopqrstuvwxyz",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
    ],
)
def test_values_that_look_like_credentials_are_redacted(secret: str) -> None:
    assert redact({"note": f"use {secret} please"}) == {"note": f"use {REDACTED} please"}


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "PASSWD",
        "client_secret",
        "api_key",
        "apiKey",
        "X-Api-Key",
        "Authorization",
        "refresh_token",
        "private_key",
        "cookie",
        "ssn",
    ],
)
def test_secret_keys_are_redacted_at_any_depth(key: str) -> None:
    assert redact({"outer": [{key: "value"}]}) == {"outer": [{key: REDACTED}]}


def test_ordinary_values_are_kept() -> None:
    value = {
        "path": "/tmp/a.txt",
        "count": 3,
        "ok": True,
        "tags": ("a", "b"),
        "nothing": None,
        "token_count": None,
    }
    assert redact(value) == {
        "path": "/tmp/a.txt",
        "count": 3,
        "ok": True,
        "tags": ["a", "b"],
        "nothing": None,
        "token_count": None,
    }


def test_deep_and_wide_values_are_bounded() -> None:
    deep: dict[str, Any] = {}
    cursor = deep
    for _ in range(50):
        cursor["next"] = {}
        cursor = cursor["next"]
    assert "[...]" in to_content(deep, max_chars=10_000)
    wide = list(range(1000))
    assert redact(wide)[-1] == "[... 900 more items]"


def test_objects_and_bytes_become_text() -> None:
    class Secretive:
        def __repr__(self) -> str:
            return "Secretive(key=sk-ABCDEFGHIJKLMNOPQRSTUV)"

    assert redact(Secretive()) == f"Secretive(key={REDACTED})"
    assert redact(b"\x00\x01") == "<2 bytes>"


def test_hash_is_over_canonical_json_without_the_unhashed_fields() -> None:
    event = {"b": 1, "a": "é", "hash": "x", "signature": "y", "ingested_at": "z"}
    expected = __import__("hashlib").sha256('{"a":"é","b":1}'.encode()).hexdigest()
    assert _chain.event_hash(event) == expected


def _chain_of(n: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    previous = ""
    for i in range(n):
        event: dict[str, Any] = {
            "event_id": str(i),
            "chain_index": i,
            "previous_hash": previous,
            "content": str(i),
        }
        event["hash"] = previous = _chain.event_hash(event)
        events.append(event)
    return events


def test_verify_chain() -> None:
    events = _chain_of(5)
    assert _chain.verify_chain(events) == []
    assert _chain.verify_chain(list(reversed(events))) == []  # order of arrival does not matter
    assert _chain.verify_chain(events[:2] + events[3:])  # removed
    changed = [dict(e) for e in events]
    changed[1]["content"] = "other"
    assert _chain.verify_chain(changed)


def test_failure_classification() -> None:
    dns = httpx.ConnectError("failed")
    dns.__cause__ = socket.gaierror(-2, "Name or service not known")
    assert _failures.from_exception(dns).reason.startswith("cannot resolve")
    assert _failures.from_exception(dns).retryable is False
    assert _failures.from_exception(httpx.ConnectError("refused")).retryable is True
    assert _failures.from_exception(httpx.ReadTimeout("slow")).retryable is False
    assert _failures.from_exception(ValueError("bug")).reason_code == ReasonCode.ENFORCER_ERROR
    headers = httpx.Headers({"Retry-After": "3"})
    assert _failures.from_status(429, headers, b"").retry_after == 3.0
    assert _failures.from_status(503, httpx.Headers(), b'{"code":"unavailable","message":"x"}').retryable
    assert not _failures.from_status(500, httpx.Headers(), b"").retryable
    assert (
        "unavailable - x"
        in _failures.from_status(503, httpx.Headers(), b'{"code":"unavailable","message":"x"}').reason
    )


def test_retry_after_as_http_date() -> None:
    headers = httpx.Headers({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert _failures.retry_after_seconds(headers) == 0.0  # in the past


def test_violation_survives_pickling_and_reads_well() -> None:
    import pickle

    violation = ThothPolicyViolation(
        "send_email",
        "outside scope",
        "vio_1",
        decision="DEFER",
        reason_code="deferred",
        retry_after_seconds=5,
    )
    copy = pickle.loads(pickle.dumps(violation))
    assert (copy.tool_name, copy.reason, copy.violation_id, copy.decision, copy.retry_after_seconds) == (
        "send_email",
        "outside scope",
        "vio_1",
        "DEFER",
        5,
    )
    assert str(copy) == "Thoth blocked tool 'send_email': outside scope (violation_id=vio_1)"
    assert "retried in 5 seconds" in refusal_text(copy)


def test_seal_matches_event_hash_and_is_valid_json() -> None:
    import json

    event = {"b": [1, 2], "a": "é", "chain_index": 0, "previous_hash": ""}
    digest, data = _chain.seal(event)
    parsed = json.loads(data)
    assert digest == _chain.event_hash(parsed) == parsed["hash"]
    assert parsed["signature"] == "" and {k: parsed[k] for k in event} == event
    assert json.loads(_chain.seal({})[1]) == {"hash": _chain.event_hash({}), "signature": ""}
    with pytest.raises(ValueError, match="without hash"):
        _chain.seal({"hash": "x"})


def test_event_backoff_survives_a_long_outage() -> None:
    from thoth._sender import _BACKOFF

    delays = [_BACKOFF.delay(attempt) for attempt in (0, 5, 100, 5000)]
    assert all(delay is not None and 0 <= delay <= 30 for delay in delays)


def test_event_ids_are_time_ordered_uuid7() -> None:
    import time
    import uuid

    from thoth.emitter import uuid7

    first = uuid7()
    time.sleep(0.002)
    later = [uuid7() for _ in range(100)]
    parsed = uuid.UUID(first)
    assert parsed.version == 7 and parsed.variant == uuid.RFC_4122 and str(parsed) == first
    assert all(first < other for other in later)  # a later millisecond sorts after
    assert len(set(later)) == 100
    assert abs((parsed.int >> 80) - time.time() * 1000) < 5_000  # the leading 48 bits are Unix ms
