from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.session_sort import SessionSort

if TYPE_CHECKING:
    from ..models.session import Session


T = TypeVar("T", bound="SessionPage")


@_attrs_define
class SessionPage:
    """
    Attributes:
        items (list[Session]):
        sort (SessionSort):  Example: anomaly.
        window (str):  Example: 7d.
        rows_read (int): Decisions of the window read.
        truncated (bool): The window held more than 100,000 decisions; its newest were read.
    """

    items: list[Session]
    sort: SessionSort
    window: str
    rows_read: int
    truncated: bool
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        items = []
        for items_item_data in self.items:
            items_item = items_item_data.to_dict()
            items.append(items_item)

        sort = self.sort.value

        window = self.window

        rows_read = self.rows_read

        truncated = self.truncated

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "items": items,
                "sort": sort,
                "window": window,
                "rows_read": rows_read,
                "truncated": truncated,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.session import Session  # noqa: PLC0415

        d = dict(src_dict)
        items = []
        _items = d.pop("items")
        for items_item_data in _items:
            items_item = Session.from_dict(items_item_data)

            items.append(items_item)

        sort = SessionSort(d.pop("sort"))

        window = d.pop("window")

        rows_read = d.pop("rows_read")

        truncated = d.pop("truncated")

        session_page = cls(
            items=items,
            sort=sort,
            window=window,
            rows_read=rows_read,
            truncated=truncated,
        )

        session_page.additional_properties = d
        return session_page

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
