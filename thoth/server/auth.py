"""API keys: which tenants a key may act for, and whether it may resolve holds.

A key is given as ``TENANT:KEY`` (it acts for that tenant only) or as a plain ``KEY``
(``*:KEY`` is the same): it acts for every tenant, which suits one team on one machine.
Either may be named, ``NAME=TENANT:KEY`` or ``NAME=KEY`` (``alice@acme.com=acme:...``): the name
is who an admin key's resolutions are recorded as (console, API, ``thoth holds list``) and how
logs call it; an unnamed key is ``key#<fingerprint>``.
Keys are kept only as keyed digests, HMAC-SHA256 under a per-store secret (``thoth_secrets``,
shared by every replica on the store, so a digest is the same on all of them and after a restart),
and never logged: a key is named in logs, and as a hold's approver, by the first 8 hex digits of
that digest. Without the secret a fingerprint or a stored digest cannot be used to confirm a
guessed key offline (an unsalted SHA-256 could, and a weak key would fall at once).
"""

from __future__ import annotations

import base64
import hmac
import re
import secrets
from collections.abc import Iterable, Mapping
from typing import Final

import attrs

ANY_TENANT = "*"
#: the store's name for the key-digest secret (thoth_secrets)
SECRET_NAME: Final = "key-fingerprint"  # noqa: S105 - a row name, not a secret
FINGERPRINT_HEX: Final = 8
#: an approver name: a login or an e-mail address; no space, colon or control character, so it
#: reads the same in a log line, a terminal and a chat message
NAME_PATTERN: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}")
#: the name thoth gives every key under --insecure-dev (key#... and slack:... cannot be names)
_RESERVED: Final = "insecure-dev"


def new_secret() -> str:
    """A fresh key-digest secret (256 random bits, URL-safe base64), as the store keeps it."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")


def secret_bytes(stored: str) -> bytes:
    """The HMAC key of a secret as the store keeps it."""
    return base64.urlsafe_b64decode(stored.encode("ascii"))


@attrs.frozen
class KeySpec:
    tenant: str  # ANY_TENANT for every tenant
    key: str = attrs.field(repr=False)
    name: str | None = None  # who the key is (an approver's name); None: key#<fingerprint>

    @classmethod
    def parse(cls, text: str) -> KeySpec:
        text = text.strip()
        name, text = _split_name(text)
        tenant, sep, key = text.rpartition(":")
        if not sep:
            tenant, key = ANY_TENANT, text
        if not key or (sep and not tenant):
            raise ValueError("an API key is KEY or TENANT:KEY, with neither part empty")
        return cls(tenant, key, name)


def _split_name(text: str) -> tuple[str | None, str]:
    """``NAME=`` before a key names it. A key's own ``=`` is not a name: the text is named only
    when what precedes its first ``=`` is a valid name (so no ``:`` or ``/``), and what follows is
    more than base64 padding. Errors never quote the text: it may be the key."""
    name, sep, rest = text.partition("=")
    if not sep or not rest.strip("=") or not NAME_PATTERN.fullmatch(name):
        return None, text
    if name.lower() == _RESERVED:
        raise ValueError("a key cannot be named insecure-dev: that is what --insecure-dev calls everyone")
    return name, rest


@attrs.frozen
class Principal:
    """Who is calling: the tenants the key may see (None = all) and whether it is an admin key."""

    tenants: frozenset[str] | None
    admin: bool
    name: str
    #: the name was configured with the key (or is a Slack user's): it is who resolves, whatever
    #: approver a request claims; an unnamed key records the claimed approver, else key#...
    named: bool = False

    def may_act_for(self, tenant: str) -> bool:
        return self.tenants is None or tenant in self.tenants


DEV_PRINCIPAL = Principal(None, True, "insecure-dev")


class KeyRing:
    """The configured keys, looked up by their keyed digest (``secret``: see ``secret_bytes``)."""

    def __init__(
        self,
        api_keys: Iterable[KeySpec],
        admin_keys: Iterable[KeySpec],
        insecure_dev: bool,
        *,
        secret: bytes,
    ) -> None:
        if len(secret) < 16:
            raise ValueError("the key-digest secret must be at least 128 bits")
        self.insecure_dev = insecure_dev
        self._secret = secret
        grants: dict[str, tuple[set[str] | None, bool]] = {}
        names: dict[str, str] = {}
        for spec, admin in [(k, False) for k in api_keys] + [(k, True) for k in admin_keys]:
            digest = self.digest_of(spec.key)
            tenants, was_admin = grants.get(digest, (set(), False))
            if spec.tenant == ANY_TENANT or tenants is None:
                tenants = None
            else:
                tenants.add(spec.tenant)
            grants[digest] = (tenants, was_admin or admin)
            if spec.name is not None:
                names.setdefault(digest, spec.name)  # config.py refused two names for one key
        self._principals: Mapping[str, Principal] = {
            digest: Principal(
                None if tenants is None else frozenset(tenants),
                admin,
                names.get(digest) or f"key#{digest[:FINGERPRINT_HEX]}",
                digest in names,
            )
            for digest, (tenants, admin) in grants.items()
        }

    def __bool__(self) -> bool:
        return bool(self._principals) or self.insecure_dev

    def resolve(self, x_api_key: str | None, authorization: str | None) -> Principal | None:
        """The principal for the request's headers, or None (401).

        Either header may carry the key; when both are sent, both must name the same key,
        so that a stray or forged second credential is never silently ignored.
        """
        if self.insecure_dev:
            return DEV_PRINCIPAL
        bearer = _bearer(authorization)
        if (x_api_key is not None and not x_api_key) or (authorization is not None and not bearer):
            return None  # a header that is sent must carry a key
        keys = {key for key in (x_api_key, bearer) if key}
        if len(keys) != 1:
            return None
        return self._principals.get(self.digest_of(keys.pop()))

    def digest_of(self, key: str) -> str:
        """How a key is named where it must not be kept (the console's sign-ins): see by_digest.
        HMAC-SHA256 under the store's secret, hex: the same on every replica of the store."""
        return hmac.digest(self._secret, key.encode("utf-8", "surrogatepass"), "sha256").hex()

    def fingerprint(self, key: str) -> str:
        """What logs call a key (``key#`` + this is its principal's name): safe to show."""
        return self.digest_of(key)[:FINGERPRINT_HEX]

    def by_digest(self, digest: str) -> Principal | None:
        """The principal of the key ``digest_of`` named, while that key is still configured."""
        if self.insecure_dev:
            return DEV_PRINCIPAL
        return self._principals.get(digest)


def check_names(specs: Iterable[KeySpec]) -> None:
    """A key given more than once (for two tenants, or as an API and an admin key) has one name:
    refused at start, before any store is opened. Names the key by position, never by itself."""
    names: dict[str, str] = {}
    for position, spec in enumerate(specs, 1):
        if spec.name is None:
            continue
        known = names.setdefault(spec.key, spec.name)
        if known != spec.name:
            raise ValueError(
                f"key {position} (counting --api-key, then --admin-key) is given twice with different "
                f"names ({known!r}, {spec.name!r}): give it one name"
            )


def _bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None
