from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..models.bundle_signature_alg import BundleSignatureAlg

T = TypeVar("T", bound="BundleSignature")


@_attrs_define
class BundleSignature:
    """
    Attributes:
        alg (BundleSignatureAlg):
        key_id (str):
        value (str): The signature, base64url without padding.
    """

    alg: BundleSignatureAlg
    key_id: str
    value: str

    def to_dict(self) -> dict[str, Any]:
        alg = self.alg.value

        key_id = self.key_id

        value = self.value

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "alg": alg,
                "key_id": key_id,
                "value": value,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        alg = BundleSignatureAlg(d.pop("alg"))

        key_id = d.pop("key_id")

        value = d.pop("value")

        bundle_signature = cls(
            alg=alg,
            key_id=key_id,
            value=value,
        )

        return bundle_signature
