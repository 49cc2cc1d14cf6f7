"""The server speaks the contract's vocabulary: its enums are the generated client's, and the
few copies it must keep (pydantic Literals, for their messages; the CLI's choices, to stay light)
hold exactly the same values, so they cannot drift from openapi/thoth.yaml."""

from __future__ import annotations

import enum
import typing
from typing import Any

import pytest

from thoth import cli
from thoth._wire import DecisionType, EnforcementMode, EventType, HoldResolution, HoldState, SourceType
from thoth.policy import CONTEXT_KEYS, Call
from thoth.policy import rules as policy
from thoth.server import schemas


def values(enum_type: type[enum.StrEnum]) -> set[str]:
    return {member.value for member in enum_type}


@pytest.mark.parametrize(
    ("literal", "enum_type"),
    [
        (schemas.Mode, EnforcementMode),
        (schemas.EventTypeName, EventType),
        (schemas.SourceTypeName, SourceType),
        (schemas.Resolution, HoldResolution),
        (schemas.HoldStateName, HoldState),
    ],
)
def test_each_literal_of_the_schemas_holds_exactly_its_enums_values(
    literal: Any, enum_type: type[enum.StrEnum]
) -> None:
    listed = typing.get_args(literal)
    assert len(listed) == len(set(listed)), listed
    assert set(listed) == values(enum_type)


def test_the_request_models_validate_with_those_literals() -> None:
    assert schemas.EnforceRequest.model_fields["enforcement_mode"].annotation == schemas.Mode
    assert schemas.ResolveHoldRequest.model_fields["resolution"].annotation == schemas.Resolution
    event = typing.get_type_hints(schemas.Event)
    assert event["enforcement_mode"] == schemas.Mode
    assert event["event_type"] == schemas.EventTypeName
    assert event["source_type"] == schemas.SourceTypeName


def test_every_enum_value_passes_validation() -> None:
    base = {"agent_id": "a", "tenant_id": "t", "session_id": "s", "tool_name": "x"}
    for mode in EnforcementMode:
        assert schemas.ENFORCE_REQUEST.validate_python({**base, "enforcement_mode": mode.value})
    for resolution in HoldResolution:
        assert schemas.RESOLVE_REQUEST.validate_python({"resolution": resolution.value})
    event = {
        "event_id": "0190c3a2-7b1e-7cde-8f00-000000000001",
        "tenant_id": "t",
        "agent_id": "a",
        "session_id": "s",
        "occurred_at": "2026-11-25T10:00:00Z",
    }
    batch = [
        {**event, "event_type": event_type.value, "source_type": source.value, "enforcement_mode": mode.value}
        for event_type in EventType
        for source in SourceType
        for mode in EnforcementMode
    ]
    assert len(schemas.EVENTS.validate_python(batch)) == len(batch)


def test_the_cli_offers_every_hold_state_in_the_servers_order() -> None:
    assert typing.get_args(schemas.HoldStateName) == cli.HOLD_STATES


def test_decisions_are_the_contracts_enum_and_each_has_a_distinct_severity() -> None:
    assert policy.Decision is DecisionType
    assert set(policy.SEVERITY) == set(DecisionType)
    assert len(set(policy.SEVERITY.values())) == len(DecisionType)
    assert sorted(policy.DECISIONS_LISTED) == sorted(DecisionType)


def test_a_call_carries_the_mode_as_the_enum() -> None:
    call = Call("t", {}, "a", "u", "acme", "prod", "block", frozenset())
    assert call.mode is EnforcementMode.BLOCK
    with pytest.raises(ValueError, match="nope"):
        Call("t", {}, "a", "u", "acme", "prod", "nope", frozenset())


def test_a_call_from_a_request_keeps_every_field_the_policy_reads() -> None:
    request = schemas.ENFORCE_REQUEST.validate_python(
        {
            "agent_id": "billing-agent",
            "tenant_id": "acme",
            "user_id": "alice",
            "session_id": "s-1",
            "tool_name": "send_email",
            "tool_args": {"to": "bob@acme.com"},
            "approved_scope": ["send_email", "read_file"],
            "enforcement_mode": "step_up",
            "environment": "staging",
            **{key: f"the {key}" for key in CONTEXT_KEYS},
        }
    )
    assert Call.from_request(request) == Call(
        tool="send_email",
        args={"to": "bob@acme.com"},
        agent="billing-agent",
        user="alice",
        tenant="acme",
        environment="staging",
        mode=EnforcementMode.STEP_UP,
        approved_scope=frozenset({"send_email", "read_file"}),
        context={key: f"the {key}" for key in CONTEXT_KEYS},
    )
