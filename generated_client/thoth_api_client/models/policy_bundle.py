from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.bundle_signature import BundleSignature
    from ..models.policy_bundle_policy import PolicyBundlePolicy


T = TypeVar("T", bound="PolicyBundle")


@_attrs_define
class PolicyBundle:
    """
    Attributes:
        engine_version (int): The policy engine this bundle needs; an SDK with an older engine refuses it.
        policy_version (str): The policy version decisions name (`policy_version` on enforce answers).
        sha256 (str): SHA-256 of the canonical JSON of `policy`.
        issued_at (datetime.datetime):
        policy (PolicyBundlePolicy): The policy document, as the YAML policy file reads (see the README's policy
            format).
        signature (BundleSignature | Unset):
    """

    engine_version: int
    policy_version: str
    sha256: str
    issued_at: datetime.datetime
    policy: PolicyBundlePolicy
    signature: BundleSignature | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        engine_version = self.engine_version

        policy_version = self.policy_version

        sha256 = self.sha256

        issued_at = self.issued_at.isoformat()

        policy = self.policy.to_dict()

        signature: dict[str, Any] | Unset = UNSET
        if not isinstance(self.signature, Unset):
            signature = self.signature.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "engine_version": engine_version,
                "policy_version": policy_version,
                "sha256": sha256,
                "issued_at": issued_at,
                "policy": policy,
            }
        )
        if signature is not UNSET:
            field_dict["signature"] = signature

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.bundle_signature import BundleSignature  # noqa: PLC0415
        from ..models.policy_bundle_policy import PolicyBundlePolicy  # noqa: PLC0415

        d = dict(src_dict)
        engine_version = d.pop("engine_version")

        policy_version = d.pop("policy_version")

        sha256 = d.pop("sha256")

        issued_at = datetime.datetime.fromisoformat(d.pop("issued_at"))

        policy = PolicyBundlePolicy.from_dict(d.pop("policy"))

        _signature = d.pop("signature", UNSET)
        signature: BundleSignature | Unset
        if isinstance(_signature, Unset):
            signature = UNSET
        else:
            signature = BundleSignature.from_dict(_signature)

        policy_bundle = cls(
            engine_version=engine_version,
            policy_version=policy_version,
            sha256=sha256,
            issued_at=issued_at,
            policy=policy,
            signature=signature,
        )

        return policy_bundle
