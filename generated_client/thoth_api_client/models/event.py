from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.enforcement_mode import EnforcementMode
from ..models.event_type import EventType
from ..models.source_type import SourceType
from ..types import UNSET, Unset

T = TypeVar("T", bound="Event")


@_attrs_define
class Event:
    """
    Example:
        {'event_id': '0b6f7c1e-3f0a-4c55-9d0e-2b7e6c1f9a10', 'tenant_id': 'acme-corp', 'agent_id': 'billing-agent',
            'session_id': '7f0c2a52-8f0e-4c4e-9a53-3f1a1f0b6f0d', 'event_type': 'TOOL_CALL_PRE', 'occurred_at':
            '2026-11-25T10:00:00.123456Z'}

    Attributes:
        event_id (str): A UUID, bare or prefixed with the event's tenant (`acme:1b5b49fa-...`, as aten-thoth 0.1.15 and
            atensec-thoth send). Stored in one canonical form (lowercase, no prefix), so the same id resent in either form
            is a duplicate. A prefix that is not the event's `tenant_id` is refused with 403.
        tenant_id (str):
        agent_id (str):
        session_id (str):
        event_type (EventType):  Example: TOOL_CALL_PRE.
        occurred_at (datetime.datetime):
        user_id (str | Unset):
        source_type (SourceType | Unset):  Example: agent_tool_call.
        content (str | Unset): Redacted, truncated JSON of the call's arguments or result.
        metadata (Any | Unset):
        approved_scope (list[str] | Unset):
        enforcement_mode (EnforcementMode | Unset):  Example: progressive.
        session_tool_calls (list[str] | Unset):
        tool_name (str | Unset):
        endpoint_id (None | str | Unset):
        hostname (None | str | Unset):
        ingested_at (datetime.datetime | Unset):
        ttl (int | Unset): Epoch seconds after which the event may be deleted.
        violation_id (None | str | Unset):
        decision_id (None | str | Unset): The decision of the governed call this event belongs to
            (`EnforceResponse.decision_id`).
        chain_index (int | Unset):
        previous_hash (str | Unset): A lowercase hex SHA-256, or empty where the sender does not chain. Example:
            5d41402abc4b2a76b9719d911017c592ae6e5d41402abc4b2a76b9719d9110aa.
        hash_ (str | Unset): A lowercase hex SHA-256, or empty where the sender does not chain. Example:
            5d41402abc4b2a76b9719d911017c592ae6e5d41402abc4b2a76b9719d9110aa.
        signature (str | Unset):
    """

    event_id: str
    tenant_id: str
    agent_id: str
    session_id: str
    event_type: EventType
    occurred_at: datetime.datetime
    user_id: str | Unset = UNSET
    source_type: SourceType | Unset = UNSET
    content: str | Unset = UNSET
    metadata: Any | Unset = UNSET
    approved_scope: list[str] | Unset = UNSET
    enforcement_mode: EnforcementMode | Unset = UNSET
    session_tool_calls: list[str] | Unset = UNSET
    tool_name: str | Unset = UNSET
    endpoint_id: None | str | Unset = UNSET
    hostname: None | str | Unset = UNSET
    ingested_at: datetime.datetime | Unset = UNSET
    ttl: int | Unset = UNSET
    violation_id: None | str | Unset = UNSET
    decision_id: None | str | Unset = UNSET
    chain_index: int | Unset = UNSET
    previous_hash: str | Unset = UNSET
    hash_: str | Unset = UNSET
    signature: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        event_id = self.event_id

        tenant_id = self.tenant_id

        agent_id = self.agent_id

        session_id = self.session_id

        event_type = self.event_type.value

        occurred_at = self.occurred_at.isoformat()

        user_id = self.user_id

        source_type: str | Unset = UNSET
        if not isinstance(self.source_type, Unset):
            source_type = self.source_type.value

        content = self.content

        metadata = self.metadata

        approved_scope: list[str] | Unset = UNSET
        if not isinstance(self.approved_scope, Unset):
            approved_scope = self.approved_scope

        enforcement_mode: str | Unset = UNSET
        if not isinstance(self.enforcement_mode, Unset):
            enforcement_mode = self.enforcement_mode.value

        session_tool_calls: list[str] | Unset = UNSET
        if not isinstance(self.session_tool_calls, Unset):
            session_tool_calls = self.session_tool_calls

        tool_name = self.tool_name

        endpoint_id: None | str | Unset
        if isinstance(self.endpoint_id, Unset):
            endpoint_id = UNSET
        else:
            endpoint_id = self.endpoint_id

        hostname: None | str | Unset
        if isinstance(self.hostname, Unset):
            hostname = UNSET
        else:
            hostname = self.hostname

        ingested_at: str | Unset = UNSET
        if not isinstance(self.ingested_at, Unset):
            ingested_at = self.ingested_at.isoformat()

        ttl = self.ttl

        violation_id: None | str | Unset
        if isinstance(self.violation_id, Unset):
            violation_id = UNSET
        else:
            violation_id = self.violation_id

        decision_id: None | str | Unset
        if isinstance(self.decision_id, Unset):
            decision_id = UNSET
        else:
            decision_id = self.decision_id

        chain_index = self.chain_index

        previous_hash = self.previous_hash

        hash_ = self.hash_

        signature = self.signature

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "event_id": event_id,
                "tenant_id": tenant_id,
                "agent_id": agent_id,
                "session_id": session_id,
                "event_type": event_type,
                "occurred_at": occurred_at,
            }
        )
        if user_id is not UNSET:
            field_dict["user_id"] = user_id
        if source_type is not UNSET:
            field_dict["source_type"] = source_type
        if content is not UNSET:
            field_dict["content"] = content
        if metadata is not UNSET:
            field_dict["metadata"] = metadata
        if approved_scope is not UNSET:
            field_dict["approved_scope"] = approved_scope
        if enforcement_mode is not UNSET:
            field_dict["enforcement_mode"] = enforcement_mode
        if session_tool_calls is not UNSET:
            field_dict["session_tool_calls"] = session_tool_calls
        if tool_name is not UNSET:
            field_dict["tool_name"] = tool_name
        if endpoint_id is not UNSET:
            field_dict["endpoint_id"] = endpoint_id
        if hostname is not UNSET:
            field_dict["hostname"] = hostname
        if ingested_at is not UNSET:
            field_dict["ingested_at"] = ingested_at
        if ttl is not UNSET:
            field_dict["ttl"] = ttl
        if violation_id is not UNSET:
            field_dict["violation_id"] = violation_id
        if decision_id is not UNSET:
            field_dict["decision_id"] = decision_id
        if chain_index is not UNSET:
            field_dict["chain_index"] = chain_index
        if previous_hash is not UNSET:
            field_dict["previous_hash"] = previous_hash
        if hash_ is not UNSET:
            field_dict["hash"] = hash_
        if signature is not UNSET:
            field_dict["signature"] = signature

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        event_id = d.pop("event_id")

        tenant_id = d.pop("tenant_id")

        agent_id = d.pop("agent_id")

        session_id = d.pop("session_id")

        event_type = EventType(d.pop("event_type"))

        occurred_at = datetime.datetime.fromisoformat(d.pop("occurred_at"))

        user_id = d.pop("user_id", UNSET)

        _source_type = d.pop("source_type", UNSET)
        source_type: SourceType | Unset
        if isinstance(_source_type, Unset):
            source_type = UNSET
        else:
            source_type = SourceType(_source_type)

        content = d.pop("content", UNSET)

        metadata = d.pop("metadata", UNSET)

        approved_scope = cast(list[str], d.pop("approved_scope", UNSET))

        _enforcement_mode = d.pop("enforcement_mode", UNSET)
        enforcement_mode: EnforcementMode | Unset
        if isinstance(_enforcement_mode, Unset):
            enforcement_mode = UNSET
        else:
            enforcement_mode = EnforcementMode(_enforcement_mode)

        session_tool_calls = cast(list[str], d.pop("session_tool_calls", UNSET))

        tool_name = d.pop("tool_name", UNSET)

        def _parse_endpoint_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        endpoint_id = _parse_endpoint_id(d.pop("endpoint_id", UNSET))

        def _parse_hostname(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        hostname = _parse_hostname(d.pop("hostname", UNSET))

        _ingested_at = d.pop("ingested_at", UNSET)
        ingested_at: datetime.datetime | Unset
        if isinstance(_ingested_at, Unset):
            ingested_at = UNSET
        else:
            ingested_at = datetime.datetime.fromisoformat(_ingested_at)

        ttl = d.pop("ttl", UNSET)

        def _parse_violation_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        violation_id = _parse_violation_id(d.pop("violation_id", UNSET))

        def _parse_decision_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        decision_id = _parse_decision_id(d.pop("decision_id", UNSET))

        chain_index = d.pop("chain_index", UNSET)

        previous_hash = d.pop("previous_hash", UNSET)

        hash_ = d.pop("hash", UNSET)

        signature = d.pop("signature", UNSET)

        event = cls(
            event_id=event_id,
            tenant_id=tenant_id,
            agent_id=agent_id,
            session_id=session_id,
            event_type=event_type,
            occurred_at=occurred_at,
            user_id=user_id,
            source_type=source_type,
            content=content,
            metadata=metadata,
            approved_scope=approved_scope,
            enforcement_mode=enforcement_mode,
            session_tool_calls=session_tool_calls,
            tool_name=tool_name,
            endpoint_id=endpoint_id,
            hostname=hostname,
            ingested_at=ingested_at,
            ttl=ttl,
            violation_id=violation_id,
            decision_id=decision_id,
            chain_index=chain_index,
            previous_hash=previous_hash,
            hash_=hash_,
            signature=signature,
        )

        event.additional_properties = d
        return event

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
