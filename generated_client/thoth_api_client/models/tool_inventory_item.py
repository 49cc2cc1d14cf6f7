from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.tool_inventory_item_input_schema import ToolInventoryItemInputSchema


T = TypeVar("T", bound="ToolInventoryItem")


@_attrs_define
class ToolInventoryItem:
    """
    Attributes:
        name (str):  Example: send_email.
        description (str | Unset):
        input_schema (ToolInventoryItemInputSchema | Unset): A JSON Schema of the tool's input (at most 64 KiB of JSON).
    """

    name: str
    description: str | Unset = UNSET
    input_schema: ToolInventoryItemInputSchema | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        description = self.description

        input_schema: dict[str, Any] | Unset = UNSET
        if not isinstance(self.input_schema, Unset):
            input_schema = self.input_schema.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "name": name,
            }
        )
        if description is not UNSET:
            field_dict["description"] = description
        if input_schema is not UNSET:
            field_dict["input_schema"] = input_schema

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.tool_inventory_item_input_schema import (
            ToolInventoryItemInputSchema,  # noqa: PLC0415
        )

        d = dict(src_dict)
        name = d.pop("name")

        description = d.pop("description", UNSET)

        _input_schema = d.pop("input_schema", UNSET)
        input_schema: ToolInventoryItemInputSchema | Unset
        if isinstance(_input_schema, Unset):
            input_schema = UNSET
        else:
            input_schema = ToolInventoryItemInputSchema.from_dict(_input_schema)

        tool_inventory_item = cls(
            name=name,
            description=description,
            input_schema=input_schema,
        )

        return tool_inventory_item
