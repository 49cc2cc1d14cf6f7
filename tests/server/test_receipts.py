"""Signed decision receipts from a real ``thoth serve``, and ``thoth receipt keygen / verify``."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests._contract import validate_response
from tests.conftest import ThothServer, free_port
from tests.server.test_api import new_session
from tests.server.test_cli import thoth
from thoth import _signing
from thoth.receipts import ReceiptError, args_sha256, check_call, verify_receipt

POLICY = """\
version: 1
rules:
  - id: no-deletes
    tools: ["delete_*"]
    decision: BLOCK
    reason: deleting is never automated
  - id: large-refunds
    tools: [issue_refund]
    when: args.amount >= 1000
    decision: STEP_UP
    reason: refunds of 1000 or more need a human
  - id: mask-ssn
    tools: [lookup_customer]
    decision: MODIFY
    modify: {mask: [ssn]}
  - id: wait
    tools: [export_report]
    decision: DEFER
"""
SCOPE = ["read_file", "delete_user", "issue_refund", "lookup_customer", "export_report"]
#: One call per decision kind, with the arguments it is made with.
CALLS = {
    "ALLOW": ("read_file", {"path": "/tmp/a.txt"}),
    "BLOCK": ("delete_user", {"id": 7}),
    "STEP_UP": ("issue_refund", {"amount": 5000, "note": "Grüße"}),
    "MODIFY": ("lookup_customer", {"ssn": "123-45-6789", "name": "Ann"}),
    "DEFER": ("export_report", {"month": "2026-11"}),
}


@pytest.fixture
def key_path(tmp_path: Path) -> Path:
    path = tmp_path / "keys" / "receipts.pem"
    path.parent.mkdir()
    result = thoth("receipt", "keygen", "--out", str(path))
    assert result.returncode == 0, result.stderr
    return path


@pytest.fixture
def signing_server(make_thoth_server: Callable[..., ThothServer], key_path: Path) -> ThothServer:
    return make_thoth_server(POLICY, extra_args=["--receipt-signing-key", str(key_path)])


def public_key(server: ThothServer) -> dict[str, Any]:
    with server.client() as client:
        response = client.get("/v1/receipts/public-key")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def decide(server: ThothServer, tool: str, args: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return server.enforce(
        tool_name=tool,
        tool_args=args,
        session_id=new_session(),
        approved_scope=SCOPE,
        enforcement_trace_id="trace-1",
        **extra,
    )


# -- the server -------------------------------------------------------------------------------------


def test_every_decision_kind_carries_a_receipt_the_published_key_verifies(
    signing_server: ThothServer, key_path: Path
) -> None:
    key = public_key(signing_server)
    assert key["alg"] == "Ed25519"
    assert key["public_key_pem"] == (key_path.parent / "receipts.pem.pub").read_text()
    before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    for expected, (tool, args) in CALLS.items():
        answer = decide(signing_server, tool, args)
        assert answer["decision"] == expected
        verified = verify_receipt(answer["receipt"], key["public_key_pem"])
        check_call(verified, tool, args)
        claims = verified.claims
        assert verified.key_id == key["key_id"]
        assert before <= verified.issued_at <= dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
        for name in ("decision", "decision_reason_code", "matched_rule_ids", "policy_version"):
            assert claims[name] == answer[name], (expected, name)
        assert (claims["tenant_id"], claims["agent_id"]) == (signing_server.tenant_id, "test-agent")
        assert claims.get("violation_id") == answer.get("violation_id")
        assert claims.get("hold_token") == answer.get("hold_token")
        assert verified.decision_id == claims["decision_id"] == answer["decision_id"]
        if expected == "MODIFY":  # the rewrite is signed too, not only the call as asked
            assert answer["modified_tool_args"]["ssn"] != args["ssn"]
            assert claims["modified_args_sha256"] == args_sha256(answer["modified_tool_args"])
            assert claims["modified_args_sha256"] != claims["args_sha256"]
        else:
            assert "modified_args_sha256" not in claims


def test_signed_answers_and_the_public_key_conform_to_the_spec(signing_server: ThothServer) -> None:
    with signing_server.client() as client:
        responses = [client.get("/v1/receipts/public-key")]
        for tool, args in CALLS.values():
            body = {
                "agent_id": "a",
                "tenant_id": signing_server.tenant_id,
                "session_id": new_session(),
                "tool_name": tool,
                "tool_args": args,
                "approved_scope": SCOPE,
                "enforcement_trace_id": "t",
            }
            responses.append(client.post("/v1/enforce", json=body))
    for response in responses:
        assert response.status_code == 200, response.text
        validate_response(response.request, response)  # raises on a shape the spec does not allow
    assert all("receipt" in r.json() for r in responses[1:])


def test_a_held_call_s_receipt_names_the_hold_and_its_argument_digest(signing_server: ThothServer) -> None:
    tool, args = CALLS["STEP_UP"]
    session = new_session()
    answer = signing_server.enforce(
        tool_name=tool, tool_args=args, session_id=session, approved_scope=SCOPE, enforcement_trace_id="t"
    )
    claims = answer["receipt"]["claims"]
    (hold,) = signing_server.holds(session_id=session)
    assert claims["hold_token"] == hold["hold_token"] == answer["hold_token"]
    assert claims["args_sha256"] == hold["args_sha256"]  # one digest for the same arguments
    assert claims["session_id"] == session


def test_a_receipt_is_refused_by_another_servers_key(
    signing_server: ThothServer, make_thoth_server: Callable[..., ThothServer], tmp_path: Path
) -> None:
    other_key = tmp_path / "other.pem"
    assert thoth("receipt", "keygen", "--out", str(other_key)).returncode == 0
    other = make_thoth_server(POLICY, extra_args=["--receipt-signing-key", str(other_key)])
    tool, args = CALLS["ALLOW"]
    receipt = decide(signing_server, tool, args)["receipt"]
    assert public_key(other)["key_id"] != receipt["key_id"]
    with pytest.raises(ReceiptError, match="names key") as caught:
        verify_receipt(receipt, public_key(other)["public_key_pem"])
    assert getattr(caught.value, "reason", None) == "key_id_mismatch"


def test_a_server_without_a_key_sends_no_receipt_and_no_public_key(thoth_server: ThothServer) -> None:
    answer = thoth_server.enforce(
        tool_name="read_file", session_id=new_session(), approved_scope=["read_file"]
    )
    assert answer["decision"] == "ALLOW"
    assert "receipt" not in answer
    with thoth_server.client() as client:
        response = client.get("/v1/receipts/public-key")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "this server signs no decision receipts"}
    assert httpx.get(f"{thoth_server.url}/v1/receipts/public-key").status_code == 401


def test_the_sdk_keeps_the_receipt_on_the_permit_and_on_the_violation(signing_server: ThothServer) -> None:
    """An allowed call's Permit.decision and a refused call's ThothPolicyViolation carry the
    server's receipt, as sent, for the caller to verify or keep."""
    import thoth as sdk

    tracer = sdk.create_tracer(
        agent_id="sdk-agent",
        approved_scope=SCOPE,
        tenant_id=signing_server.tenant_id,
        enforcement="block",
        api_url=signing_server.url,
        api_key=signing_server.api_key,
        session_id=new_session(),
    )
    key = public_key(signing_server)["public_key_pem"]
    tool, args = CALLS["ALLOW"]
    permit = tracer.authorize(tool, args)
    permit.finish(result="ok")
    assert permit.decision is not None and permit.decision.receipt is not None
    allowed = check_call(verify_receipt(permit.decision.receipt, key), tool, args)
    assert (allowed.decision, allowed.claims["agent_id"]) == ("ALLOW", "sdk-agent")
    tool, args = CALLS["BLOCK"]
    with pytest.raises(sdk.ThothPolicyViolation) as refused:
        tracer.authorize(tool, args)
    assert refused.value.receipt is not None
    blocked = check_call(verify_receipt(refused.value.receipt, key), tool, args)
    assert blocked.claims["violation_id"] == refused.value.violation_id
    assert blocked.decision == "BLOCK"
    # the receipt names the call by the id its events carry
    assert blocked.decision_id == refused.value.decision_id is not None
    assert allowed.decision_id is not None and allowed.decision_id != blocked.decision_id
    sdk.flush(5.0, api_url=signing_server.url)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"not a key\n", "is not PEM"),
        ("public", "is a public key"),
    ],
    ids=["missing", "not-pem", "public-key"],
)
def test_a_bad_signing_key_stops_the_start_with_one_line(
    tmp_path: Path, content: bytes | str | None, message: str
) -> None:
    path = tmp_path / "key.pem"
    if content == "public":
        path.write_text(_signing.public_key_pem(_signing.generate_private_key()))
    elif isinstance(content, bytes):
        path.write_bytes(content)
    for how in ("flag", "env"):
        args = ["--receipt-signing-key", str(path)] if how == "flag" else []
        env = {"THOTH_SERVER_RECEIPT_SIGNING_KEY": str(path)} if how == "env" else {}
        result = thoth(
            "serve",
            "--port",
            str(free_port()),
            "--db",
            f"sqlite:///{tmp_path / 'thoth.db'}",
            "--insecure-dev",
            *args,
            env=env,
            timeout=30,
        )
        assert result.returncode == 2, (how, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, (how, result.stderr)
        assert lines[0].startswith(f"thoth serve: --receipt-signing-key: {path}"), lines[0]
        assert message in lines[0]
        assert "Traceback" not in result.stderr


def test_the_signing_key_can_come_from_the_environment(key_path: Path, tmp_path: Path) -> None:
    """THOTH_SERVER_RECEIPT_SIGNING_KEY: the env-only way to configure signing (ThothServer strips
    THOTH_SERVER_*, so this starts the server by hand)."""
    server = ThothServer(tmp_path / "env-server")
    command = server.command()
    env = {k: v for k, v in os.environ.items() if not k.startswith("THOTH_")}
    env["THOTH_SERVER_RECEIPT_SIGNING_KEY"] = str(key_path)
    server.port = free_port()
    server.url = f"http://127.0.0.1:{server.port}"
    command[command.index("--port") + 1] = str(server.port)
    with server.log_path.open("ab") as log:
        server.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        assert server._wait_ready(), server.log()
        expected = _signing.key_id(_signing.load_private_key_file(key_path))
        assert public_key(server)["key_id"] == expected
        assert f"decision receipts signed with Ed25519 key {expected}" in server.log()
    finally:
        server.stop()


# -- the CLI ----------------------------------------------------------------------------------------


def test_keygen_writes_a_private_key_only_its_owner_reads_and_never_overwrites(tmp_path: Path) -> None:
    out = tmp_path / "k.pem"
    result = thoth("receipt", "keygen", "--out", str(out))
    assert result.returncode == 0, result.stderr
    private = _signing.load_private_key_file(out)
    public_pem = (tmp_path / "k.pem.pub").read_text()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert _signing.public_key_pem(private) == public_pem
    assert f"key id {_signing.key_id(private)}" in result.stdout
    assert str(tmp_path / "k.pem.pub") in result.stdout
    before = out.read_bytes(), public_pem
    again = thoth("receipt", "keygen", "--out", str(out))
    assert again.returncode == 1
    assert "exists: not overwriting" in again.stderr
    assert (out.read_bytes(), (tmp_path / "k.pem.pub").read_text()) == before
    # an existing .pub alone also refuses, and leaves no private key behind
    (tmp_path / "lonely.pem.pub").write_text("keep me")
    lonely = thoth("receipt", "keygen", "--out", str(tmp_path / "lonely.pem"))
    assert lonely.returncode == 1
    assert not (tmp_path / "lonely.pem").exists()
    assert (tmp_path / "lonely.pem.pub").read_text() == "keep me"


def test_keygen_sets_mode_0600_whatever_the_umask(tmp_path: Path) -> None:
    out = tmp_path / "k.pem"
    code = (
        "import os, sys; os.umask(0); from thoth.cli import main; "
        f"sys.exit(main(['receipt', 'keygen', '--out', {str(out)!r}]))"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_verify_says_valid_with_the_pub_file_or_the_server_and_prints_the_claims(
    signing_server: ThothServer, key_path: Path, tmp_path: Path
) -> None:
    tool, args = CALLS["STEP_UP"]
    answer = decide(signing_server, tool, args)
    answer_file = tmp_path / "answer.json"
    answer_file.write_text(json.dumps(answer))  # a whole /v1/enforce answer
    receipt_file = tmp_path / "receipt.json"
    receipt_file.write_text(json.dumps(answer["receipt"]))
    pub = str(key_path) + ".pub"
    by_file = thoth("receipt", "verify", str(receipt_file), "--public-key", pub)
    by_answer = thoth("receipt", "verify", str(answer_file), "--public-key", pub)
    by_server = thoth(
        "receipt",
        "verify",
        str(receipt_file),
        "--server",
        signing_server.url,
        "--api-key",
        signing_server.api_key,
    )
    by_env = thoth(
        "receipt",
        "verify",
        str(receipt_file),
        "--server",
        signing_server.url,
        env={"THOTH_API_KEY": signing_server.api_key},
    )
    key_id = answer["receipt"]["key_id"]
    for result in (by_file, by_answer, by_server, by_env):
        assert result.returncode == 0, result.stdout + result.stderr
        verdict, *claims = result.stdout.splitlines()
        assert verdict == f"VALID receipt signed by key {key_id}"
        assert "  decision: STEP_UP" in claims
        assert f"  hold_token: {answer['hold_token']}" in claims
        assert '  matched_rule_ids: ["large-refunds"]' in claims
    matches = thoth(
        "receipt",
        "verify",
        str(receipt_file),
        "--public-key",
        pub,
        "--tool",
        tool,
        "--args",
        json.dumps(args),
    )
    assert matches.returncode == 0
    assert matches.stdout.startswith(f"VALID receipt signed by key {key_id} and matches the call")


def test_verify_says_invalid_for_a_tampered_receipt_a_wrong_key_or_another_call(
    signing_server: ThothServer, key_path: Path, tmp_path: Path
) -> None:
    tool, args = CALLS["BLOCK"]
    receipt = decide(signing_server, tool, args)["receipt"]
    pub = str(key_path) + ".pub"
    tampered = json.loads(json.dumps(receipt))
    tampered["claims"]["decision"] = "ALLOW"
    other_pub = tmp_path / "other.pem"
    assert thoth("receipt", "keygen", "--out", str(other_pub)).returncode == 0
    cases = {
        "tampered": (tampered, ["--public-key", pub], "INVALID receipt (bad_signature)"),
        "wrong key": (receipt, ["--public-key", f"{other_pub}.pub"], "INVALID receipt (key_id_mismatch)"),
        "other call": (
            receipt,
            ["--public-key", pub, "--tool", tool, "--args", '{"id": 8}'],
            "INVALID receipt (call_mismatch)",
        ),
        "not a receipt": ({"decision": "ALLOW"}, ["--public-key", pub], "INVALID receipt (malformed)"),
    }
    for name, (body, options, verdict) in cases.items():
        result = subprocess.run(
            [sys.executable, "-m", "thoth.cli", "receipt", "verify", "-", *options],
            input=json.dumps(body),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 1, (name, result.stdout, result.stderr)
        assert result.stdout.startswith(verdict), (name, result.stdout)


def test_verify_escapes_control_characters_of_claims(signing_server: ThothServer, key_path: Path) -> None:
    """Claims are the caller's own strings (agent ids, tool names): they must not drive the terminal."""
    hostile = "agent\x1b[2J\x1b]0;owned\x07\u202eevil\nline\\x1b"
    answer = signing_server.enforce(
        agent_id=hostile,
        tool_name="read_file",
        session_id=new_session(),
        approved_scope=["read_file"],
        enforcement_trace_id="t",
    )
    result = subprocess.run(
        [sys.executable, "-m", "thoth.cli", "receipt", "verify", "-", "--public-key", f"{key_path}.pub"],
        input=json.dumps(answer),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    for raw in ("\x1b", "\x07", "\u202e"):
        assert raw not in result.stdout
    assert (
        "  agent_id: agent\\x1b[2J\\x1b]0;owned\\x07\\u202eevil\\nline\\\\x1b" in result.stdout.splitlines()
    )


def test_verify_usage_errors_exit_2(
    signing_server: ThothServer, thoth_server: ThothServer, key_path: Path, tmp_path: Path
) -> None:
    receipt_file = tmp_path / "r.json"
    receipt_file.write_text(json.dumps(decide(signing_server, *CALLS["ALLOW"])["receipt"]))
    pub = f"{key_path}.pub"
    cases = {
        "no key option": ([str(receipt_file)], "one of the arguments --public-key --server is required"),
        "both key options": ([str(receipt_file), "--public-key", pub, "--server", "http://x"], "not allowed"),
        "missing receipt": ([str(tmp_path / "none.json"), "--public-key", pub], "cannot read"),
        "not JSON": ([str(key_path.with_suffix(".pem.pub")), "--public-key", pub], "is not JSON"),
        "missing key file": ([str(receipt_file), "--public-key", str(tmp_path / "none.pub")], "cannot read"),
        "private key given": ([str(receipt_file), "--public-key", str(key_path)], "is a private key"),
        "args without tool": (
            [str(receipt_file), "--public-key", pub, "--args", "{}"],
            "--args needs --tool",
        ),
        "server signs none": (
            [str(receipt_file), "--server", thoth_server.url, "--api-key", thoth_server.api_key],
            "HTTP 404",
        ),
        "no api key": ([str(receipt_file), "--server", signing_server.url], "no API key"),
        "wrong api key": (
            [str(receipt_file), "--server", signing_server.url, "--api-key", "nope"],
            "HTTP 401",
        ),
        "unreachable": (
            [str(receipt_file), "--server", f"http://127.0.0.1:{free_port()}", "--api-key", "k"],
            "cannot reach",
        ),
    }
    for name, (options, message) in cases.items():
        result = thoth("receipt", "verify", *options)
        assert result.returncode == 2, (name, result.stdout, result.stderr)
        assert message in result.stderr, (name, result.stderr)
        assert "BEGIN PRIVATE KEY" not in result.stderr + result.stdout
