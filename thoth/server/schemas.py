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
import json
from collections.abc import Mapping
from typing import Annotated, Any, Final, Literal, Required

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    TypeAdapter,
    model_validator,
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
DECISION_ID_PATTERN: Final = r"^[A-Za-z0-9._:~-]{1,256}$"  # the spec's DecisionId
DecisionIdText = Annotated[str, StringConstraints(strict=True, max_length=256, pattern=DECISION_ID_PATTERN)]
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_EVENT_ID = rf"^(.{{1,256}}:)?{_UUID}$"  # a UUID, bare or after its tenant (aten-thoth 0.1.15, atensec)
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


#: How much a request or an event may carry in fields the contract does not define (its
#: "extension fields", kept as sent): the spec's maxProperties allows this many beyond its own.
MAX_EXTENSION_FIELDS: Final = 64
MAX_EXTENSION_BYTES: Final = 16 * 1024


class EnforceRequest(BaseModel):
    # Released clients send fields we do not define (identity_binding, auth_context, metadata,
    # model_name, ...): accepted and kept in ``model_extra``, bounded by the app.
    model_config = ConfigDict(extra="allow", strict=True, frozen=True)

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
    task_context: Text | Annotated[dict[str, Any], Field(max_length=64)] = ""  # atensec 0.5: an object
    action_attestation_id: Short = ""
    identity_binding: Annotated[dict[str, Any], Field(max_length=64)] = {}


class ResolveHoldRequest(_Strict):
    resolution: Resolution
    approver: Identifier = ""  # optional, but never null: defaults are not validated
    reason: Text = ""


class Event(TypedDict, total=False):
    """An event as sent. A TypedDict, not a model: events are kept as the dicts that were
    sent (they are hashed as such), and validating into dicts is ~40% cheaper."""

    __pydantic_config__ = ConfigDict(extra="allow", strict=True)  # type: ignore[misc]

    event_id: Required[Annotated[str, StringConstraints(strict=True, max_length=300, pattern=_EVENT_ID)]]
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
    decision_id: DecisionIdText | None
    chain_index: Count
    previous_hash: Sha256OrEmpty
    hash: Sha256OrEmpty
    signature: Annotated[str, StringConstraints(strict=True, max_length=1024)]


def _at_most(limit: int) -> Any:
    """A lenient body ignores unknown fields, but not without bound (the spec's maxProperties)."""

    def check(data: Any) -> Any:
        if isinstance(data, Mapping) and len(data) > limit:
            raise ValueError(f"at most {limit} fields, not {len(data)}")
        return data

    return model_validator(mode="before")(check)


EXPLAIN_MAX_PROPERTIES: Final = 128  # ExplainRequest.maxProperties
INVENTORY_MAX_PROPERTIES: Final = 16  # ToolInventory.maxProperties


class ExplainRequest(BaseModel):
    """An enforce request plus the decision to explain (atensec-thoth 0.5 sends both); lenient:
    the explanation is advisory, so unknown fields are ignored rather than kept."""

    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)
    _bounded = _at_most(EXPLAIN_MAX_PROPERTIES)

    agent_id: Short = ""
    tenant_id: Short = ""
    user_id: Short | None = None
    tool_name: ToolName
    session_id: Short = ""
    approved_scope: Annotated[list[Short], Field(max_length=1_000)] = []
    enforcement_mode: Annotated[str, StringConstraints(strict=True, max_length=32)] | None = None
    decision: Annotated[str, StringConstraints(strict=True, max_length=32)] | None = None
    decision_reason_code: Short | None = None
    reason: Text | None = None
    violation_id: Short | None = None
    matched_rule_ids: Annotated[list[Short], Field(max_length=100)] | None = None


MAX_INPUT_SCHEMA_BYTES: Final = 64 * 1024


def _bounded_schema(value: dict[str, Any]) -> dict[str, Any]:
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    if size > MAX_INPUT_SCHEMA_BYTES:
        raise ValueError(f"an input schema takes at most {MAX_INPUT_SCHEMA_BYTES} bytes of JSON, not {size}")
    return value


class InventoryTool(_Strict):
    name: ToolName
    description: Text = ""
    input_schema: Annotated[dict[str, Any], AfterValidator(_bounded_schema)] = {}


class ToolInventory(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)
    _bounded = _at_most(INVENTORY_MAX_PROPERTIES)

    agent_id: Identifier
    source: Annotated[str, StringConstraints(strict=True, max_length=64)] = ""
    tools: Annotated[list[InventoryTool], Field(min_length=1, max_length=100)]


EVENT_FIELDS: Final = frozenset(Event.__annotations__)
ENFORCE_FIELDS: Final = frozenset(EnforceRequest.model_fields)

ENFORCE_REQUEST = TypeAdapter(EnforceRequest)
EXPLAIN_REQUEST = TypeAdapter(ExplainRequest)
TOOL_INVENTORY = TypeAdapter(ToolInventory)
RESOLVE_REQUEST = TypeAdapter(ResolveHoldRequest)
EVENTS = TypeAdapter(list[Event])


class ExtensionError(ValueError):
    """Extension fields beyond the bounds the spec documents."""


def extensions_of(body: Mapping[str, Any], known: frozenset[str]) -> dict[str, Any]:
    """The fields of ``body`` the contract does not define, checked against the documented bounds."""
    extra = {key: value for key, value in body.items() if key not in known}
    if not extra:
        return extra
    if len(extra) > MAX_EXTENSION_FIELDS:
        raise ExtensionError(
            f"at most {MAX_EXTENSION_FIELDS} fields the contract does not define, not {len(extra)}"
        )
    size = len(json.dumps(extra, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    if size > MAX_EXTENSION_BYTES:
        raise ExtensionError(
            f"fields the contract does not define take {size} bytes of JSON, at most {MAX_EXTENSION_BYTES}"
        )
    return extra


class EventIdError(ValueError):
    """An event id whose tenant prefix is not the event's tenant."""


def canonical_event_id(event_id: str, tenant_id: str) -> str:
    """The one stored form of an event id: the bare UUID in lowercase.

    ``acme:1B5B49FA-...`` (aten-thoth 0.1.15, atensec-thoth) and ``1b5b49fa-...`` are the same
    event, so a resend in either form is a duplicate. The prefix must be the event's own tenant.
    """
    prefix, _, bare = event_id.rpartition(":")  # a UUID has no colon; a tenant id may
    if _ and prefix != tenant_id:
        raise EventIdError("an event_id's tenant prefix must be the event's tenant_id")
    return bare.lower()
