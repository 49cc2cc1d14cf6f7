"""How ``--api-key`` / ``--admin-key`` texts are read (pure): ``[NAME=][TENANT:]KEY``."""

from __future__ import annotations

import pytest

from thoth.server.auth import KeyRing, KeySpec, check_names

SECRET = b"0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    ("text", "name", "tenant", "key"),
    [
        ("plainkey", None, "*", "plainkey"),
        ("acme:plainkey", None, "acme", "plainkey"),
        ("alice=plainkey", "alice", "*", "plainkey"),
        ("alice@acme.com=acme:plainkey", "alice@acme.com", "acme", "plainkey"),
        ("c2VjcmV0a2V5=", None, "*", "c2VjcmV0a2V5="),  # base64 padding is not a name
        ("c2VjcmV0a2V5==", None, "*", "c2VjcmV0a2V5=="),
        ("acme:abc=def", None, "acme", "abc=def"),  # a "name" holding ':' is a tenant's key
        ("ab/cd=ef", None, "*", "ab/cd=ef"),  # '/' cannot be in a name: all of it is the key
        ("bob=c2VjcmV0==", "bob", "*", "c2VjcmV0=="),
    ],
)
def test_a_key_text_is_read_as_name_tenant_and_key(
    text: str, name: str | None, tenant: str, key: str
) -> None:
    spec = KeySpec.parse(text)
    assert (spec.name, spec.tenant, spec.key) == (name, tenant, key)
    assert key not in repr(spec)


def test_a_named_key_is_its_principals_name_and_an_unnamed_one_its_fingerprint() -> None:
    ring = KeyRing(
        [KeySpec.parse("acme:agentkey")], [KeySpec.parse("alice=acme:adminkey")], False, secret=SECRET
    )
    alice = ring.resolve("adminkey", None)
    agent = ring.resolve("agentkey", None)
    assert alice is not None and agent is not None
    assert (alice.name, alice.named, alice.admin) == ("alice", True, True)
    assert agent.name == f"key#{ring.fingerprint('agentkey')}"
    assert not agent.named


def test_one_key_has_one_name_and_insecure_dev_is_not_one() -> None:
    check_names([KeySpec.parse("alice=a:k"), KeySpec.parse("alice=b:k"), KeySpec.parse("k2")])
    with pytest.raises(ValueError, match=r"key 2 .* different names \('alice', 'bob'\)") as caught:
        check_names([KeySpec.parse("alice=a:k"), KeySpec.parse("bob=b:k")])
    assert ":k" not in str(caught.value)
    with pytest.raises(ValueError, match="cannot be named insecure-dev"):
        KeySpec.parse("Insecure-Dev=somekey")
