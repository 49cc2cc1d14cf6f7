from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="DecisionCounts")


@_attrs_define
class DecisionCounts:
    """The session's decisions by type.

    Attributes:
        allow (int):
        block (int):
        step_up (int):
        modify (int):
        defer (int):
    """

    allow: int
    block: int
    step_up: int
    modify: int
    defer: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        allow = self.allow

        block = self.block

        step_up = self.step_up

        modify = self.modify

        defer = self.defer

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "ALLOW": allow,
                "BLOCK": block,
                "STEP_UP": step_up,
                "MODIFY": modify,
                "DEFER": defer,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        allow = d.pop("ALLOW")

        block = d.pop("BLOCK")

        step_up = d.pop("STEP_UP")

        modify = d.pop("MODIFY")

        defer = d.pop("DEFER")

        decision_counts = cls(
            allow=allow,
            block=block,
            step_up=step_up,
            modify=modify,
            defer=defer,
        )

        decision_counts.additional_properties = d
        return decision_counts

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
