from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.decision import Decision
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.receipt import Receipt


T = TypeVar("T", bound="EnforceResponse")


@_attrs_define
class EnforceResponse:
    """Read tolerantly. Servers have been seen answering aliases (DENY,
    CHALLENGE, ESCALATE, REVIEW, MODIFIED, TRANSFORM, DEFERRED, HOLD),
    `authorization_decision` in place of `decision`, and camelCase keys.

        Example:
            {'decision': 'ALLOW', 'reason': 'in approved scope', 'decision_reason_code': 'IN_SCOPE', 'matched_rule_ids':
                ['builtin.scope']}

        Attributes:
            decision (Decision | str | Unset): One of `Decision`, or a string the client does not know (treat as BLOCK).
            reason (None | str | Unset):
            violation_id (None | str | Unset):
            decision_id (None | str | Unset): This decision's id (like OPA's `decision_id`): the request's
                `action_attestation_id` when it sent one, else made by the server. Stored with the decision and its hold, and
                carried by every event of the call.
            hold_token (None | str | Unset):
            hold_ref (None | str | Unset): A STEP_UP's hold, named without its token (safe to log or share).
            approval_url (None | str | Unset): A STEP_UP's page in the approvals console, when the server knows its public
                address (`thoth serve --public-url`). It names the hold by `hold_ref`, never by its token, and needs an admin's
                sign-in.
            modified_tool_args (Any | Unset):
            modification_reason (None | str | Unset):
            defer_reason (None | str | Unset):
            defer_timeout_seconds (float | None | Unset):
            step_up_timeout_seconds (float | None | Unset):
            decision_reason_code (None | str | Unset):
            action_classification (None | str | Unset):
            authorization_decision (None | str | Unset):
            risk_score (float | None | Unset):
            latency_ms (float | None | Unset):
            matched_rule_ids (list[str] | None | Unset):
            policy_references (list[str] | None | Unset): Where the decision comes from: `policy:<policy_version>#<rule id>`
                for each matched rule.
            policy_version (None | str | Unset): The first 16 hex of the SHA-256 of the active policy's text (`builtin`
                without a file).
            decision_envelope_version (None | str | Unset): The version of this answer's shape; `1` today.
            receipt (None | Receipt | Unset): When the server has a receipt signing key: an Ed25519 signature over this
                decision, verifiable offline with `thoth receipt verify` and the key of `GET /v1/receipts/public-key`.
            shadow_decision (None | str | Unset): In observe mode, the decision the policy would have taken.
    """

    decision: Decision | str | Unset = UNSET
    reason: None | str | Unset = UNSET
    violation_id: None | str | Unset = UNSET
    decision_id: None | str | Unset = UNSET
    hold_token: None | str | Unset = UNSET
    hold_ref: None | str | Unset = UNSET
    approval_url: None | str | Unset = UNSET
    modified_tool_args: Any | Unset = UNSET
    modification_reason: None | str | Unset = UNSET
    defer_reason: None | str | Unset = UNSET
    defer_timeout_seconds: float | None | Unset = UNSET
    step_up_timeout_seconds: float | None | Unset = UNSET
    decision_reason_code: None | str | Unset = UNSET
    action_classification: None | str | Unset = UNSET
    authorization_decision: None | str | Unset = UNSET
    risk_score: float | None | Unset = UNSET
    latency_ms: float | None | Unset = UNSET
    matched_rule_ids: list[str] | None | Unset = UNSET
    policy_references: list[str] | None | Unset = UNSET
    policy_version: None | str | Unset = UNSET
    decision_envelope_version: None | str | Unset = UNSET
    receipt: None | Receipt | Unset = UNSET
    shadow_decision: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.receipt import Receipt  # noqa: PLC0415

        decision: str | Unset
        if isinstance(self.decision, Unset):
            decision = UNSET
        elif isinstance(self.decision, Decision):
            decision = self.decision.value
        else:
            decision = self.decision

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

        decision_id: None | str | Unset
        if isinstance(self.decision_id, Unset):
            decision_id = UNSET
        else:
            decision_id = self.decision_id

        hold_token: None | str | Unset
        if isinstance(self.hold_token, Unset):
            hold_token = UNSET
        else:
            hold_token = self.hold_token

        hold_ref: None | str | Unset
        if isinstance(self.hold_ref, Unset):
            hold_ref = UNSET
        else:
            hold_ref = self.hold_ref

        approval_url: None | str | Unset
        if isinstance(self.approval_url, Unset):
            approval_url = UNSET
        else:
            approval_url = self.approval_url

        modified_tool_args = self.modified_tool_args

        modification_reason: None | str | Unset
        if isinstance(self.modification_reason, Unset):
            modification_reason = UNSET
        else:
            modification_reason = self.modification_reason

        defer_reason: None | str | Unset
        if isinstance(self.defer_reason, Unset):
            defer_reason = UNSET
        else:
            defer_reason = self.defer_reason

        defer_timeout_seconds: float | None | Unset
        if isinstance(self.defer_timeout_seconds, Unset):
            defer_timeout_seconds = UNSET
        else:
            defer_timeout_seconds = self.defer_timeout_seconds

        step_up_timeout_seconds: float | None | Unset
        if isinstance(self.step_up_timeout_seconds, Unset):
            step_up_timeout_seconds = UNSET
        else:
            step_up_timeout_seconds = self.step_up_timeout_seconds

        decision_reason_code: None | str | Unset
        if isinstance(self.decision_reason_code, Unset):
            decision_reason_code = UNSET
        else:
            decision_reason_code = self.decision_reason_code

        action_classification: None | str | Unset
        if isinstance(self.action_classification, Unset):
            action_classification = UNSET
        else:
            action_classification = self.action_classification

        authorization_decision: None | str | Unset
        if isinstance(self.authorization_decision, Unset):
            authorization_decision = UNSET
        else:
            authorization_decision = self.authorization_decision

        risk_score: float | None | Unset
        if isinstance(self.risk_score, Unset):
            risk_score = UNSET
        else:
            risk_score = self.risk_score

        latency_ms: float | None | Unset
        if isinstance(self.latency_ms, Unset):
            latency_ms = UNSET
        else:
            latency_ms = self.latency_ms

        matched_rule_ids: list[str] | None | Unset
        if isinstance(self.matched_rule_ids, Unset):
            matched_rule_ids = UNSET
        elif isinstance(self.matched_rule_ids, list):
            matched_rule_ids = self.matched_rule_ids

        else:
            matched_rule_ids = self.matched_rule_ids

        policy_references: list[str] | None | Unset
        if isinstance(self.policy_references, Unset):
            policy_references = UNSET
        elif isinstance(self.policy_references, list):
            policy_references = self.policy_references

        else:
            policy_references = self.policy_references

        policy_version: None | str | Unset
        if isinstance(self.policy_version, Unset):
            policy_version = UNSET
        else:
            policy_version = self.policy_version

        decision_envelope_version: None | str | Unset
        if isinstance(self.decision_envelope_version, Unset):
            decision_envelope_version = UNSET
        else:
            decision_envelope_version = self.decision_envelope_version

        receipt: dict[str, Any] | None | Unset
        if isinstance(self.receipt, Unset):
            receipt = UNSET
        elif isinstance(self.receipt, Receipt):
            receipt = self.receipt.to_dict()
        else:
            receipt = self.receipt

        shadow_decision: None | str | Unset
        if isinstance(self.shadow_decision, Unset):
            shadow_decision = UNSET
        else:
            shadow_decision = self.shadow_decision

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if decision is not UNSET:
            field_dict["decision"] = decision
        if reason is not UNSET:
            field_dict["reason"] = reason
        if violation_id is not UNSET:
            field_dict["violation_id"] = violation_id
        if decision_id is not UNSET:
            field_dict["decision_id"] = decision_id
        if hold_token is not UNSET:
            field_dict["hold_token"] = hold_token
        if hold_ref is not UNSET:
            field_dict["hold_ref"] = hold_ref
        if approval_url is not UNSET:
            field_dict["approval_url"] = approval_url
        if modified_tool_args is not UNSET:
            field_dict["modified_tool_args"] = modified_tool_args
        if modification_reason is not UNSET:
            field_dict["modification_reason"] = modification_reason
        if defer_reason is not UNSET:
            field_dict["defer_reason"] = defer_reason
        if defer_timeout_seconds is not UNSET:
            field_dict["defer_timeout_seconds"] = defer_timeout_seconds
        if step_up_timeout_seconds is not UNSET:
            field_dict["step_up_timeout_seconds"] = step_up_timeout_seconds
        if decision_reason_code is not UNSET:
            field_dict["decision_reason_code"] = decision_reason_code
        if action_classification is not UNSET:
            field_dict["action_classification"] = action_classification
        if authorization_decision is not UNSET:
            field_dict["authorization_decision"] = authorization_decision
        if risk_score is not UNSET:
            field_dict["risk_score"] = risk_score
        if latency_ms is not UNSET:
            field_dict["latency_ms"] = latency_ms
        if matched_rule_ids is not UNSET:
            field_dict["matched_rule_ids"] = matched_rule_ids
        if policy_references is not UNSET:
            field_dict["policy_references"] = policy_references
        if policy_version is not UNSET:
            field_dict["policy_version"] = policy_version
        if decision_envelope_version is not UNSET:
            field_dict["decision_envelope_version"] = decision_envelope_version
        if receipt is not UNSET:
            field_dict["receipt"] = receipt
        if shadow_decision is not UNSET:
            field_dict["shadow_decision"] = shadow_decision

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.receipt import Receipt  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_decision(data: object) -> Decision | str | Unset:
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                decision_type_0 = Decision(data)

                return decision_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Decision | str | Unset, data)

        decision = _parse_decision(d.pop("decision", UNSET))

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

        def _parse_decision_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        decision_id = _parse_decision_id(d.pop("decision_id", UNSET))

        def _parse_hold_token(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        hold_token = _parse_hold_token(d.pop("hold_token", UNSET))

        def _parse_hold_ref(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        hold_ref = _parse_hold_ref(d.pop("hold_ref", UNSET))

        def _parse_approval_url(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        approval_url = _parse_approval_url(d.pop("approval_url", UNSET))

        modified_tool_args = d.pop("modified_tool_args", UNSET)

        def _parse_modification_reason(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        modification_reason = _parse_modification_reason(
            d.pop("modification_reason", UNSET)
        )

        def _parse_defer_reason(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        defer_reason = _parse_defer_reason(d.pop("defer_reason", UNSET))

        def _parse_defer_timeout_seconds(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        defer_timeout_seconds = _parse_defer_timeout_seconds(
            d.pop("defer_timeout_seconds", UNSET)
        )

        def _parse_step_up_timeout_seconds(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        step_up_timeout_seconds = _parse_step_up_timeout_seconds(
            d.pop("step_up_timeout_seconds", UNSET)
        )

        def _parse_decision_reason_code(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        decision_reason_code = _parse_decision_reason_code(
            d.pop("decision_reason_code", UNSET)
        )

        def _parse_action_classification(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        action_classification = _parse_action_classification(
            d.pop("action_classification", UNSET)
        )

        def _parse_authorization_decision(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        authorization_decision = _parse_authorization_decision(
            d.pop("authorization_decision", UNSET)
        )

        def _parse_risk_score(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        risk_score = _parse_risk_score(d.pop("risk_score", UNSET))

        def _parse_latency_ms(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        latency_ms = _parse_latency_ms(d.pop("latency_ms", UNSET))

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

        def _parse_policy_references(data: object) -> list[str] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                policy_references_type_0 = cast(list[str], data)

                return policy_references_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None | Unset, data)

        policy_references = _parse_policy_references(d.pop("policy_references", UNSET))

        def _parse_policy_version(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        policy_version = _parse_policy_version(d.pop("policy_version", UNSET))

        def _parse_decision_envelope_version(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        decision_envelope_version = _parse_decision_envelope_version(
            d.pop("decision_envelope_version", UNSET)
        )

        def _parse_receipt(data: object) -> None | Receipt | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                receipt_type_0 = Receipt.from_dict(data)

                return receipt_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Receipt | Unset, data)

        receipt = _parse_receipt(d.pop("receipt", UNSET))

        def _parse_shadow_decision(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        shadow_decision = _parse_shadow_decision(d.pop("shadow_decision", UNSET))

        enforce_response = cls(
            decision=decision,
            reason=reason,
            violation_id=violation_id,
            decision_id=decision_id,
            hold_token=hold_token,
            hold_ref=hold_ref,
            approval_url=approval_url,
            modified_tool_args=modified_tool_args,
            modification_reason=modification_reason,
            defer_reason=defer_reason,
            defer_timeout_seconds=defer_timeout_seconds,
            step_up_timeout_seconds=step_up_timeout_seconds,
            decision_reason_code=decision_reason_code,
            action_classification=action_classification,
            authorization_decision=authorization_decision,
            risk_score=risk_score,
            latency_ms=latency_ms,
            matched_rule_ids=matched_rule_ids,
            policy_references=policy_references,
            policy_version=policy_version,
            decision_envelope_version=decision_envelope_version,
            receipt=receipt,
            shadow_decision=shadow_decision,
        )

        enforce_response.additional_properties = d
        return enforce_response

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
