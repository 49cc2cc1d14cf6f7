"""Decision receipts and the signing module under them: round trip, and every way a receipt fails."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import json
import pickle
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from thoth import _signing, receipts
from thoth._decisions import normalize_enforce_payload
from thoth.errors import ThothPolicyViolation
from thoth.receipts import ReceiptError, ReceiptSigner, build_claims, check_call, issue, verify_receipt

ARGS = {"to": "bob@example.com", "subject": "Grüße", "amount": 12}


@pytest.fixture(scope="module")
def signer() -> ReceiptSigner:
    return ReceiptSigner(_signing.generate_private_key())


def claims(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "tenant_id": "acme-corp",
        "agent_id": "billing-agent",
        "session_id": "sess-1",
        "tool_name": "send_email",
        "tool_args": ARGS,
        "decision": "STEP_UP",
        "decision_reason_code": "OUT_OF_SCOPE",
        "matched_rule_ids": ["external-email"],
        "policy_version": "0123456789abcdef",
        "issued_at": dt.datetime(2026, 11, 25, 10, 0, 0, 123456, tzinfo=dt.UTC),
        "violation_id": "vio_0011223344556677",
        "hold_token": "hold_abc",
    }
    return build_claims(**(values | overrides))


def resign(receipt: dict[str, Any], key: Any) -> dict[str, Any]:
    """The receipt's content signed again with ``key``: a well-formed signature by someone else."""
    body = {name: receipt[name] for name in ("version", "alg", "key_id", "claims")}
    return body | {"signature": _signing.sign(key, body)}


# -- round trip -------------------------------------------------------------------------------------


def test_a_receipt_round_trips_and_says_what_was_decided(signer: ReceiptSigner) -> None:
    receipt = issue(signer, claims())
    verified = verify_receipt(receipt, signer.public_key_pem)
    assert verified.key_id == signer.key_id == receipt["key_id"]
    assert (verified.decision, verified.tool_name) == ("STEP_UP", "send_email")
    assert verified.issued_at == dt.datetime(2026, 11, 25, 10, 0, 0, 123456, tzinfo=dt.UTC)
    assert verified.claims["issued_at"] == "2026-11-25T10:00:00.123456Z"
    assert verified.claims["hold_token"] == "hold_abc"
    assert check_call(verified, "send_email", dict(reversed(list(ARGS.items())))) is verified


def test_the_wire_format_is_the_documented_one(signer: ReceiptSigner) -> None:
    """An independent verifier needs only the spec: canonical JSON bytes, raw-key id, base64url."""
    receipt = issue(signer, claims())
    assert set(receipt) == {"version", "alg", "key_id", "claims", "signature"}
    assert (receipt["version"], receipt["alg"]) == ("thoth.receipt.v1", "Ed25519")
    public = _signing.load_public_key(signer.public_key_pem)
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert receipt["key_id"] == hashlib.sha256(raw).hexdigest()[:16]
    body = {k: receipt[k] for k in ("version", "alg", "key_id", "claims")}
    message = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert "=" not in receipt["signature"]
    public.verify(base64.urlsafe_b64decode(receipt["signature"] + "=="), message)  # raises if not
    canonical_args = json.dumps(ARGS, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert receipt["claims"]["args_sha256"] == hashlib.sha256(canonical_args.encode()).hexdigest()


def test_a_bare_private_key_issues_the_same_receipt_as_a_signer(signer: ReceiptSigner) -> None:
    key = _signing.load_private_key(_signing.private_key_pem(signer._private_key))
    assert issue(key, claims()) == issue(signer, claims())  # Ed25519 is deterministic


def test_optional_claims_appear_only_when_present() -> None:
    plain = claims(violation_id=None, hold_token=None, decision="ALLOW")
    assert "violation_id" not in plain
    assert "hold_token" not in plain
    assert "modified_args_sha256" not in plain
    modified = claims(decision="MODIFY", modified_tool_args={"to": "[masked]"})
    assert modified["modified_args_sha256"] == receipts.args_sha256({"to": "[masked]"})
    assert receipts.args_sha256(None) == receipts.args_sha256({}) == hashlib.sha256(b"{}").hexdigest()


def test_issued_at_must_be_an_instant() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        claims(issued_at=dt.datetime(2026, 1, 1))
    assert claims(issued_at=0.0)["issued_at"] == "1970-01-01T00:00:00.000000Z"


# -- what must fail ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("decision", "ALLOW"),
        ("tool_name", "send_emai1"),
        ("args_sha256", "0" * 64),
        ("matched_rule_ids", []),
        ("tenant_id", "other-corp"),
        ("issued_at", "2026-11-25T10:00:00.123457Z"),
        ("extra", "added"),
    ],
)
def test_a_tampered_claim_breaks_the_signature(signer: ReceiptSigner, claim: str, value: Any) -> None:
    receipt = issue(signer, claims())
    receipt["claims"][claim] = value
    with pytest.raises(ReceiptError, match="signature does not match") as caught:
        verify_receipt(receipt, signer.public_key_pem)
    assert caught.value.reason == "bad_signature"


def test_a_removed_claim_breaks_the_signature(signer: ReceiptSigner) -> None:
    receipt = issue(signer, claims())
    del receipt["claims"]["hold_token"]
    with pytest.raises(ReceiptError) as caught:
        verify_receipt(receipt, signer.public_key_pem)
    assert caught.value.reason == "bad_signature"


@pytest.mark.parametrize(
    "signature",
    ["", "not base64!", "A" * 86, "A" * 85 + "B", "A" * 88, "QUJD"],
    ids=["empty", "alphabet", "zeros", "non-canonical", "long", "short"],
)
def test_a_forged_or_mangled_signature_fails(signer: ReceiptSigner, signature: str) -> None:
    receipt = issue(signer, claims()) | {"signature": signature}
    with pytest.raises(ReceiptError) as caught:
        verify_receipt(receipt, signer.public_key_pem)
    assert caught.value.reason == "bad_signature"


def test_a_padded_signature_is_not_the_documented_spelling(signer: ReceiptSigner) -> None:
    receipt = issue(signer, claims())
    with pytest.raises(ReceiptError, match="signature"):
        verify_receipt(receipt | {"signature": receipt["signature"] + "=="}, signer.public_key_pem)


def test_a_receipt_from_another_key_fails_on_its_key_id(signer: ReceiptSigner) -> None:
    other = ReceiptSigner(_signing.generate_private_key())
    receipt = issue(other, claims())
    with pytest.raises(ReceiptError, match=other.key_id) as caught:
        verify_receipt(receipt, signer.public_key_pem)
    assert caught.value.reason == "key_id_mismatch"


def test_a_receipt_that_claims_the_right_key_id_but_was_signed_by_another_key_fails(
    signer: ReceiptSigner,
) -> None:
    forged = resign(issue(signer, claims()), _signing.generate_private_key())
    assert forged["key_id"] == signer.key_id
    with pytest.raises(ReceiptError) as caught:
        verify_receipt(forged, signer.public_key_pem)
    assert caught.value.reason == "bad_signature"


def test_a_wrong_key_id_fails_even_with_a_valid_signature_over_it(signer: ReceiptSigner) -> None:
    receipt = issue(signer, claims())
    relabelled = resign(receipt | {"key_id": "0123456789abcdef"}, signer._private_key)
    with pytest.raises(ReceiptError) as caught:
        verify_receipt(relabelled, signer.public_key_pem)
    assert caught.value.reason == "key_id_mismatch"


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("version", "thoth.receipt.v2", "unknown_version"),
        ("alg", "HS256", "unknown_alg"),
        ("alg", "none", "unknown_alg"),
    ],
)
def test_unknown_versions_and_algorithms_are_refused(
    signer: ReceiptSigner, field: str, value: str, reason: str
) -> None:
    receipt = resign(issue(signer, claims()) | {field: value}, signer._private_key)
    with pytest.raises(ReceiptError) as caught:
        verify_receipt(receipt, signer.public_key_pem)
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    "mangle",
    [
        lambda r: "a string",
        lambda r: [r],
        lambda r: {k: v for k, v in r.items() if k != "signature"},
        lambda r: {k: v for k, v in r.items() if k != "claims"},
        lambda r: r | {"claims": "tool=send_email"},
        lambda r: r | {"claims": None},
        lambda r: r | {"signature": 42},
        lambda r: r | {"key_id": None},
        lambda r: r | {"version": ["thoth.receipt.v1"]},
    ],
    ids=[
        "string",
        "list",
        "no-signature",
        "no-claims",
        "claims-text",
        "claims-null",
        "signature-int",
        "key-id-null",
        "version-list",
    ],
)
def test_malformed_receipts_say_so(signer: ReceiptSigner, mangle: Any) -> None:
    receipt = mangle(issue(signer, claims()))
    with pytest.raises(ReceiptError) as caught:
        verify_receipt(receipt, signer.public_key_pem)
    assert caught.value.reason == "malformed"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c.pop("decision"), "no decision"),
        (lambda c: c.update(matched_rule_ids="builtin.scope"), "matched_rule_ids has the wrong type"),
        (lambda c: c.update(args_sha256="ABC"), "args_sha256"),
        (lambda c: c.update(issued_at="yesterday"), "issued_at is not RFC 3339"),
        (lambda c: c.update(issued_at="2026-11-25T10:00:00+02:00"), "UTC"),
    ],
)
def test_signed_claims_this_version_does_not_define_are_malformed(
    signer: ReceiptSigner, change: Any, message: str
) -> None:
    """A validly signed receipt whose claims are not the version's (a buggy or foreign signer)."""
    body = claims()
    change(body)
    with pytest.raises(ReceiptError, match=message) as caught:
        verify_receipt(issue(signer, body), signer.public_key_pem)
    assert caught.value.reason == "malformed"


def test_check_call_refuses_another_tool_or_other_arguments(signer: ReceiptSigner) -> None:
    verified = verify_receipt(issue(signer, claims()), signer.public_key_pem)
    with pytest.raises(ReceiptError, match="tool 'send_email', not 'delete_all'") as tool:
        check_call(verified, "delete_all", ARGS)
    with pytest.raises(ReceiptError, match="other arguments") as args:
        check_call(verified, "send_email", ARGS | {"amount": 13})
    with pytest.raises(ReceiptError, match="other arguments"):
        check_call(verified, "send_email", ARGS | {"amount": 12.0})  # 12.0 is not 12 in JSON text
    assert tool.value.reason == args.value.reason == "call_mismatch"


def test_a_bad_public_key_is_reported_as_such(signer: ReceiptSigner) -> None:
    receipt = issue(signer, claims())
    for pem in ("", "hello", _signing.private_key_pem(signer._private_key)):
        with pytest.raises(ReceiptError) as caught:
            verify_receipt(receipt, pem)
        assert caught.value.reason == "bad_public_key"


def test_messages_quote_untrusted_values_escaped_and_bounded(signer: ReceiptSigner) -> None:
    receipt = resign(issue(signer, claims()) | {"version": "\x1b[2J" + "v" * 500}, signer._private_key)
    with pytest.raises(ReceiptError) as caught:
        verify_receipt(receipt, signer.public_key_pem)
    assert "\x1b" not in str(caught.value)
    assert len(str(caught.value)) < 200


# -- the signing module -----------------------------------------------------------------------------


def test_keys_load_from_files_and_errors_say_what_to_fix(tmp_path: Path) -> None:
    key = _signing.generate_private_key()
    good = tmp_path / "key.pem"
    good.write_bytes(_signing.private_key_pem(key))
    assert _signing.key_id(_signing.load_private_key_file(good)) == _signing.key_id(key)
    ec_pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    cases = {
        "missing.pem": (None, "no such file"),
        "dir": (b"", "is a directory"),
        "text.pem": (b"just text", "is not PEM"),
        "ec.pem": (ec_pem, "not Ed25519"),
        "encrypted.pem": (encrypted, "is encrypted"),
        "public.pem": (_signing.public_key_pem(key).encode(), "is a public key"),
        "broken.pem": (b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "not a readable"),
    }
    for name, (data, message) in cases.items():
        path = tmp_path / name
        if name == "dir":
            path.mkdir()
        elif data is not None:
            path.write_bytes(data)
        with pytest.raises(_signing.SigningKeyError, match=message) as caught:
            _signing.load_private_key_file(path)
        assert str(path) in str(caught.value)


def test_no_message_or_repr_shows_key_material(signer: ReceiptSigner, tmp_path: Path) -> None:
    secret_pem = _signing.private_key_pem(signer._private_key)
    body = secret_pem.decode().splitlines()[1]
    truncated = tmp_path / "truncated.pem"
    truncated.write_bytes(secret_pem[:-40])
    texts = [repr(signer), str(signer.__slots__)]
    for attempt in (
        lambda: _signing.load_private_key_file(truncated),
        lambda: _signing.load_public_key(secret_pem),
        lambda: _signing.load_private_key(secret_pem.replace(b"PRIVATE", b"PUBLIC")),
    ):
        with pytest.raises(_signing.SigningKeyError) as caught:
            attempt()
        texts += [str(caught.value), repr(caught.value)]
    assert texts[0] == f"ReceiptSigner(key_id={signer.key_id!r})"
    for text in texts:
        assert body not in text
        assert body[:16] not in text


def test_verify_is_false_for_payloads_nothing_could_have_signed(signer: ReceiptSigner) -> None:
    public = _signing.load_public_key(signer.public_key_pem)
    signature = _signing.sign(signer._private_key, {"a": 1})
    assert _signing.verify(public, {"a": 1}, signature)
    assert not _signing.verify(public, {"a": float("nan")}, signature)
    assert not _signing.verify(public, {"a": object()}, signature)
    with pytest.raises(ValueError, match="JSON compliant"):
        _signing.canonical_json({"a": float("inf")})


# -- the SDK keeps the receipt ----------------------------------------------------------------------


def test_the_sdk_decision_and_violation_keep_the_receipt(signer: ReceiptSigner) -> None:
    receipt = issue(signer, claims(decision="BLOCK", hold_token=None))
    decision = normalize_enforce_payload({"decision": "BLOCK", "receipt": copy.deepcopy(receipt)})
    assert decision.receipt == receipt
    assert normalize_enforce_payload({"decision": "ALLOW", "receipt": "junk"}).receipt is None
    violation = ThothPolicyViolation("send_email", "no", decision="BLOCK", receipt=decision.receipt)
    again = pickle.loads(pickle.dumps(violation))
    assert again.receipt == receipt
    assert verify_receipt(again.receipt, signer.public_key_pem).decision == "BLOCK"
    assert ThothPolicyViolation("t", "r").receipt is None


def test_importing_the_sdk_and_receipts_does_not_import_cryptography() -> None:
    import subprocess
    import sys

    code = (
        "import sys, thoth, thoth.receipts, thoth.errors, thoth._decisions; "
        "print(any(m == 'cryptography' or m.startswith('cryptography.') for m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
