from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="ReceiptClaims")


@_attrs_define
class ReceiptClaims:
    """tenant_id, agent_id, session_id, tool_name, args_sha256 (SHA-256 hex of the canonical JSON of the request's
    `tool_args`), decision, decision_reason_code, matched_rule_ids, policy_version, issued_at (RFC 3339, UTC, `Z`), and
    violation_id / hold_token when present; for MODIFY, modified_args_sha256 (of `modified_tool_args`).

    """

    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        receipt_claims = cls()

        receipt_claims.additional_properties = d
        return receipt_claims

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
