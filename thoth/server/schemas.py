"""Request bodies as the contract (openapi/thoth.yaml) defines them, checked with pydantic.

Strings stay strings (timestamps and ids are checked by pattern, not converted) so
that an event can be hashed exactly as it was sent.

The contract's enums are defined once, by the generated client (see ``thoth._wire``). Here
they are Literals, so that pydantic checks strings and its messages list the values in the
order below (the generated enums' order is alphabetical); the server lists them from these
Literals too, and tests/unit/test_server_vocabulary.py checks each against its enum.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal, Required

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    TypeAdapter,
)
from typing_extensions import TypedDict

Identifier = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=256)]
ToolName = Identifier
Text = Annotated[str, StringConstraints(strict=True, max_length=4096)]
Short = Annotated[str, StringConstraints(strict=True, max_length=256)]
Mode = Literal["observe", "step_up", "block", "progressive"]  # EnforcementMode
EventTypeName = Literal["TOOL_CALL_PRE", "TOOL_CALL_POST", "TOOL_CALL_BLOCK", "LLM_INVOCATION"]  # EventType
SourceTypeName = Literal["agent_tool_call", "agent_llm_invocation"]  # SourceType
Resolution = Literal["ALLOW", "BLOCK"]  # HoldResolution
HoldStateName = Literal["pending", "approved", "denied", "expired"]  # HoldState (a query parameter)
HOLD_TOKEN_PATTERN = r"^[A-Za-z0-9._~-]{8,256}$"  # noqa: S105 - a pattern, not a secret
_UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
_DATE_TIME = r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
_SHA256_OR_EMPTY = r"^([0-9a-f]{64})?$"


def _real_date_time(value: str) -> str:
    dt.datetime.fromisoformat(value.upper().replace("Z", "+00:00"))  # ValueError for 2026-13-45
    return value


DateTime = Annotated[str, StringConstraints(strict=True, pattern=_DATE_TIME), AfterValidator(_real_date_time)]
Sha256OrEmpty = Annotated[str, StringConstraints(strict=True, pattern=_SHA256_OR_EMPTY)]
INT64_MAX = 2**63 - 1


def _integral(value: Any) -> Any:
    """JSON Schema's integer includes 1.0."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Count = Annotated[StrictInt, BeforeValidator(_integral), Field(ge=0, le=INT64_MAX)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class EnforceRequest(_Strict):
    agent_id: Identifier
    tenant_id: Identifier
    user_id: Identifier = "system"
    tool_name: ToolName
    session_id: Identifier
    session_tool_calls: Annotated[list[ToolName], Field(max_length=10_000)] = []
    approved_scope: Annotated[list[ToolName], Field(max_length=1_000)] = []
    enforcement_mode: Mode = "progressive"
    environment: Annotated[str, StringConstraints(strict=True, min_length=1, max_length=64)] = "prod"
    enforcement_trace_id: Short = ""
    tool_args: dict[str, Any] = {}
    session_intent: Text = ""
    purpose: Text = ""
    data_classification: Short = ""
    task_context: Text = ""
    action_attestation_id: Short = ""


class ResolveHoldRequest(_Strict):
    resolution: Resolution
    approver: Identifier = ""  # optional, but never null: defaults are not validated
    reason: Text = ""


class Event(TypedDict, total=False):
    """An event as sent. A TypedDict, not a model: events are kept as the dicts that were
    sent (they are hashed as such), and validating into dicts is ~40% cheaper."""

    __pydantic_config__ = ConfigDict(extra="forbid", strict=True)  # type: ignore[misc]

    event_id: Required[Annotated[str, StringConstraints(strict=True, pattern=_UUID)]]
    tenant_id: Required[Identifier]
    agent_id: Required[Identifier]
    session_id: Required[Identifier]
    user_id: Short
    source_type: SourceTypeName
    event_type: Required[EventTypeName]
    content: Annotated[str, StringConstraints(strict=True, max_length=65_536)]
    metadata: dict[str, Any]
    approved_scope: Annotated[list[Short], Field(max_length=1_000)]
    enforcement_mode: Mode
    session_tool_calls: Annotated[list[Short], Field(max_length=10_000)]
    tool_name: Short
    endpoint_id: Short | None  # aten-thoth 0.1.x sends null
    hostname: Short | None
    occurred_at: Required[DateTime]
    ingested_at: DateTime
    ttl: Count
    violation_id: Short | None
    chain_index: Count
    previous_hash: Sha256OrEmpty
    hash: Sha256OrEmpty
    signature: Annotated[str, StringConstraints(strict=True, max_length=1024)]


ENFORCE_REQUEST = TypeAdapter(EnforceRequest)
RESOLVE_REQUEST = TypeAdapter(ResolveHoldRequest)
EVENTS = TypeAdapter(list[Event])
