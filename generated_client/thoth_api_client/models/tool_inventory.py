from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.tool_inventory_item import ToolInventoryItem


T = TypeVar("T", bound="ToolInventory")


@_attrs_define
class ToolInventory:
    """
    Attributes:
        agent_id (str):
        tools (list[ToolInventoryItem]):
        source (str | Unset):
    """

    agent_id: str
    tools: list[ToolInventoryItem]
    source: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        agent_id = self.agent_id

        tools = []
        for tools_item_data in self.tools:
            tools_item = tools_item_data.to_dict()
            tools.append(tools_item)

        source = self.source

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "agent_id": agent_id,
                "tools": tools,
            }
        )
        if source is not UNSET:
            field_dict["source"] = source

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.tool_inventory_item import ToolInventoryItem  # noqa: PLC0415

        d = dict(src_dict)
        agent_id = d.pop("agent_id")

        tools = []
        _tools = d.pop("tools")
        for tools_item_data in _tools:
            tools_item = ToolInventoryItem.from_dict(tools_item_data)

            tools.append(tools_item)

        source = d.pop("source", UNSET)

        tool_inventory = cls(
            agent_id=agent_id,
            tools=tools,
            source=source,
        )

        tool_inventory.additional_properties = d
        return tool_inventory

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
