from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.hold_state import HoldState
from ..types import UNSET, Unset

T = TypeVar("T", bound="Hold")


@_attrs_define
class Hold:
    """
    Example:
        {'hold_token': 'hold_3q2Yk9vX8wLmN4pR7tUz1A', 'status': 'pending', 'tenant_id': 'acme-corp', 'agent_id':
            'billing-agent', 'session_id': '7f0c2a52-8f0e-4c4e-9a53-3f1a1f0b6f0d', 'tool_name': 'send_email', 'args_sha256':
            '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', 'created_at': '2026-11-25T10:00:00Z',
            'expires_at': '2026-11-25T10:15:00Z'}

    Attributes:
        hold_token (str):  Example: hold_3q2Yk9vX8wLmN4pR7tUz1A.
        status (HoldState):  Example: pending.
        tenant_id (str):
        agent_id (str):
        session_id (str):
        tool_name (str):
        args_sha256 (str): SHA-256 of the canonical JSON of the held call's arguments.
        created_at (datetime.datetime):
        expires_at (datetime.datetime):
        hold_ref (str | Unset): A hold's public name: the first 20 hex of the SHA-256 of its token. It cannot poll or
            resolve the hold, so unlike the token it may go in a URL, a log or a chat message. Example:
            3f1a9c0b7d2e5a8b4c6d.
        user_id (None | str | Unset):
        reason (None | str | Unset):
        rule_id (None | str | Unset):
        resolved_at (datetime.datetime | None | Unset):
        approver (None | str | Unset):
        resolution_reason (None | str | Unset):
    """

    hold_token: str
    status: HoldState
    tenant_id: str
    agent_id: str
    session_id: str
    tool_name: str
    args_sha256: str
    created_at: datetime.datetime
    expires_at: datetime.datetime
    hold_ref: str | Unset = UNSET
    user_id: None | str | Unset = UNSET
    reason: None | str | Unset = UNSET
    rule_id: None | str | Unset = UNSET
    resolved_at: datetime.datetime | None | Unset = UNSET
    approver: None | str | Unset = UNSET
    resolution_reason: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        hold_token = self.hold_token

        status = self.status.value

        tenant_id = self.tenant_id

        agent_id = self.agent_id

        session_id = self.session_id

        tool_name = self.tool_name

        args_sha256 = self.args_sha256

        created_at = self.created_at.isoformat()

        expires_at = self.expires_at.isoformat()

        hold_ref = self.hold_ref

        user_id: None | str | Unset
        if isinstance(self.user_id, Unset):
            user_id = UNSET
        else:
            user_id = self.user_id

        reason: None | str | Unset
        if isinstance(self.reason, Unset):
            reason = UNSET
        else:
            reason = self.reason

        rule_id: None | str | Unset
        if isinstance(self.rule_id, Unset):
            rule_id = UNSET
        else:
            rule_id = self.rule_id

        resolved_at: None | str | Unset
        if isinstance(self.resolved_at, Unset):
            resolved_at = UNSET
        elif isinstance(self.resolved_at, datetime.datetime):
            resolved_at = self.resolved_at.isoformat()
        else:
            resolved_at = self.resolved_at

        approver: None | str | Unset
        if isinstance(self.approver, Unset):
            approver = UNSET
        else:
            approver = self.approver

        resolution_reason: None | str | Unset
        if isinstance(self.resolution_reason, Unset):
            resolution_reason = UNSET
        else:
            resolution_reason = self.resolution_reason

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "hold_token": hold_token,
                "status": status,
                "tenant_id": tenant_id,
                "agent_id": agent_id,
                "session_id": session_id,
                "tool_name": tool_name,
                "args_sha256": args_sha256,
                "created_at": created_at,
                "expires_at": expires_at,
            }
        )
        if hold_ref is not UNSET:
            field_dict["hold_ref"] = hold_ref
        if user_id is not UNSET:
            field_dict["user_id"] = user_id
        if reason is not UNSET:
            field_dict["reason"] = reason
        if rule_id is not UNSET:
            field_dict["rule_id"] = rule_id
        if resolved_at is not UNSET:
            field_dict["resolved_at"] = resolved_at
        if approver is not UNSET:
            field_dict["approver"] = approver
        if resolution_reason is not UNSET:
            field_dict["resolution_reason"] = resolution_reason

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        hold_token = d.pop("hold_token")

        status = HoldState(d.pop("status"))

        tenant_id = d.pop("tenant_id")

        agent_id = d.pop("agent_id")

        session_id = d.pop("session_id")

        tool_name = d.pop("tool_name")

        args_sha256 = d.pop("args_sha256")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        expires_at = datetime.datetime.fromisoformat(d.pop("expires_at"))

        hold_ref = d.pop("hold_ref", UNSET)

        def _parse_user_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        user_id = _parse_user_id(d.pop("user_id", UNSET))

        def _parse_reason(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        reason = _parse_reason(d.pop("reason", UNSET))

        def _parse_rule_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        rule_id = _parse_rule_id(d.pop("rule_id", UNSET))

        def _parse_resolved_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                resolved_at_type_0 = datetime.datetime.fromisoformat(data)

                return resolved_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        resolved_at = _parse_resolved_at(d.pop("resolved_at", UNSET))

        def _parse_approver(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        approver = _parse_approver(d.pop("approver", UNSET))

        def _parse_resolution_reason(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        resolution_reason = _parse_resolution_reason(d.pop("resolution_reason", UNSET))

        hold = cls(
            hold_token=hold_token,
            status=status,
            tenant_id=tenant_id,
            agent_id=agent_id,
            session_id=session_id,
            tool_name=tool_name,
            args_sha256=args_sha256,
            created_at=created_at,
            expires_at=expires_at,
            hold_ref=hold_ref,
            user_id=user_id,
            reason=reason,
            rule_id=rule_id,
            resolved_at=resolved_at,
            approver=approver,
            resolution_reason=resolution_reason,
        )

        hold.additional_properties = d
        return hold

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
