"""API keys: which tenants a key may act for, and whether it may resolve holds.

A key is given as ``TENANT:KEY`` (it acts for that tenant only) or as a plain ``KEY``
(``*:KEY`` is the same): it acts for every tenant, which suits one team on one machine.
Keys are kept only as SHA-256 digests and never logged; a key is named in logs by a
short fingerprint of its digest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

import attrs

ANY_TENANT = "*"


@attrs.frozen
class KeySpec:
    tenant: str  # ANY_TENANT for every tenant
    key: str = attrs.field(repr=False)

    @classmethod
    def parse(cls, text: str) -> KeySpec:
        text = text.strip()
        tenant, sep, key = text.rpartition(":")
        if not sep:
            tenant, key = ANY_TENANT, text
        if not key or (sep and not tenant):
            raise ValueError("an API key is KEY or TENANT:KEY, with neither part empty")
        return cls(tenant, key)

    @property
    def fingerprint(self) -> str:
        return _digest(self.key)[:8]


@attrs.frozen
class Principal:
    """Who is calling: the tenants the key may see (None = all) and whether it is an admin key."""

    tenants: frozenset[str] | None
    admin: bool
    name: str

    def may_act_for(self, tenant: str) -> bool:
        return self.tenants is None or tenant in self.tenants


DEV_PRINCIPAL = Principal(None, True, "insecure-dev")


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class KeyRing:
    def __init__(
        self, api_keys: Iterable[KeySpec], admin_keys: Iterable[KeySpec], insecure_dev: bool
    ) -> None:
        self.insecure_dev = insecure_dev
        grants: dict[str, tuple[set[str] | None, bool]] = {}
        for spec, admin in [(k, False) for k in api_keys] + [(k, True) for k in admin_keys]:
            tenants, was_admin = grants.get(_digest(spec.key), (set(), False))
            if spec.tenant == ANY_TENANT or tenants is None:
                tenants = None
            else:
                tenants.add(spec.tenant)
            grants[_digest(spec.key)] = (tenants, was_admin or admin)
        self._principals: Mapping[str, Principal] = {
            digest: Principal(None if tenants is None else frozenset(tenants), admin, f"key#{digest[:8]}")
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
        return self._principals.get(_digest(keys.pop()))

    def digest_of(self, key: str) -> str:
        """How a key is named where it must not be kept (the console's sign-ins): see by_digest."""
        return _digest(key)

    def by_digest(self, digest: str) -> Principal | None:
        """The principal of the key ``digest_of`` named, while that key is still configured."""
        if self.insecure_dev:
            return DEV_PRINCIPAL
        return self._principals.get(digest)


def _bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None
