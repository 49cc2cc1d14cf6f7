from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.explanation_severity import ExplanationSeverity
from ..models.explanation_source import ExplanationSource
from ..types import UNSET, Unset

T = TypeVar("T", bound="Explanation")


@_attrs_define
class Explanation:
    """
    Attributes:
        violation_id (str): "" when the decision had none.
        what_happened (str):
        why_it_was_blocked (str):
        what_to_do_next (str):
        business_impact (str):
        severity (ExplanationSeverity):
        tenant_id (None | str | Unset):
        session_id (None | str | Unset):
        agent_id (None | str | Unset):
        user_id (None | str | Unset):
        tool_name (None | str | Unset):
        decision (None | str | Unset):
        decision_reason_code (None | str | Unset):
        matched_rule_ids (list[str] | Unset):
        approvers (list[str] | Unset):
        policy_version (None | str | Unset):
        source (ExplanationSource | Unset): Whether the stored decision or the request's fields were explained.
        timestamp (datetime.datetime | None | Unset):
        request_url (None | str | Unset):
    """

    violation_id: str
    what_happened: str
    why_it_was_blocked: str
    what_to_do_next: str
    business_impact: str
    severity: ExplanationSeverity
    tenant_id: None | str | Unset = UNSET
    session_id: None | str | Unset = UNSET
    agent_id: None | str | Unset = UNSET
    user_id: None | str | Unset = UNSET
    tool_name: None | str | Unset = UNSET
    decision: None | str | Unset = UNSET
    decision_reason_code: None | str | Unset = UNSET
    matched_rule_ids: list[str] | Unset = UNSET
    approvers: list[str] | Unset = UNSET
    policy_version: None | str | Unset = UNSET
    source: ExplanationSource | Unset = UNSET
    timestamp: datetime.datetime | None | Unset = UNSET
    request_url: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        violation_id = self.violation_id

        what_happened = self.what_happened

        why_it_was_blocked = self.why_it_was_blocked

        what_to_do_next = self.what_to_do_next

        business_impact = self.business_impact

        severity = self.severity.value

        tenant_id: None | str | Unset
        if isinstance(self.tenant_id, Unset):
            tenant_id = UNSET
        else:
            tenant_id = self.tenant_id

        session_id: None | str | Unset
        if isinstance(self.session_id, Unset):
            session_id = UNSET
        else:
            session_id = self.session_id

        agent_id: None | str | Unset
        if isinstance(self.agent_id, Unset):
            agent_id = UNSET
        else:
            agent_id = self.agent_id

        user_id: None | str | Unset
        if isinstance(self.user_id, Unset):
            user_id = UNSET
        else:
            user_id = self.user_id

        tool_name: None | str | Unset
        if isinstance(self.tool_name, Unset):
            tool_name = UNSET
        else:
            tool_name = self.tool_name

        decision: None | str | Unset
        if isinstance(self.decision, Unset):
            decision = UNSET
        else:
            decision = self.decision

        decision_reason_code: None | str | Unset
        if isinstance(self.decision_reason_code, Unset):
            decision_reason_code = UNSET
        else:
            decision_reason_code = self.decision_reason_code

        matched_rule_ids: list[str] | Unset = UNSET
        if not isinstance(self.matched_rule_ids, Unset):
            matched_rule_ids = self.matched_rule_ids

        approvers: list[str] | Unset = UNSET
        if not isinstance(self.approvers, Unset):
            approvers = self.approvers

        policy_version: None | str | Unset
        if isinstance(self.policy_version, Unset):
            policy_version = UNSET
        else:
            policy_version = self.policy_version

        source: str | Unset = UNSET
        if not isinstance(self.source, Unset):
            source = self.source.value

        timestamp: None | str | Unset
        if isinstance(self.timestamp, Unset):
            timestamp = UNSET
        elif isinstance(self.timestamp, datetime.datetime):
            timestamp = self.timestamp.isoformat()
        else:
            timestamp = self.timestamp

        request_url: None | str | Unset
        if isinstance(self.request_url, Unset):
            request_url = UNSET
        else:
            request_url = self.request_url

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "violation_id": violation_id,
                "what_happened": what_happened,
                "why_it_was_blocked": why_it_was_blocked,
                "what_to_do_next": what_to_do_next,
                "business_impact": business_impact,
                "severity": severity,
            }
        )
        if tenant_id is not UNSET:
            field_dict["tenant_id"] = tenant_id
        if session_id is not UNSET:
            field_dict["session_id"] = session_id
        if agent_id is not UNSET:
            field_dict["agent_id"] = agent_id
        if user_id is not UNSET:
            field_dict["user_id"] = user_id
        if tool_name is not UNSET:
            field_dict["tool_name"] = tool_name
        if decision is not UNSET:
            field_dict["decision"] = decision
        if decision_reason_code is not UNSET:
            field_dict["decision_reason_code"] = decision_reason_code
        if matched_rule_ids is not UNSET:
            field_dict["matched_rule_ids"] = matched_rule_ids
        if approvers is not UNSET:
            field_dict["approvers"] = approvers
        if policy_version is not UNSET:
            field_dict["policy_version"] = policy_version
        if source is not UNSET:
            field_dict["source"] = source
        if timestamp is not UNSET:
            field_dict["timestamp"] = timestamp
        if request_url is not UNSET:
            field_dict["request_url"] = request_url

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        violation_id = d.pop("violation_id")

        what_happened = d.pop("what_happened")

        why_it_was_blocked = d.pop("why_it_was_blocked")

        what_to_do_next = d.pop("what_to_do_next")

        business_impact = d.pop("business_impact")

        severity = ExplanationSeverity(d.pop("severity"))

        def _parse_tenant_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        tenant_id = _parse_tenant_id(d.pop("tenant_id", UNSET))

        def _parse_session_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        session_id = _parse_session_id(d.pop("session_id", UNSET))

        def _parse_agent_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        agent_id = _parse_agent_id(d.pop("agent_id", UNSET))

        def _parse_user_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        user_id = _parse_user_id(d.pop("user_id", UNSET))

        def _parse_tool_name(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        tool_name = _parse_tool_name(d.pop("tool_name", UNSET))

        def _parse_decision(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        decision = _parse_decision(d.pop("decision", UNSET))

        def _parse_decision_reason_code(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        decision_reason_code = _parse_decision_reason_code(
            d.pop("decision_reason_code", UNSET)
        )

        matched_rule_ids = cast(list[str], d.pop("matched_rule_ids", UNSET))

        approvers = cast(list[str], d.pop("approvers", UNSET))

        def _parse_policy_version(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        policy_version = _parse_policy_version(d.pop("policy_version", UNSET))

        _source = d.pop("source", UNSET)
        source: ExplanationSource | Unset
        if isinstance(_source, Unset):
            source = UNSET
        else:
            source = ExplanationSource(_source)

        def _parse_timestamp(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                timestamp_type_0 = datetime.datetime.fromisoformat(data)

                return timestamp_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        timestamp = _parse_timestamp(d.pop("timestamp", UNSET))

        def _parse_request_url(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        request_url = _parse_request_url(d.pop("request_url", UNSET))

        explanation = cls(
            violation_id=violation_id,
            what_happened=what_happened,
            why_it_was_blocked=why_it_was_blocked,
            what_to_do_next=what_to_do_next,
            business_impact=business_impact,
            severity=severity,
            tenant_id=tenant_id,
            session_id=session_id,
            agent_id=agent_id,
            user_id=user_id,
            tool_name=tool_name,
            decision=decision,
            decision_reason_code=decision_reason_code,
            matched_rule_ids=matched_rule_ids,
            approvers=approvers,
            policy_version=policy_version,
            source=source,
            timestamp=timestamp,
            request_url=request_url,
        )

        explanation.additional_properties = d
        return explanation

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
