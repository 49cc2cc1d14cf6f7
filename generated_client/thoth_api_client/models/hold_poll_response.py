from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.hold_resolution import HoldResolution
from ..types import UNSET, Unset

T = TypeVar("T", bound="HoldPollResponse")


@_attrs_define
class HoldPollResponse:
    """Read tolerantly; older servers answer with a decision-shaped object.

    Example:
        {'hold_token': 'hold_3q2Yk9vX8wLmN4pR7tUz1A', 'resolved': False, 'resolution': None}

    Attributes:
        hold_token (str | Unset):
        resolved (bool | Unset):
        resolution (HoldResolution | None | str | Unset): ALLOW or BLOCK once resolved, null while pending.
        reason (None | str | Unset):
        decision (None | str | Unset):
        expires_at (datetime.datetime | None | Unset):
        approver (None | str | Unset): Who resolved the hold; only for a caller with a key of its tenant.
    """

    hold_token: str | Unset = UNSET
    resolved: bool | Unset = UNSET
    resolution: HoldResolution | None | str | Unset = UNSET
    reason: None | str | Unset = UNSET
    decision: None | str | Unset = UNSET
    expires_at: datetime.datetime | None | Unset = UNSET
    approver: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        hold_token = self.hold_token

        resolved = self.resolved

        resolution: None | str | Unset
        if isinstance(self.resolution, Unset):
            resolution = UNSET
        elif isinstance(self.resolution, HoldResolution):
            resolution = self.resolution.value
        else:
            resolution = self.resolution

        reason: None | str | Unset
        if isinstance(self.reason, Unset):
            reason = UNSET
        else:
            reason = self.reason

        decision: None | str | Unset
        if isinstance(self.decision, Unset):
            decision = UNSET
        else:
            decision = self.decision

        expires_at: None | str | Unset
        if isinstance(self.expires_at, Unset):
            expires_at = UNSET
        elif isinstance(self.expires_at, datetime.datetime):
            expires_at = self.expires_at.isoformat()
        else:
            expires_at = self.expires_at

        approver: None | str | Unset
        if isinstance(self.approver, Unset):
            approver = UNSET
        else:
            approver = self.approver

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if hold_token is not UNSET:
            field_dict["hold_token"] = hold_token
        if resolved is not UNSET:
            field_dict["resolved"] = resolved
        if resolution is not UNSET:
            field_dict["resolution"] = resolution
        if reason is not UNSET:
            field_dict["reason"] = reason
        if decision is not UNSET:
            field_dict["decision"] = decision
        if expires_at is not UNSET:
            field_dict["expires_at"] = expires_at
        if approver is not UNSET:
            field_dict["approver"] = approver

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        hold_token = d.pop("hold_token", UNSET)

        resolved = d.pop("resolved", UNSET)

        def _parse_resolution(data: object) -> HoldResolution | None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                resolution_type_0 = HoldResolution(data)

                return resolution_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(HoldResolution | None | str | Unset, data)

        resolution = _parse_resolution(d.pop("resolution", UNSET))

        def _parse_reason(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        reason = _parse_reason(d.pop("reason", UNSET))

        def _parse_decision(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        decision = _parse_decision(d.pop("decision", UNSET))

        def _parse_expires_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                expires_at_type_0 = datetime.datetime.fromisoformat(data)

                return expires_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        expires_at = _parse_expires_at(d.pop("expires_at", UNSET))

        def _parse_approver(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        approver = _parse_approver(d.pop("approver", UNSET))

        hold_poll_response = cls(
            hold_token=hold_token,
            resolved=resolved,
            resolution=resolution,
            reason=reason,
            decision=decision,
            expires_at=expires_at,
            approver=approver,
        )

        hold_poll_response.additional_properties = d
        return hold_poll_response

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
