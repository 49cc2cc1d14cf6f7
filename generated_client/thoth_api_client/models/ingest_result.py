from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="IngestResult")


@_attrs_define
class IngestResult:
    """
    Example:
        {'accepted': 10, 'duplicates': 0, 'chain_breaks': 0, 'conflicts': 0, 'conflict_event_ids': []}

    Attributes:
        accepted (int): Events newly stored.
        duplicates (int | Unset): Events already stored under the same event_id.
        chain_breaks (int | Unset): Events whose hash chain did not verify (stored and flagged).
        redacted (int | Unset): Events the server redacted before storing them (a secret or credential in their content,
            metadata or arguments), as the SDK redacts what it sends.
        conflicts (int | Unset): Events whose event_id is already stored with a different body: not stored (the first
            one stands), counted here and in `conflict_event_ids`.
        conflict_event_ids (list[str] | Unset): The canonical ids of the conflicting events, at most 100.
    """

    accepted: int
    duplicates: int | Unset = UNSET
    chain_breaks: int | Unset = UNSET
    redacted: int | Unset = UNSET
    conflicts: int | Unset = UNSET
    conflict_event_ids: list[str] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        accepted = self.accepted

        duplicates = self.duplicates

        chain_breaks = self.chain_breaks

        redacted = self.redacted

        conflicts = self.conflicts

        conflict_event_ids: list[str] | Unset = UNSET
        if not isinstance(self.conflict_event_ids, Unset):
            conflict_event_ids = self.conflict_event_ids

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "accepted": accepted,
            }
        )
        if duplicates is not UNSET:
            field_dict["duplicates"] = duplicates
        if chain_breaks is not UNSET:
            field_dict["chain_breaks"] = chain_breaks
        if redacted is not UNSET:
            field_dict["redacted"] = redacted
        if conflicts is not UNSET:
            field_dict["conflicts"] = conflicts
        if conflict_event_ids is not UNSET:
            field_dict["conflict_event_ids"] = conflict_event_ids

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        accepted = d.pop("accepted")

        duplicates = d.pop("duplicates", UNSET)

        chain_breaks = d.pop("chain_breaks", UNSET)

        redacted = d.pop("redacted", UNSET)

        conflicts = d.pop("conflicts", UNSET)

        conflict_event_ids = cast(list[str], d.pop("conflict_event_ids", UNSET))

        ingest_result = cls(
            accepted=accepted,
            duplicates=duplicates,
            chain_breaks=chain_breaks,
            redacted=redacted,
            conflicts=conflicts,
            conflict_event_ids=conflict_event_ids,
        )

        ingest_result.additional_properties = d
        return ingest_result

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
