"""Policy bundles: built by the server, checked by the SDK; every way to be untrustworthy refused."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from thoth import _signing
from thoth.policy import Call, SessionRecord, decide, load_policy
from thoth.policy.bundle import (
    ENGINE_VERSION,
    BundleError,
    build_bundle,
    document_sha256,
    etag,
    parse_bundle,
    read_bundle,
)
from thoth.receipts import ReceiptSigner

POLICY = load_policy(
    "version: 1\nrules:\n  - {id: no-deletes, tools: ['delete_*'], decision: BLOCK, reason: never}\n"
)
ISSUED = "2026-12-04T10:00:00.000000Z"


@pytest.fixture(scope="module")
def signer() -> ReceiptSigner:
    return ReceiptSigner(_signing.generate_private_key())


def public(signer: ReceiptSigner) -> Any:
    return _signing.load_public_key(signer.public_key_pem)


def test_an_unsigned_bundle_round_trips_and_decides() -> None:
    data = json.loads(json.dumps(build_bundle(POLICY.document, "v1", ISSUED)))
    bundle = read_bundle(data)
    assert (bundle.policy_version, bundle.sha256, bundle.key_id) == (
        "v1",
        document_sha256(POLICY.document),
        None,
    )
    call = Call.from_request({"agent_id": "a", "tenant_id": "t", "session_id": "s", "tool_name": "delete_x"})
    assert decide(bundle.policy, call, SessionRecord(), 0.0).result.matched_rule_ids[0] == "no-deletes"


def test_a_signed_bundle_verifies_with_its_key(signer: ReceiptSigner) -> None:
    data = build_bundle(POLICY.document, "v1", ISSUED, signer)
    assert read_bundle(data, public(signer)).key_id == signer.key_id
    assert signer.key_id in etag(data)


def refused(data: Any, key: Any = None) -> BundleError:
    with pytest.raises(BundleError) as caught:
        read_bundle(data, key)
    return caught.value


def test_with_a_key_an_unsigned_bundle_is_refused(signer: ReceiptSigner) -> None:
    error = refused(build_bundle(POLICY.document, "v1", ISSUED), public(signer))
    assert error.reason_code == "bundle_unsigned"


def test_a_bundle_signed_by_another_key_is_refused(signer: ReceiptSigner) -> None:
    other = ReceiptSigner(_signing.generate_private_key())
    error = refused(build_bundle(POLICY.document, "v1", ISSUED, other), public(signer))
    assert error.reason_code == "bundle_signature" and "not by the configured bundle_public_key" in str(error)


@pytest.mark.parametrize("field", ["policy_version", "issued_at", "sha256"])
def test_a_changed_signed_field_is_refused(signer: ReceiptSigner, field: str) -> None:
    data = build_bundle(POLICY.document, "v1", ISSUED, signer)
    if field == "sha256":  # a policy and digest swapped together: only the signature catches it
        data["policy"] = {"version": 1}
        data["sha256"] = document_sha256(data["policy"])
    else:
        data[field] = data[field] + "0"
    assert refused(data, public(signer)).reason_code == "bundle_signature"


def test_a_policy_that_does_not_match_its_digest_is_refused() -> None:
    data = build_bundle(POLICY.document, "v1", ISSUED)
    data["policy"] = copy.deepcopy(data["policy"]) | {"rules": []}
    error = refused(data)
    assert error.reason_code == "bundle_malformed" and "sha256" in str(error)


def test_a_bundle_for_a_newer_engine_is_refused() -> None:
    data = build_bundle(POLICY.document, "v1", ISSUED) | {"engine_version": ENGINE_VERSION + 1}
    error = refused(data)
    assert error.reason_code == "bundle_unsupported" and "upgrade thoth-sdk" in str(error)


def test_a_bundle_whose_cel_does_not_compile_is_refused() -> None:
    document = {"version": 1, "rules": [{"id": "bad", "when": "args.(", "decision": "BLOCK"}]}
    error = refused(build_bundle(document, "v2", ISSUED))
    assert error.reason_code == "bundle_invalid" and "invalid CEL" in str(error)


@pytest.mark.parametrize(
    "data",
    [
        [],
        {"engine_version": "1"},
        {"engine_version": True},
        {"engine_version": 1, "policy_version": "v", "sha256": "x", "issued_at": ISSUED},
        {"engine_version": 1, "policy_version": "", "sha256": "x", "issued_at": ISSUED, "policy": {}},
        {"surprise": 1},
    ],
    ids=["list", "string-engine", "bool-engine", "no-policy", "empty-version", "unknown-field"],
)
def test_a_malformed_bundle_is_refused(data: Any) -> None:
    assert refused(data).reason_code == "bundle_malformed"


def test_a_body_that_is_not_json_is_refused() -> None:
    with pytest.raises(BundleError) as caught:
        parse_bundle(b"<html>")
    assert caught.value.reason_code == "bundle_malformed"
