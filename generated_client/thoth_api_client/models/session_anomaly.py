from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.session_anomaly_status import SessionAnomalyStatus

if TYPE_CHECKING:
    from ..models.anomaly_reason import AnomalyReason


T = TypeVar("T", bound="SessionAnomaly")


@_attrs_define
class SessionAnomaly:
    """How unlike its agent's other sessions in the window this session is (a leave-one-out baseline: the session is never
    part of its own). `score` is in [0, 1]: 0 like the others, near 1 unlike them in at least one way (new tools, an
    unusual order of tools by a smoothed first-order transition model, a call rate far above the usual). With fewer than
    5 other sessions the status is `insufficient_baseline` and `score` is null.

        Attributes:
            status (SessionAnomalyStatus):
            score (float | None):
            baseline_sessions (int): The other sessions of the agent it was compared with.
            baseline_truncated (bool): The window held more than 100,000 decisions; the baseline is its newest.
            new_tools (int):
            sequence_z (float | None): The transition model's score test (about standard normal for a usual session).
            rate_z (float | None): The robust z of ln(calls per minute); null for a session of one call.
            reasons (list[AnomalyReason]):
    """

    status: SessionAnomalyStatus
    score: float | None
    baseline_sessions: int
    baseline_truncated: bool
    new_tools: int
    sequence_z: float | None
    rate_z: float | None
    reasons: list[AnomalyReason]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        status = self.status.value

        score: float | None
        score = self.score

        baseline_sessions = self.baseline_sessions

        baseline_truncated = self.baseline_truncated

        new_tools = self.new_tools

        sequence_z: float | None
        sequence_z = self.sequence_z

        rate_z: float | None
        rate_z = self.rate_z

        reasons = []
        for reasons_item_data in self.reasons:
            reasons_item = reasons_item_data.to_dict()
            reasons.append(reasons_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "status": status,
                "score": score,
                "baseline_sessions": baseline_sessions,
                "baseline_truncated": baseline_truncated,
                "new_tools": new_tools,
                "sequence_z": sequence_z,
                "rate_z": rate_z,
                "reasons": reasons,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.anomaly_reason import AnomalyReason  # noqa: PLC0415

        d = dict(src_dict)
        status = SessionAnomalyStatus(d.pop("status"))

        def _parse_score(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        score = _parse_score(d.pop("score"))

        baseline_sessions = d.pop("baseline_sessions")

        baseline_truncated = d.pop("baseline_truncated")

        new_tools = d.pop("new_tools")

        def _parse_sequence_z(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        sequence_z = _parse_sequence_z(d.pop("sequence_z"))

        def _parse_rate_z(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        rate_z = _parse_rate_z(d.pop("rate_z"))

        reasons = []
        _reasons = d.pop("reasons")
        for reasons_item_data in _reasons:
            reasons_item = AnomalyReason.from_dict(reasons_item_data)

            reasons.append(reasons_item)

        session_anomaly = cls(
            status=status,
            score=score,
            baseline_sessions=baseline_sessions,
            baseline_truncated=baseline_truncated,
            new_tools=new_tools,
            sequence_z=sequence_z,
            rate_z=rate_z,
            reasons=reasons,
        )

        session_anomaly.additional_properties = d
        return session_anomaly

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
