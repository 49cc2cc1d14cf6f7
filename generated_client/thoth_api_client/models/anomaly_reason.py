from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.anomaly_reason_kind import AnomalyReasonKind
from ..types import UNSET, Unset

T = TypeVar("T", bound="AnomalyReason")


@_attrs_define
class AnomalyReason:
    """One reason a session scored: a tool its agent used in no other session (`tool`), one of its least likely tool
    transitions (`previous_tool` -> `tool`, `previous_tool` null for the session's start, with its `probability` in the
    agent's other sessions), or a call rate far above the agent's (`calls_per_minute`, the baseline's median, the robust
    `z`).

        Example:
            {'kind': 'new_tool', 'message': "new tool 'export_all_customers': used in none of the agent's 39 other
                sessions", 'tool': 'export_all_customers'}

        Attributes:
            kind (AnomalyReasonKind):  Example: new_tool.
            message (str): For a human; names tools as the agent sent them.
            tool (str | Unset):
            previous_tool (None | str | Unset):
            probability (float | Unset):
            calls_per_minute (float | Unset):
            baseline_calls_per_minute (float | Unset):
            z (float | Unset):
    """

    kind: AnomalyReasonKind
    message: str
    tool: str | Unset = UNSET
    previous_tool: None | str | Unset = UNSET
    probability: float | Unset = UNSET
    calls_per_minute: float | Unset = UNSET
    baseline_calls_per_minute: float | Unset = UNSET
    z: float | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        kind = self.kind.value

        message = self.message

        tool = self.tool

        previous_tool: None | str | Unset
        if isinstance(self.previous_tool, Unset):
            previous_tool = UNSET
        else:
            previous_tool = self.previous_tool

        probability = self.probability

        calls_per_minute = self.calls_per_minute

        baseline_calls_per_minute = self.baseline_calls_per_minute

        z = self.z

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "kind": kind,
                "message": message,
            }
        )
        if tool is not UNSET:
            field_dict["tool"] = tool
        if previous_tool is not UNSET:
            field_dict["previous_tool"] = previous_tool
        if probability is not UNSET:
            field_dict["probability"] = probability
        if calls_per_minute is not UNSET:
            field_dict["calls_per_minute"] = calls_per_minute
        if baseline_calls_per_minute is not UNSET:
            field_dict["baseline_calls_per_minute"] = baseline_calls_per_minute
        if z is not UNSET:
            field_dict["z"] = z

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        kind = AnomalyReasonKind(d.pop("kind"))

        message = d.pop("message")

        tool = d.pop("tool", UNSET)

        def _parse_previous_tool(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        previous_tool = _parse_previous_tool(d.pop("previous_tool", UNSET))

        probability = d.pop("probability", UNSET)

        calls_per_minute = d.pop("calls_per_minute", UNSET)

        baseline_calls_per_minute = d.pop("baseline_calls_per_minute", UNSET)

        z = d.pop("z", UNSET)

        anomaly_reason = cls(
            kind=kind,
            message=message,
            tool=tool,
            previous_tool=previous_tool,
            probability=probability,
            calls_per_minute=calls_per_minute,
            baseline_calls_per_minute=baseline_calls_per_minute,
            z=z,
        )

        anomaly_reason.additional_properties = d
        return anomaly_reason

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
