"""Policy bundles: the enforcer's active policy as data, for decisions in process (pure).

A bundle (the body of ``GET /v1/policy/bundle``)::

    {"engine_version": 1, "policy_version": "3f2a...", "sha256": "<hex>",
     "issued_at": "2026-12-04T10:00:00.000000Z", "policy": {...the policy document...},
     "signature": {"alg": "Ed25519", "key_id": "...", "value": "<base64url>"}}   # optional

``sha256`` is the digest of the canonical JSON of ``policy``; the signature, when the enforcer
has a ``--bundle-signing-key``, signs the canonical JSON of every other field. ``read_bundle``
refuses anything it cannot trust (a digest or signature that does not match, a missing
signature when a key is configured, a newer engine, a policy that does not load) with a
``BundleError`` whose ``reason_code`` says which, so the caller keeps its last good bundle.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, Protocol

import attrs

from thoth import _signing
from thoth.policy.cel import CelEngine
from thoth.policy.load import PolicyError, load_document
from thoth.policy.rules import Policy

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

#: The bundle format and policy language this engine reads; a bundle that needs more is refused.
ENGINE_VERSION: Final = 1
_FIELDS: Final = {"engine_version", "policy_version", "sha256", "issued_at", "policy", "signature"}


class Signer(Protocol):
    """What signs a bundle (``thoth.receipts.ReceiptSigner``: a key with its key id)."""

    key_id: str

    def sign(self, payload: Mapping[str, Any]) -> str: ...


class BundleError(ValueError):
    """A bundle that must not be used; ``reason_code`` is one of the ``bundle_*`` codes."""

    def __init__(self, reason_code: str, message: str) -> None:
        super().__init__(message)
        self.reason_code = reason_code


@attrs.frozen
class Bundle:
    """A bundle that was checked and whose policy loaded."""

    policy: Policy = attrs.field(repr=False)
    policy_version: str
    sha256: str
    issued_at: str
    key_id: str | None  # who signed it, when it was signed
    data: Mapping[str, Any] = attrs.field(repr=False)  # as received: what an on-disk cache keeps


def document_sha256(document: Mapping[str, Any]) -> str:
    return hashlib.sha256(_signing.canonical_json(dict(document))).hexdigest()


def build_bundle(
    document: Mapping[str, Any],
    policy_version: str,
    issued_at: str,
    signer: Signer | None = None,
) -> dict[str, Any]:
    """The bundle of a policy document (the enforcer's side)."""
    bundle: dict[str, Any] = {
        "engine_version": ENGINE_VERSION,
        "policy_version": policy_version,
        "sha256": document_sha256(document),
        "issued_at": issued_at,
        "policy": dict(document),
    }
    if signer is not None:
        bundle["signature"] = {"alg": _signing.ALG, "key_id": signer.key_id, "value": signer.sign(bundle)}
    return bundle


def etag(bundle: Mapping[str, Any]) -> str:
    """The strong ETag of a bundle: its policy's digest and, when signed, the signing key."""
    signature = bundle.get("signature") or {}
    return f'"{bundle["sha256"][:32]}{"." + signature["key_id"] if signature else ""}"'


def parse_bundle(body: bytes | str) -> Any:
    """JSON text to data; a body that is not JSON is a ``bundle_malformed`` BundleError."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BundleError("bundle_malformed", "the bundle is not JSON") from None


def read_bundle(
    data: Any,
    public_key: Ed25519PublicKey | None = None,
    engine: CelEngine | None = None,
    source: str = "bundle",
) -> Bundle:
    """Check a bundle and load its policy; raises BundleError saying what is wrong."""
    if not isinstance(data, dict):
        raise BundleError("bundle_malformed", f"{source}: a bundle is a JSON object")
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise BundleError("bundle_malformed", f"{source}: unknown fields {', '.join(unknown)}")
    engine_version = data.get("engine_version")
    if not isinstance(engine_version, int) or isinstance(engine_version, bool):
        raise BundleError("bundle_malformed", f"{source}: engine_version must be an integer")
    if engine_version > ENGINE_VERSION:
        raise BundleError(
            "bundle_unsupported",
            f"{source}: made for policy engine {engine_version}; this SDK has engine {ENGINE_VERSION}"
            " (upgrade thoth-sdk)",
        )
    version, digest, issued_at, document = _fields(data, source)
    if document_sha256(document) != digest:
        raise BundleError("bundle_malformed", f"{source}: the policy does not match its sha256")
    key_id = _check_signature(data, public_key, source)
    try:
        policy = load_document(document, f"{source} {version}", engine)
    except PolicyError as exc:
        raise BundleError("bundle_invalid", f"the policy does not load: {exc}") from None
    return Bundle(policy, version, digest, issued_at, key_id, data)


def _fields(data: Mapping[str, Any], source: str) -> tuple[str, str, str, dict[str, Any]]:
    values = []
    for name in ("policy_version", "sha256", "issued_at"):
        value = data.get(name)
        if not isinstance(value, str) or not value:
            raise BundleError("bundle_malformed", f"{source}: {name} must be a non-empty string")
        values.append(value)
    document = data.get("policy")
    if not isinstance(document, dict):
        raise BundleError("bundle_malformed", f"{source}: policy must be an object")
    return values[0], values[1], values[2], document


def _check_signature(data: Mapping[str, Any], public_key: Ed25519PublicKey | None, source: str) -> str | None:
    signature = data.get("signature")
    if public_key is None:
        return None  # nothing to check against: the caller chose to trust its transport
    if not isinstance(signature, dict):
        raise BundleError("bundle_unsigned", f"{source}: unsigned, and bundle_public_key is set")
    key_id, value = signature.get("key_id"), signature.get("value")
    if signature.get("alg") != _signing.ALG or not isinstance(value, str):
        raise BundleError("bundle_signature", f"{source}: the signature is not an Ed25519 signature")
    if key_id != _signing.key_id(public_key):
        raise BundleError(
            "bundle_signature", f"{source}: signed by key {key_id!r}, not by the configured bundle_public_key"
        )
    signed = {name: value for name, value in data.items() if name != "signature"}
    if not _signing.verify(public_key, signed, value):
        raise BundleError("bundle_signature", f"{source}: the signature does not verify")
    return str(key_id)
