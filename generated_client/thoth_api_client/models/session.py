from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.decision_counts import DecisionCounts
    from ..models.session_anomaly import SessionAnomaly


T = TypeVar("T", bound="Session")


@_attrs_define
class Session:
    """
    Attributes:
        tenant_id (str):
        session_id (str):
        agent_id (str): The agent of the session's first call.
        calls (int): The decisions the enforcer made in the session (in the window, in a list).
        first_at (datetime.datetime):
        last_at (datetime.datetime):
        decisions (DecisionCounts): The session's decisions by type.
        anomaly (SessionAnomaly): How unlike its agent's other sessions in the window this session is (a leave-one-out
            baseline: the session is never part of its own). `score` is in [0, 1]: 0 like the others, near 1 unlike them in
            at least one way (new tools, an unusual order of tools by a smoothed first-order transition model, a call rate
            far above the usual). With fewer than 5 other sessions the status is `insufficient_baseline` and `score` is
            null.
    """

    tenant_id: str
    session_id: str
    agent_id: str
    calls: int
    first_at: datetime.datetime
    last_at: datetime.datetime
    decisions: DecisionCounts
    anomaly: SessionAnomaly
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        tenant_id = self.tenant_id

        session_id = self.session_id

        agent_id = self.agent_id

        calls = self.calls

        first_at = self.first_at.isoformat()

        last_at = self.last_at.isoformat()

        decisions = self.decisions.to_dict()

        anomaly = self.anomaly.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "tenant_id": tenant_id,
                "session_id": session_id,
                "agent_id": agent_id,
                "calls": calls,
                "first_at": first_at,
                "last_at": last_at,
                "decisions": decisions,
                "anomaly": anomaly,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.decision_counts import DecisionCounts  # noqa: PLC0415
        from ..models.session_anomaly import SessionAnomaly  # noqa: PLC0415

        d = dict(src_dict)
        tenant_id = d.pop("tenant_id")

        session_id = d.pop("session_id")

        agent_id = d.pop("agent_id")

        calls = d.pop("calls")

        first_at = datetime.datetime.fromisoformat(d.pop("first_at"))

        last_at = datetime.datetime.fromisoformat(d.pop("last_at"))

        decisions = DecisionCounts.from_dict(d.pop("decisions"))

        anomaly = SessionAnomaly.from_dict(d.pop("anomaly"))

        session = cls(
            tenant_id=tenant_id,
            session_id=session_id,
            agent_id=agent_id,
            calls=calls,
            first_at=first_at,
            last_at=last_at,
            decisions=decisions,
            anomaly=anomaly,
        )

        session.additional_properties = d
        return session

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
