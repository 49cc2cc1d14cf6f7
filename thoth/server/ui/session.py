"""The console's sign-in as data (pure): the key material, the cookie's contents, CSRF tokens.

One per-server secret, kept in the store so every replica shares it (``store.server_secret``),
gives two keys by HKDF: one seals the session cookie (Fernet: AES-128-CBC and HMAC-SHA256,
with the time it was sealed, so a cookie expires however long the browser keeps it), one
makes CSRF tokens (HMAC-SHA256 of the form's purpose and the session). A cookie holds only a
random session id; the store keeps a digest of that id and the KeyRing's digest of the key,
never the key. Signing out deletes the row, so the cookie stops working on every replica, and a
key taken out of the config ends its sign-ins at the next request.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from typing import Final, TypeGuard

import attrs
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

#: the store's name for the console's master secret (thoth_secrets)
SECRET_NAME: Final = "console.master"  # noqa: S105 - a row name, not a secret
SESSION_COOKIE: Final = "thoth_console"
#: a random nonce set with the sign-in form: its token proves the form came from this console
LOGIN_COOKIE: Final = "thoth_console_login"
SESSION_SECONDS: Final = 8 * 3600
LOGIN_SECONDS: Final = 3600
#: what a CSRF token is for: the sign-in form, or every form of one signed-in session
LOGIN: Final = "login"
SESSION: Final = "session"
_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


@attrs.frozen
class ConsoleKeys:
    """The two keys derived from the server's console secret."""

    cookie: Fernet = attrs.field(repr=False)
    csrf: bytes = attrs.field(repr=False)

    @classmethod
    def derive(cls, master: str) -> ConsoleKeys:
        """Both keys from the stored secret (URL-safe base64); a different ``info`` for each, so
        neither key says anything about the other."""
        raw = base64.urlsafe_b64decode(master.encode("ascii"))
        return cls(
            Fernet(base64.urlsafe_b64encode(_hkdf(raw, b"thoth console cookie"))),
            _hkdf(raw, b"thoth console csrf"),
        )


def _hkdf(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)


def new_master() -> str:
    """A fresh console secret (256 random bits), as the store keeps it."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")


def new_nonce() -> str:
    """A session id, or the sign-in form's nonce: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def well_formed_nonce(value: str | None) -> TypeGuard[str]:
    """A nonce as new_nonce makes them: a cookie may hold anything (it comes from the client)."""
    return value is not None and _NONCE.match(value) is not None


def session_digest(session_id: str) -> str:
    """How the store names a session: a reader of the database cannot turn it into a cookie."""
    return hashlib.sha256(session_id.encode("ascii")).hexdigest()


def seal(keys: ConsoleKeys, session_id: str, now: float) -> str:
    """The cookie's value: the session id, encrypted and authenticated, stamped with ``now``."""
    return keys.cookie.encrypt_at_time(session_id.encode("ascii"), int(now)).decode("ascii")


def unseal(keys: ConsoleKeys, cookie: str | None, now: float, max_age: int = SESSION_SECONDS) -> str | None:
    """The session id a cookie holds, or None: forged, tampered with, or older than ``max_age``."""
    if not cookie or len(cookie) > 512:
        return None
    try:
        session_id = keys.cookie.decrypt_at_time(cookie.encode("utf-8"), max_age, int(now)).decode("ascii")
    except (InvalidToken, UnicodeError, ValueError, TypeError, binascii.Error):
        return None
    return session_id if well_formed_nonce(session_id) else None


def csrf_token(keys: ConsoleKeys, purpose: str, nonce: str) -> str:
    """The token a form of ``purpose`` carries for this session (or sign-in nonce): only this
    server can make it, and it is the same for every form of the session."""
    mac = hmac.new(
        keys.csrf, f"{purpose}\x00{nonce}".encode("utf-8", "surrogatepass"), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(mac).decode("ascii").rstrip("=")


def csrf_valid(keys: ConsoleKeys, purpose: str, nonce: str, token: str | None) -> bool:
    if not token:
        return False
    expected = csrf_token(keys, purpose, nonce).encode("ascii")
    return hmac.compare_digest(expected, token.encode("utf-8", "surrogatepass"))
