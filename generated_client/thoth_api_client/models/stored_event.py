from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="StoredEvent")


@_attrs_define
class StoredEvent:
    """
    Example:
        {'event_id': '0b6f7c1e-3f0a-4c55-9d0e-2b7e6c1f9a10', 'tenant_id': 'acme-corp', 'agent_id': 'billing-agent',
            'session_id': '7f0c2a52-8f0e-4c4e-9a53-3f1a1f0b6f0d', 'event_type': 'TOOL_CALL_PRE', 'occurred_at':
            '2026-11-25T10:00:00.123456Z', 'received_at': '2026-11-25T10:00:00.200000Z', 'chain_status': 'verified',
            'redacted': 0}

    Attributes:
        event_id (str):
        tenant_id (str):
        agent_id (str):
        session_id (str):
        event_type (str):
        occurred_at (datetime.datetime):
        received_at (datetime.datetime):
        user_id (None | str | Unset):
        source_type (None | str | Unset):
        tool_name (None | str | Unset):
        content (None | str | Unset):
        metadata (Any | Unset):
        enforcement_mode (None | str | Unset):
        violation_id (None | str | Unset):
        decision_id (None | str | Unset):
        chain_index (int | None | Unset):
        previous_hash (None | str | Unset):
        hash_ (None | str | Unset):
        chain_status (None | str | Unset): verified, unchained, gap, mismatch or fork, as checked on arrival.
        redacted (int | Unset): Values the server replaced with `[REDACTED]` before storing the event (secrets and
            credentials in its content, metadata and extension fields; 0 when none, or when the server runs with `--no-
            redact-events`). The chain was checked on the event as sent and `hash` is the hash it was sent with, so an event
            with `redacted` above 0 no longer re-hashes to its `hash`.
    """

    event_id: str
    tenant_id: str
    agent_id: str
    session_id: str
    event_type: str
    occurred_at: datetime.datetime
    received_at: datetime.datetime
    user_id: None | str | Unset = UNSET
    source_type: None | str | Unset = UNSET
    tool_name: None | str | Unset = UNSET
    content: None | str | Unset = UNSET
    metadata: Any | Unset = UNSET
    enforcement_mode: None | str | Unset = UNSET
    violation_id: None | str | Unset = UNSET
    decision_id: None | str | Unset = UNSET
    chain_index: int | None | Unset = UNSET
    previous_hash: None | str | Unset = UNSET
    hash_: None | str | Unset = UNSET
    chain_status: None | str | Unset = UNSET
    redacted: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        event_id = self.event_id

        tenant_id = self.tenant_id

        agent_id = self.agent_id

        session_id = self.session_id

        event_type = self.event_type

        occurred_at = self.occurred_at.isoformat()

        received_at = self.received_at.isoformat()

        user_id: None | str | Unset
        if isinstance(self.user_id, Unset):
            user_id = UNSET
        else:
            user_id = self.user_id

        source_type: None | str | Unset
        if isinstance(self.source_type, Unset):
            source_type = UNSET
        else:
            source_type = self.source_type

        tool_name: None | str | Unset
        if isinstance(self.tool_name, Unset):
            tool_name = UNSET
        else:
            tool_name = self.tool_name

        content: None | str | Unset
        if isinstance(self.content, Unset):
            content = UNSET
        else:
            content = self.content

        metadata = self.metadata

        enforcement_mode: None | str | Unset
        if isinstance(self.enforcement_mode, Unset):
            enforcement_mode = UNSET
        else:
            enforcement_mode = self.enforcement_mode

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

        chain_index: int | None | Unset
        if isinstance(self.chain_index, Unset):
            chain_index = UNSET
        else:
            chain_index = self.chain_index

        previous_hash: None | str | Unset
        if isinstance(self.previous_hash, Unset):
            previous_hash = UNSET
        else:
            previous_hash = self.previous_hash

        hash_: None | str | Unset
        if isinstance(self.hash_, Unset):
            hash_ = UNSET
        else:
            hash_ = self.hash_

        chain_status: None | str | Unset
        if isinstance(self.chain_status, Unset):
            chain_status = UNSET
        else:
            chain_status = self.chain_status

        redacted = self.redacted

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
                "received_at": received_at,
            }
        )
        if user_id is not UNSET:
            field_dict["user_id"] = user_id
        if source_type is not UNSET:
            field_dict["source_type"] = source_type
        if tool_name is not UNSET:
            field_dict["tool_name"] = tool_name
        if content is not UNSET:
            field_dict["content"] = content
        if metadata is not UNSET:
            field_dict["metadata"] = metadata
        if enforcement_mode is not UNSET:
            field_dict["enforcement_mode"] = enforcement_mode
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
        if chain_status is not UNSET:
            field_dict["chain_status"] = chain_status
        if redacted is not UNSET:
            field_dict["redacted"] = redacted

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        event_id = d.pop("event_id")

        tenant_id = d.pop("tenant_id")

        agent_id = d.pop("agent_id")

        session_id = d.pop("session_id")

        event_type = d.pop("event_type")

        occurred_at = datetime.datetime.fromisoformat(d.pop("occurred_at"))

        received_at = datetime.datetime.fromisoformat(d.pop("received_at"))

        def _parse_user_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        user_id = _parse_user_id(d.pop("user_id", UNSET))

        def _parse_source_type(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        source_type = _parse_source_type(d.pop("source_type", UNSET))

        def _parse_tool_name(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        tool_name = _parse_tool_name(d.pop("tool_name", UNSET))

        def _parse_content(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        content = _parse_content(d.pop("content", UNSET))

        metadata = d.pop("metadata", UNSET)

        def _parse_enforcement_mode(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        enforcement_mode = _parse_enforcement_mode(d.pop("enforcement_mode", UNSET))

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

        def _parse_chain_index(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        chain_index = _parse_chain_index(d.pop("chain_index", UNSET))

        def _parse_previous_hash(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        previous_hash = _parse_previous_hash(d.pop("previous_hash", UNSET))

        def _parse_hash_(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        hash_ = _parse_hash_(d.pop("hash", UNSET))

        def _parse_chain_status(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        chain_status = _parse_chain_status(d.pop("chain_status", UNSET))

        redacted = d.pop("redacted", UNSET)

        stored_event = cls(
            event_id=event_id,
            tenant_id=tenant_id,
            agent_id=agent_id,
            session_id=session_id,
            event_type=event_type,
            occurred_at=occurred_at,
            received_at=received_at,
            user_id=user_id,
            source_type=source_type,
            tool_name=tool_name,
            content=content,
            metadata=metadata,
            enforcement_mode=enforcement_mode,
            violation_id=violation_id,
            decision_id=decision_id,
            chain_index=chain_index,
            previous_hash=previous_hash,
            hash_=hash_,
            chain_status=chain_status,
            redacted=redacted,
        )

        stored_event.additional_properties = d
        return stored_event

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
