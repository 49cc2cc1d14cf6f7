from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..models.hold_resolution import HoldResolution
from ..types import UNSET, Unset

T = TypeVar("T", bound="ResolveHoldRequest")


@_attrs_define
class ResolveHoldRequest:
    """
    Example:
        {'resolution': 'BLOCK', 'approver': 'carol@acme.com', 'reason': 'Not during the freeze'}

    Attributes:
        resolution (HoldResolution):  Example: ALLOW.
        approver (str | Unset): Who decided, recorded as the hold's approver when the admin key has no configured name
            (`thoth serve --admin-key NAME=KEY`); a named key is always recorded as its name, whatever this says. Without
            either, the key's `key#<fingerprint>`.
        reason (str | Unset):
    """

    resolution: HoldResolution
    approver: str | Unset = UNSET
    reason: str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        resolution = self.resolution.value

        approver = self.approver

        reason = self.reason

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "resolution": resolution,
            }
        )
        if approver is not UNSET:
            field_dict["approver"] = approver
        if reason is not UNSET:
            field_dict["reason"] = reason

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        resolution = HoldResolution(d.pop("resolution"))

        approver = d.pop("approver", UNSET)

        reason = d.pop("reason", UNSET)

        resolve_hold_request = cls(
            resolution=resolution,
            approver=approver,
            reason=reason,
        )

        return resolve_hold_request
