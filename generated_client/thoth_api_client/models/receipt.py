from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.receipt_alg import ReceiptAlg

if TYPE_CHECKING:
    from ..models.receipt_claims import ReceiptClaims


T = TypeVar("T", bound="Receipt")


@_attrs_define
class Receipt:
    """An Ed25519 signature (base64url, no padding) over the canonical JSON (sorted keys, separators `,` and `:` with no
    spaces, UTF-8, non-ASCII characters written as themselves, not `\\u` escapes) of `{version, alg, key_id, claims}`.
    Other fields are not signed.

        Attributes:
            version (str):  Example: thoth.receipt.v1.
            alg (ReceiptAlg):
            key_id (str): First 16 hex of the SHA-256 of the raw 32-byte public key.
            claims (ReceiptClaims): tenant_id, agent_id, session_id, tool_name, args_sha256 (SHA-256 hex of the canonical
                JSON of the request's `tool_args`), decision, decision_reason_code, matched_rule_ids, policy_version, issued_at
                (RFC 3339, UTC, `Z`), and violation_id / hold_token when present; for MODIFY, modified_args_sha256 (of
                `modified_tool_args`).
            signature (str):
    """

    version: str
    alg: ReceiptAlg
    key_id: str
    claims: ReceiptClaims
    signature: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        version = self.version

        alg = self.alg.value

        key_id = self.key_id

        claims = self.claims.to_dict()

        signature = self.signature

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "version": version,
                "alg": alg,
                "key_id": key_id,
                "claims": claims,
                "signature": signature,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.receipt_claims import ReceiptClaims  # noqa: PLC0415

        d = dict(src_dict)
        version = d.pop("version")

        alg = ReceiptAlg(d.pop("alg"))

        key_id = d.pop("key_id")

        claims = ReceiptClaims.from_dict(d.pop("claims"))

        signature = d.pop("signature")

        receipt = cls(
            version=version,
            alg=alg,
            key_id=key_id,
            claims=claims,
            signature=signature,
        )

        receipt.additional_properties = d
        return receipt

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
