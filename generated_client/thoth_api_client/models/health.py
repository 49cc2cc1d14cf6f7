from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.health_status import HealthStatus
from ..models.health_store import HealthStore
from ..types import UNSET, Unset

T = TypeVar("T", bound="Health")


@_attrs_define
class Health:
    """
    Example:
        {'status': 'ok', 'version': '0.2.0', 'store': 'ok'}

    Attributes:
        status (HealthStatus):
        version (str | Unset):
        time (datetime.datetime | Unset):
        store (HealthStore | Unset): The store answered a query just now. When it does not, /healthz answers 503 with
            code `store_unavailable` and `store` set to `unreachable`.
    """

    status: HealthStatus
    version: str | Unset = UNSET
    time: datetime.datetime | Unset = UNSET
    store: HealthStore | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        status = self.status.value

        version = self.version

        time: str | Unset = UNSET
        if not isinstance(self.time, Unset):
            time = self.time.isoformat()

        store: str | Unset = UNSET
        if not isinstance(self.store, Unset):
            store = self.store.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "status": status,
            }
        )
        if version is not UNSET:
            field_dict["version"] = version
        if time is not UNSET:
            field_dict["time"] = time
        if store is not UNSET:
            field_dict["store"] = store

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        status = HealthStatus(d.pop("status"))

        version = d.pop("version", UNSET)

        _time = d.pop("time", UNSET)
        time: datetime.datetime | Unset
        if isinstance(_time, Unset):
            time = UNSET
        else:
            time = datetime.datetime.fromisoformat(_time)

        _store = d.pop("store", UNSET)
        store: HealthStore | Unset
        if isinstance(_store, Unset):
            store = UNSET
        else:
            store = HealthStore(_store)

        health = cls(
            status=status,
            version=version,
            time=time,
            store=store,
        )

        health.additional_properties = d
        return health

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
