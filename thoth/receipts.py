"""Signed decision receipts: proof, checkable offline, of what a Thoth server decided for a call.

A server started with ``--receipt-signing-key`` adds a ``receipt`` to every ``/v1/enforce``
answer::

    {"version": "thoth.receipt.v1", "alg": "Ed25519", "key_id": "<16 hex>",
     "claims": {...}, "signature": "<base64url, no padding>"}

The signature is Ed25519 over the canonical JSON (sorted keys, separators ``(",", ":")``,
UTF-8, non-ASCII kept) of ``{version, alg, key_id, claims}``; ``key_id`` is the first 16 hex
of the SHA-256 of the raw 32-byte public key. The claims name the call (tenant, agent,
session, tool, the SHA-256 of its canonical arguments) and the decision (decision, reason
code, matched rules, policy version, ``issued_at``; ``decision_id`` (the id the call's events
carry), ``violation_id``, ``hold_token`` and, for MODIFY, ``modified_args_sha256`` when present).

Verify one with the server's key (``GET /v1/receipts/public-key``, or the ``.pub`` file that
``thoth receipt keygen`` wrote)::

    from thoth.receipts import verify_receipt, check_call

    verified = verify_receipt(decision.receipt, public_key_pem)  # raises ReceiptError
    check_call(verified, "send_email", {"to": "bob@example.com"})  # the call it claims

Verifying needs the ``cryptography`` package (``pip install 'thoth-sdk[signing]'``); it is
imported only when a receipt is issued or verified, so ``import thoth`` never needs it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from thoth import _signing
from thoth._signing import SigningKeyError, canonical_json

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

__all__ = [
    "ALG",
    "VERSION",
    "ReceiptError",
    "ReceiptSigner",
    "VerifiedReceipt",
    "args_sha256",
    "build_claims",
    "check_call",
    "issue",
    "verify_receipt",
]

VERSION: Final = "thoth.receipt.v1"
ALG: Final = _signing.ALG
#: Claims every receipt of this version carries, with the JSON types they must have.
REQUIRED_CLAIMS: Final[Mapping[str, type | tuple[type, ...]]] = {
    "tenant_id": str,
    "agent_id": str,
    "session_id": str,
    "tool_name": str,
    "args_sha256": str,
    "decision": str,
    "decision_reason_code": (str, type(None)),
    "matched_rule_ids": list,
    "policy_version": (str, type(None)),
    "issued_at": str,
}
_SHA256_HEX: Final = re.compile(r"[0-9a-f]{64}")


class ReceiptError(ValueError):
    """A receipt that must not be trusted. ``reason`` is one of ``malformed``,
    ``unknown_version``, ``unknown_alg``, ``bad_public_key``, ``key_id_mismatch``,
    ``bad_signature`` or ``call_mismatch``; the message says what was found."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class VerifiedReceipt:
    """A receipt whose signature checked out: its claims are what the key's holder signed."""

    key_id: str
    claims: Mapping[str, Any]
    issued_at: dt.datetime
    signature: str = field(repr=False)

    @property
    def decision(self) -> str:
        return str(self.claims["decision"])

    @property
    def tool_name(self) -> str:
        return str(self.claims["tool_name"])

    @property
    def decision_id(self) -> str | None:
        """The call's decision id (receipts from servers before it was signed have none)."""
        value = self.claims.get("decision_id")
        return value if isinstance(value, str) else None


# -- issuing ----------------------------------------------------------------------------------------


def args_sha256(tool_args: Mapping[str, Any] | None) -> str:
    """SHA-256 hex of the canonical JSON of a call's arguments (no arguments: ``{}``), the digest
    a receipt and a step-up hold name the arguments by."""
    return hashlib.sha256(canonical_json(dict(tool_args or {}))).hexdigest()


def iso_utc(moment: float | dt.datetime) -> str:
    """RFC 3339 in UTC with a ``Z`` and microseconds: one spelling for one instant."""
    if isinstance(moment, dt.datetime):
        if moment.tzinfo is None:
            raise ValueError("issued_at must be timezone-aware")
        when = moment.astimezone(dt.UTC)
    else:
        when = dt.datetime.fromtimestamp(moment, dt.UTC)
    return when.isoformat(timespec="microseconds").replace("+00:00", "Z")


def build_claims(
    *,
    tenant_id: str,
    agent_id: str,
    session_id: str,
    tool_name: str,
    tool_args: Mapping[str, Any] | None,
    decision: str,
    decision_reason_code: str | None,
    matched_rule_ids: Sequence[str],
    policy_version: str | None,
    issued_at: float | dt.datetime,
    decision_id: str | None = None,
    violation_id: str | None = None,
    hold_token: str | None = None,
    modified_tool_args: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The claims of one decision. The arguments are named by their digest only, so a receipt
    can be kept or shown without the (possibly secret) arguments themselves."""
    claims: dict[str, Any] = {
        "tenant_id": tenant_id,
        "agent_id": agent_id,
        "session_id": session_id,
        "tool_name": tool_name,
        "args_sha256": args_sha256(tool_args),
        "decision": decision,
        "decision_reason_code": decision_reason_code,
        "matched_rule_ids": list(matched_rule_ids),
        "policy_version": policy_version,
        "issued_at": iso_utc(issued_at),
    }
    if decision_id is not None:  # joins the receipt to the call's events and stored decision
        claims["decision_id"] = decision_id
    if violation_id is not None:
        claims["violation_id"] = violation_id
    if hold_token is not None:
        claims["hold_token"] = hold_token
    if modified_tool_args is not None:  # MODIFY: what the call ran with, not only what it asked
        claims["modified_args_sha256"] = args_sha256(modified_tool_args)
    return claims


class ReceiptSigner:
    """A private key with its key id and public PEM worked out once (a server signs every
    decision with it). The repr names the key id only."""

    __slots__ = ("_private_key", "key_id", "public_key_pem")

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private_key = private_key
        self.key_id = _signing.key_id(private_key)
        self.public_key_pem = _signing.public_key_pem(private_key)

    @classmethod
    def from_file(cls, path: str) -> ReceiptSigner:
        """Raises SigningKeyError saying what is wrong with the file (never what is in it)."""
        return cls(_signing.load_private_key_file(path))

    def public_key(self) -> dict[str, str]:
        """The body of ``GET /v1/receipts/public-key``."""
        return {"key_id": self.key_id, "alg": ALG, "public_key_pem": self.public_key_pem}

    def issue(self, claims: Mapping[str, Any]) -> dict[str, Any]:
        """The receipt for ``claims``."""
        signed = {"version": VERSION, "alg": ALG, "key_id": self.key_id, "claims": dict(claims)}
        return signed | {"signature": self.sign(signed)}

    def sign(self, payload: Mapping[str, Any]) -> str:
        """The signature of any JSON object (policy bundles are signed with it too)."""
        return _signing.sign(self._private_key, payload)

    def __repr__(self) -> str:
        return f"ReceiptSigner(key_id={self.key_id!r})"


def issue(signer_key: Ed25519PrivateKey | ReceiptSigner, claims: Mapping[str, Any]) -> dict[str, Any]:
    """Sign ``claims`` into a receipt. Pass a ReceiptSigner to sign many: a bare key has its key
    id worked out on every call."""
    signer = signer_key if isinstance(signer_key, ReceiptSigner) else ReceiptSigner(signer_key)
    return signer.issue(claims)


# -- verifying --------------------------------------------------------------------------------------


def verify_receipt(receipt: Mapping[str, Any], public_key_pem: str | bytes) -> VerifiedReceipt:
    """Check a receipt against the public key (PEM) of the server that should have signed it.

    Raises ReceiptError, its ``reason`` saying why the receipt must not be trusted. Fields
    beside the five of the receipt are ignored: they are not signed.
    """
    version, alg, key_id, claims, signature = _parts(receipt)
    if version != VERSION:
        raise ReceiptError("unknown_version", f"unknown receipt version {_show(version)} (this is {VERSION})")
    if alg != ALG:
        raise ReceiptError("unknown_alg", f"unknown signature algorithm {_show(alg)} (expected {ALG})")
    try:
        public_key = _signing.load_public_key(public_key_pem)
    except SigningKeyError as exc:
        raise ReceiptError("bad_public_key", str(exc)) from None
    expected = _signing.key_id(public_key)
    if key_id != expected:
        raise ReceiptError(
            "key_id_mismatch", f"the receipt names key {_show(key_id)}, the public key given is {expected}"
        )
    signed = {"version": version, "alg": alg, "key_id": key_id, "claims": claims}
    if not _signing.verify(public_key, signed, signature):
        raise ReceiptError("bad_signature", "the signature does not match the receipt's content")
    issued_at = _check_claims(claims)
    return VerifiedReceipt(key_id=key_id, claims=claims, issued_at=issued_at, signature=signature)


def check_call(
    receipt: VerifiedReceipt, tool_name: str, tool_args: Mapping[str, Any] | None
) -> VerifiedReceipt:
    """Check that a verified receipt is about this call: same tool, same arguments (by digest).

    A valid receipt proves what the server decided for *some* call; this proves it was *this*
    one. Raises ReceiptError("call_mismatch"); returns the receipt for chaining.
    """
    claimed_tool = receipt.claims.get("tool_name")
    if claimed_tool != tool_name:
        raise ReceiptError(
            "call_mismatch", f"the receipt is for tool {_show(claimed_tool)}, not {_show(tool_name)}"
        )
    digest = args_sha256(tool_args)
    if receipt.claims.get("args_sha256") != digest:
        raise ReceiptError("call_mismatch", "the receipt is for other arguments (args_sha256 differs)")
    return receipt


def _parts(receipt: Any) -> tuple[str, str, str, dict[str, Any], str]:
    if not isinstance(receipt, Mapping):
        raise ReceiptError("malformed", f"a receipt is a JSON object, not {type(receipt).__name__}")
    missing = [name for name in ("version", "alg", "key_id", "claims", "signature") if name not in receipt]
    if missing:
        raise ReceiptError("malformed", f"the receipt has no {', '.join(missing)}")
    version, alg, key_id, claims, signature = (
        receipt[name] for name in ("version", "alg", "key_id", "claims", "signature")
    )
    for name, value in (("version", version), ("alg", alg), ("key_id", key_id), ("signature", signature)):
        if not isinstance(value, str):
            raise ReceiptError("malformed", f"the receipt's {name} is not a string")
    if not isinstance(claims, Mapping):
        raise ReceiptError("malformed", "the receipt's claims are not a JSON object")
    return version, alg, key_id, dict(claims), signature


def _check_claims(claims: Mapping[str, Any]) -> dt.datetime:
    """The claims a signature vouches for must still be ones this version defines."""
    for name, kind in REQUIRED_CLAIMS.items():
        if name not in claims:
            raise ReceiptError("malformed", f"the receipt's claims have no {name}")
        if not isinstance(claims[name], kind):
            raise ReceiptError("malformed", f"the receipt's claim {name} has the wrong type")
    if not _SHA256_HEX.fullmatch(claims["args_sha256"]):
        raise ReceiptError("malformed", "the receipt's args_sha256 is not a lowercase hex SHA-256")
    text = claims["issued_at"]
    try:
        issued_at = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ReceiptError("malformed", f"the receipt's issued_at is not RFC 3339: {_show(text)}") from None
    if issued_at.tzinfo is None or not text.endswith("Z"):
        raise ReceiptError("malformed", "the receipt's issued_at is not in UTC ('Z')")
    return issued_at


def _show(value: object) -> str:
    """A value from an untrusted receipt, bounded and quoted, for a message."""
    return repr(value)[:80]
