from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="ExplainRequest")


@_attrs_define
class ExplainRequest:
    """An enforce request plus the decision to explain; unknown fields are accepted.

    Attributes:
        tool_name (str):  Example: send_email.
        agent_id (str | Unset):
        tenant_id (str | Unset):
        user_id (None | str | Unset):
        session_id (str | Unset):
        approved_scope (list[str] | Unset):
        enforcement_mode (None | str | Unset):
        decision (None | str | Unset):
        decision_reason_code (None | str | Unset):
        reason (None | str | Unset):
        violation_id (None | str | Unset):
        matched_rule_ids (list[str] | None | Unset):
    """

    tool_name: str
    agent_id: str | Unset = UNSET
    tenant_id: str | Unset = UNSET
    user_id: None | str | Unset = UNSET
    session_id: str | Unset = UNSET
    approved_scope: list[str] | Unset = UNSET
    enforcement_mode: None | str | Unset = UNSET
    decision: None | str | Unset = UNSET
    decision_reason_code: None | str | Unset = UNSET
    reason: None | str | Unset = UNSET
    violation_id: None | str | Unset = UNSET
    matched_rule_ids: list[str] | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        tool_name = self.tool_name

        agent_id = self.agent_id

        tenant_id = self.tenant_id

        user_id: None | str | Unset
        if isinstance(self.user_id, Unset):
            user_id = UNSET
        else:
            user_id = self.user_id

        session_id = self.session_id

        approved_scope: list[str] | Unset = UNSET
        if not isinstance(self.approved_scope, Unset):
            approved_scope = self.approved_scope

        enforcement_mode: None | str | Unset
        if isinstance(self.enforcement_mode, Unset):
            enforcement_mode = UNSET
        else:
            enforcement_mode = self.enforcement_mode

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

        reason: None | str | Unset
        if isinstance(self.reason, Unset):
            reason = UNSET
        else:
            reason = self.reason

        violation_id: None | str | Unset
        if isinstance(self.violation_id, Unset):
            violation_id = UNSET
        else:
            violation_id = self.violation_id

        matched_rule_ids: list[str] | None | Unset
        if isinstance(self.matched_rule_ids, Unset):
            matched_rule_ids = UNSET
        elif isinstance(self.matched_rule_ids, list):
            matched_rule_ids = self.matched_rule_ids

        else:
            matched_rule_ids = self.matched_rule_ids

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "tool_name": tool_name,
            }
        )
        if agent_id is not UNSET:
            field_dict["agent_id"] = agent_id
        if tenant_id is not UNSET:
            field_dict["tenant_id"] = tenant_id
        if user_id is not UNSET:
            field_dict["user_id"] = user_id
        if session_id is not UNSET:
            field_dict["session_id"] = session_id
        if approved_scope is not UNSET:
            field_dict["approved_scope"] = approved_scope
        if enforcement_mode is not UNSET:
            field_dict["enforcement_mode"] = enforcement_mode
        if decision is not UNSET:
            field_dict["decision"] = decision
        if decision_reason_code is not UNSET:
            field_dict["decision_reason_code"] = decision_reason_code
        if reason is not UNSET:
            field_dict["reason"] = reason
        if violation_id is not UNSET:
            field_dict["violation_id"] = violation_id
        if matched_rule_ids is not UNSET:
            field_dict["matched_rule_ids"] = matched_rule_ids

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        tool_name = d.pop("tool_name")

        agent_id = d.pop("agent_id", UNSET)

        tenant_id = d.pop("tenant_id", UNSET)

        def _parse_user_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        user_id = _parse_user_id(d.pop("user_id", UNSET))

        session_id = d.pop("session_id", UNSET)

        approved_scope = cast(list[str], d.pop("approved_scope", UNSET))

        def _parse_enforcement_mode(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        enforcement_mode = _parse_enforcement_mode(d.pop("enforcement_mode", UNSET))

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

        def _parse_reason(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        reason = _parse_reason(d.pop("reason", UNSET))

        def _parse_violation_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        violation_id = _parse_violation_id(d.pop("violation_id", UNSET))

        def _parse_matched_rule_ids(data: object) -> list[str] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                matched_rule_ids_type_0 = cast(list[str], data)

                return matched_rule_ids_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None | Unset, data)

        matched_rule_ids = _parse_matched_rule_ids(d.pop("matched_rule_ids", UNSET))

        explain_request = cls(
            tool_name=tool_name,
            agent_id=agent_id,
            tenant_id=tenant_id,
            user_id=user_id,
            session_id=session_id,
            approved_scope=approved_scope,
            enforcement_mode=enforcement_mode,
            decision=decision,
            decision_reason_code=decision_reason_code,
            reason=reason,
            violation_id=violation_id,
            matched_rule_ids=matched_rule_ids,
        )

        explain_request.additional_properties = d
        return explain_request

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
