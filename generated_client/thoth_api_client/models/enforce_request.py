from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.enforcement_mode import EnforcementMode
from ..types import UNSET, Unset

T = TypeVar("T", bound="EnforceRequest")


@_attrs_define
class EnforceRequest:
    """
    Example:
        {'agent_id': 'billing-agent', 'tenant_id': 'acme-corp', 'tool_name': 'read_file', 'session_id':
            '7f0c2a52-8f0e-4c4e-9a53-3f1a1f0b6f0d'}

    Attributes:
        agent_id (str):
        tenant_id (str):
        tool_name (str):  Example: send_email.
        session_id (str):
        user_id (str | Unset):  Default: 'system'.
        session_tool_calls (list[str] | Unset): Tool names already called in this session, the pending one last.
        approved_scope (list[str] | Unset):
        enforcement_mode (EnforcementMode | Unset):  Example: progressive.
        environment (str | Unset):  Default: 'prod'.
        enforcement_trace_id (str | Unset): Defaults to the session id.
        tool_args (Any | Unset): The call's arguments, as the tool will receive them (a JSON object).
        session_intent (str | Unset):
        purpose (str | Unset):
        data_classification (str | Unset):
        task_context (Any | str | Unset): Free text, or (atensec-thoth 0.5) an object such as `{initiated_by, task_id,
            chain}`.
        action_attestation_id (str | Unset): One fresh id per call. The server takes it as the decision's `decision_id`
            (thoth's SDK sends the call id its events carry, so decision and events join).
        identity_binding (Any | Unset): The identity the caller binds the call to (atensec-thoth 0.5). Any of
            `agent_id`, `tenant_id`, `user_id` it names must equal the request's own, else the call is refused (BLOCK,
            `identity_mismatch`).
    """

    agent_id: str
    tenant_id: str
    tool_name: str
    session_id: str
    user_id: str | Unset = "system"
    session_tool_calls: list[str] | Unset = UNSET
    approved_scope: list[str] | Unset = UNSET
    enforcement_mode: EnforcementMode | Unset = UNSET
    environment: str | Unset = "prod"
    enforcement_trace_id: str | Unset = UNSET
    tool_args: Any | Unset = UNSET
    session_intent: str | Unset = UNSET
    purpose: str | Unset = UNSET
    data_classification: str | Unset = UNSET
    task_context: Any | str | Unset = UNSET
    action_attestation_id: str | Unset = UNSET
    identity_binding: Any | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        agent_id = self.agent_id

        tenant_id = self.tenant_id

        tool_name = self.tool_name

        session_id = self.session_id

        user_id = self.user_id

        session_tool_calls: list[str] | Unset = UNSET
        if not isinstance(self.session_tool_calls, Unset):
            session_tool_calls = self.session_tool_calls

        approved_scope: list[str] | Unset = UNSET
        if not isinstance(self.approved_scope, Unset):
            approved_scope = self.approved_scope

        enforcement_mode: str | Unset = UNSET
        if not isinstance(self.enforcement_mode, Unset):
            enforcement_mode = self.enforcement_mode.value

        environment = self.environment

        enforcement_trace_id = self.enforcement_trace_id

        tool_args = self.tool_args

        session_intent = self.session_intent

        purpose = self.purpose

        data_classification = self.data_classification

        task_context: Any | str | Unset
        if isinstance(self.task_context, Unset):
            task_context = UNSET
        else:
            task_context = self.task_context

        action_attestation_id = self.action_attestation_id

        identity_binding = self.identity_binding

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "agent_id": agent_id,
                "tenant_id": tenant_id,
                "tool_name": tool_name,
                "session_id": session_id,
            }
        )
        if user_id is not UNSET:
            field_dict["user_id"] = user_id
        if session_tool_calls is not UNSET:
            field_dict["session_tool_calls"] = session_tool_calls
        if approved_scope is not UNSET:
            field_dict["approved_scope"] = approved_scope
        if enforcement_mode is not UNSET:
            field_dict["enforcement_mode"] = enforcement_mode
        if environment is not UNSET:
            field_dict["environment"] = environment
        if enforcement_trace_id is not UNSET:
            field_dict["enforcement_trace_id"] = enforcement_trace_id
        if tool_args is not UNSET:
            field_dict["tool_args"] = tool_args
        if session_intent is not UNSET:
            field_dict["session_intent"] = session_intent
        if purpose is not UNSET:
            field_dict["purpose"] = purpose
        if data_classification is not UNSET:
            field_dict["data_classification"] = data_classification
        if task_context is not UNSET:
            field_dict["task_context"] = task_context
        if action_attestation_id is not UNSET:
            field_dict["action_attestation_id"] = action_attestation_id
        if identity_binding is not UNSET:
            field_dict["identity_binding"] = identity_binding

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        agent_id = d.pop("agent_id")

        tenant_id = d.pop("tenant_id")

        tool_name = d.pop("tool_name")

        session_id = d.pop("session_id")

        user_id = d.pop("user_id", UNSET)

        session_tool_calls = cast(list[str], d.pop("session_tool_calls", UNSET))

        approved_scope = cast(list[str], d.pop("approved_scope", UNSET))

        _enforcement_mode = d.pop("enforcement_mode", UNSET)
        enforcement_mode: EnforcementMode | Unset
        if isinstance(_enforcement_mode, Unset):
            enforcement_mode = UNSET
        else:
            enforcement_mode = EnforcementMode(_enforcement_mode)

        environment = d.pop("environment", UNSET)

        enforcement_trace_id = d.pop("enforcement_trace_id", UNSET)

        tool_args = d.pop("tool_args", UNSET)

        session_intent = d.pop("session_intent", UNSET)

        purpose = d.pop("purpose", UNSET)

        data_classification = d.pop("data_classification", UNSET)

        def _parse_task_context(data: object) -> Any | str | Unset:
            if isinstance(data, Unset):
                return data
            return cast(Any | str | Unset, data)

        task_context = _parse_task_context(d.pop("task_context", UNSET))

        action_attestation_id = d.pop("action_attestation_id", UNSET)

        identity_binding = d.pop("identity_binding", UNSET)

        enforce_request = cls(
            agent_id=agent_id,
            tenant_id=tenant_id,
            tool_name=tool_name,
            session_id=session_id,
            user_id=user_id,
            session_tool_calls=session_tool_calls,
            approved_scope=approved_scope,
            enforcement_mode=enforcement_mode,
            environment=environment,
            enforcement_trace_id=enforcement_trace_id,
            tool_args=tool_args,
            session_intent=session_intent,
            purpose=purpose,
            data_classification=data_classification,
            task_context=task_context,
            action_attestation_id=action_attestation_id,
            identity_binding=identity_binding,
        )

        enforce_request.additional_properties = d
        return enforce_request

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
