"""Ed25519 signatures over canonical JSON: keys, key ids, sign and verify.

Generic on purpose (decision receipts use it, policy bundles will): a payload is a JSON
object, signed as its canonical JSON (sorted keys, no spaces, UTF-8, non-ASCII kept), so
any verifier that can produce the same bytes can check a signature without this package.
The cryptography comes from the ``cryptography`` package, imported only here, and only
when a function that needs it is called: importing ``thoth`` never needs it.

No error message, exception argument or repr ever carries key material.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from thoth import _chain

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "ALG",
    "SigningKeyError",
    "canonical_json",
    "generate_private_key",
    "key_id",
    "load_private_key",
    "load_private_key_file",
    "load_public_key",
    "private_key_pem",
    "public_key_pem",
    "sign",
    "verify",
]

ALG: Final = "Ed25519"
_B64URL: Final = re.compile(r"[A-Za-z0-9_-]*")
_INSTALL: Final = "Ed25519 signing needs the cryptography package: pip install 'thoth-sdk[signing]'"


class SigningKeyError(ValueError):
    """A key that cannot be used; the message says what to fix, never what the key is."""


def canonical_json(value: Any) -> bytes:
    """The bytes that are signed: the hash chain's canonical JSON (:mod:`thoth._chain`), with NaN
    and infinities refused (JSON has no spelling for them that every parser agrees on)."""
    return _chain.canonical_json(value, allow_nan=False)


def _require() -> None:
    """Raise a SigningKeyError saying how to install ``cryptography`` when it is missing (the
    SDK core does not depend on it; the ``server`` and ``signing`` extras do)."""
    try:
        import cryptography  # noqa: F401
    except ImportError:
        raise SigningKeyError(_INSTALL) from None


def generate_private_key() -> Ed25519PrivateKey:
    """A new random Ed25519 private key."""
    _require()
    from cryptography.hazmat.primitives.asymmetric import ed25519

    return ed25519.Ed25519PrivateKey.generate()


def load_private_key(data: bytes | str, *, source: str = "the key") -> Ed25519PrivateKey:
    """An Ed25519 private key from unencrypted PKCS8 PEM (``-----BEGIN PRIVATE KEY-----``).

    ``source`` names the key in error messages (a path, say); the key's bytes never appear.
    """
    _require()
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    pem = _pem_bytes(data)
    _check_private_pem(pem, source)
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise SigningKeyError(f"{source} is not a readable unencrypted PKCS8 PEM private key") from None
    except UnsupportedAlgorithm:
        raise SigningKeyError(f"{source} holds a key type this cryptography cannot load") from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise SigningKeyError(f"{source} holds a key of type {_kind(key)}, not Ed25519")
    return key


def _check_private_pem(pem: bytes, source: str) -> None:
    """The mistakes seen most, each with what to do, before the parser's vaguer verdict."""
    if b"-----BEGIN" not in pem:
        raise SigningKeyError(f"{source} is not PEM: expected a '-----BEGIN PRIVATE KEY-----' block")
    if b"PRIVATE KEY-----" not in pem and b"PUBLIC KEY-----" in pem:
        raise SigningKeyError(f"{source} is a public key: signing needs the private key")
    if b"OPENSSH PRIVATE KEY" in pem:
        raise SigningKeyError(f"{source} is in OpenSSH format: give an unencrypted PKCS8 PEM key")
    if b"ENCRYPTED" in pem:
        raise SigningKeyError(f"{source} is encrypted: give an unencrypted PKCS8 PEM key")


def load_private_key_file(path: str | Path) -> Ed25519PrivateKey:
    """An Ed25519 private key from a PKCS8 PEM file; SigningKeyError names the path and the problem."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SigningKeyError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise SigningKeyError(f"{path}: is a directory, not a PEM file") from None
    except OSError as exc:
        raise SigningKeyError(f"{path}: cannot read ({exc.strerror or type(exc).__name__})") from None
    return load_private_key(data, source=str(path))


def load_public_key(data: bytes | str, *, source: str = "the public key") -> Ed25519PublicKey:
    """An Ed25519 public key from PEM (``-----BEGIN PUBLIC KEY-----``, SubjectPublicKeyInfo)."""
    _require()
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    pem = _pem_bytes(data)
    if b"PRIVATE KEY-----" in pem:  # never parse (or echo) a secret given by mistake
        raise SigningKeyError(f"{source} is a private key: give its public key (a '.pub' PEM file)")
    if b"-----BEGIN PUBLIC KEY-----" not in pem:
        raise SigningKeyError(f"{source} is not PEM: expected a '-----BEGIN PUBLIC KEY-----' block")
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError):
        raise SigningKeyError(f"{source} is not a readable PEM public key") from None
    except UnsupportedAlgorithm:
        raise SigningKeyError(f"{source} holds a key type this cryptography cannot load") from None
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise SigningKeyError(f"{source} holds a key of type {_kind(key)}, not Ed25519")
    return key


def _pem_bytes(data: bytes | str) -> bytes:
    return data.encode("utf-8", "replace") if isinstance(data, str) else bytes(data)


def _kind(key: object) -> str:
    """A key's algorithm for a message: ``RSA``, ``EC``... (from its class, never its value)."""
    name = type(key).__name__.removeprefix("_").replace("PrivateKey", "").replace("PublicKey", "")
    return name or "unknown"


def private_key_pem(private_key: Ed25519PrivateKey) -> bytes:
    """The private key as unencrypted PKCS8 PEM, the form ``load_private_key`` reads."""
    from cryptography.hazmat.primitives import serialization

    return private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_key_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The public half as SubjectPublicKeyInfo PEM text (a private key gives its public key)."""
    from cryptography.hazmat.primitives import serialization

    pem = _public(key).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem.decode("ascii")


def key_id(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The first 16 hex of the SHA-256 of the raw 32-byte public key: names a key without showing it."""
    from cryptography.hazmat.primitives import serialization

    raw = _public(key).public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _public(key: Ed25519PrivateKey | Ed25519PublicKey) -> Ed25519PublicKey:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    return key.public_key() if isinstance(key, ed25519.Ed25519PrivateKey) else key


def sign(private_key: Ed25519PrivateKey, payload: Mapping[str, Any]) -> str:
    """The Ed25519 signature of ``canonical_json(payload)``, base64url without padding."""
    signature = private_key.sign(canonical_json(dict(payload)))
    return base64.urlsafe_b64encode(signature).rstrip(b"=").decode("ascii")


def verify(public_key: Ed25519PublicKey, payload: Mapping[str, Any], signature: str) -> bool:
    """True when ``signature`` (base64url without padding) signs ``canonical_json(payload)``.

    False for any signature that does not verify, including one that is not canonical
    base64url or not 64 bytes long: a caller only needs to know whether to trust the payload.
    """
    from cryptography.exceptions import InvalidSignature

    raw = _b64url_decode(signature)
    if raw is None or len(raw) != 64:
        return False
    try:
        message = canonical_json(dict(payload))
    except (TypeError, ValueError):  # not JSON: nothing this module could have signed
        return False
    try:
        public_key.verify(raw, message)
    except InvalidSignature:
        return False
    return True


def _b64url_decode(text: str) -> bytes | None:
    """The bytes of canonical unpadded base64url text, else None: one signature has one spelling."""
    if not isinstance(text, str) or not _B64URL.fullmatch(text):
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    return raw if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") == text else None
