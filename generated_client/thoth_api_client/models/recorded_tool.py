from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.recorded_tool_input_schema_type_0 import RecordedToolInputSchemaType0


T = TypeVar("T", bound="RecordedTool")


@_attrs_define
class RecordedTool:
    """
    Attributes:
        tenant_id (str):
        agent_id (str):
        name (str):
        updated_at (datetime.datetime):
        description (None | str | Unset):
        input_schema (None | RecordedToolInputSchemaType0 | Unset):
        source (None | str | Unset):
    """

    tenant_id: str
    agent_id: str
    name: str
    updated_at: datetime.datetime
    description: None | str | Unset = UNSET
    input_schema: None | RecordedToolInputSchemaType0 | Unset = UNSET
    source: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.recorded_tool_input_schema_type_0 import (
            RecordedToolInputSchemaType0,  # noqa: PLC0415
        )

        tenant_id = self.tenant_id

        agent_id = self.agent_id

        name = self.name

        updated_at = self.updated_at.isoformat()

        description: None | str | Unset
        if isinstance(self.description, Unset):
            description = UNSET
        else:
            description = self.description

        input_schema: dict[str, Any] | None | Unset
        if isinstance(self.input_schema, Unset):
            input_schema = UNSET
        elif isinstance(self.input_schema, RecordedToolInputSchemaType0):
            input_schema = self.input_schema.to_dict()
        else:
            input_schema = self.input_schema

        source: None | str | Unset
        if isinstance(self.source, Unset):
            source = UNSET
        else:
            source = self.source

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "tenant_id": tenant_id,
                "agent_id": agent_id,
                "name": name,
                "updated_at": updated_at,
            }
        )
        if description is not UNSET:
            field_dict["description"] = description
        if input_schema is not UNSET:
            field_dict["input_schema"] = input_schema
        if source is not UNSET:
            field_dict["source"] = source

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.recorded_tool_input_schema_type_0 import (
            RecordedToolInputSchemaType0,  # noqa: PLC0415
        )

        d = dict(src_dict)
        tenant_id = d.pop("tenant_id")

        agent_id = d.pop("agent_id")

        name = d.pop("name")

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        def _parse_description(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        description = _parse_description(d.pop("description", UNSET))

        def _parse_input_schema(
            data: object,
        ) -> None | RecordedToolInputSchemaType0 | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                input_schema_type_0 = RecordedToolInputSchemaType0.from_dict(data)

                return input_schema_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | RecordedToolInputSchemaType0 | Unset, data)

        input_schema = _parse_input_schema(d.pop("input_schema", UNSET))

        def _parse_source(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        source = _parse_source(d.pop("source", UNSET))

        recorded_tool = cls(
            tenant_id=tenant_id,
            agent_id=agent_id,
            name=name,
            updated_at=updated_at,
            description=description,
            input_schema=input_schema,
            source=source,
        )

        recorded_tool.additional_properties = d
        return recorded_tool

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
