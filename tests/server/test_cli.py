"""The `thoth` command, run as a user would (a subprocess), against a real server."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import ThothServer, free_port
from tests.server.test_api import chained_events
from thoth.server.chain import event_hash

ROOT = Path(__file__).resolve().parents[2]


def thoth(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("THOTH_")} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "thoth.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
    )


def as_user(server: ThothServer, key: str) -> dict[str, str]:
    return {"THOTH_API_URL": server.url, "THOTH_API_KEY": key}


def test_policy_check_reports_ok_or_the_position_of_the_problem(tmp_path: Path) -> None:
    ok = thoth("policy", "check", str(ROOT / "examples" / "policy.yaml"))
    assert ok.returncode == 0
    assert "OK, 6 rules" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - id: x\n    decision: BLOCK\n    when: args.amount >\n")
    result = thoth("policy", "check", str(bad))
    assert result.returncode == 1
    assert result.stderr.startswith(f"{bad}:4:")
    assert "invalid CEL" in result.stderr


def test_policy_test_checks_expected_decisions(tmp_path: Path) -> None:
    cases = tmp_path / "cases.yaml"
    cases.write_text(
        """
cases:
  - name: small refund
    request: {tool_name: issue_refund, tool_args: {amount: 10}, approved_scope: [issue_refund]}
    expect: ALLOW
  - name: big refund
    request: {tool_name: issue_refund, tool_args: {amount: 5000}, approved_scope: [issue_refund]}
    expect: STEP_UP
    expect_rule: large-refunds
  - name: no mail after secrets
    session: [get_secret]
    request: {tool_name: send_email, tool_args: {to: a@acme.com}, approved_scope: [send_email]}
    expect: BLOCK
"""
    )
    passing = thoth("policy", "test", str(ROOT / "examples" / "policy.yaml"), str(cases))
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert "3 passed, 0 failed" in passing.stdout
    cases.write_text(
        "- {name: wrong, expect: ALLOW,\n"
        "   request: {tool_name: delete_customer, approved_scope: [delete_customer]}}\n"
    )
    failing = thoth("policy", "test", str(ROOT / "examples" / "policy.yaml"), str(cases))
    assert failing.returncode == 1
    assert "FAIL wrong: expected ALLOW, got BLOCK (rules: no-deletes;" in failing.stdout


def test_holds_list_approve_and_deny(thoth_server: ThothServer) -> None:
    session = f"cli-{uuid.uuid4()}"
    tokens = [
        thoth_server.enforce(
            tool_name=f"t{i}", session_id=session, approved_scope=[], enforcement_mode="step_up"
        )["hold_token"]
        for i in range(2)
    ]
    admin = as_user(thoth_server, thoth_server.admin_key)
    listing = thoth("holds", "list", "--status", "pending", "--session", session, env=admin)
    assert listing.returncode == 0
    assert all(token in listing.stdout for token in tokens)

    refused = thoth("holds", "approve", tokens[0], env=as_user(thoth_server, thoth_server.api_key))
    assert refused.returncode == 1
    assert "HTTP 403: forbidden" in refused.stderr

    approved = thoth("holds", "approve", tokens[0], "--reason", "ok", "--approver", "carol", env=admin)
    assert approved.returncode == 0, approved.stderr
    assert "approved by carol" in approved.stdout
    denied = thoth("holds", "deny", tokens[1], env=admin)
    assert denied.returncode == 0
    again = thoth("holds", "deny", tokens[0], env=admin)
    assert again.returncode == 1
    assert "already approved" in again.stderr
    assert {h["hold_token"]: h["status"] for h in thoth_server.holds(session_id=session)} == {
        tokens[0]: "approved",
        tokens[1]: "denied",
    }
    assert thoth_server.api_key not in refused.stderr + refused.stdout


PAINT = "\x1b[2J\x1b[31mapproved\x07\rsafe_tool\u202e\x9b"  # clear, red, bell, CR, RTL override, CSI


def test_what_an_agent_named_cannot_repaint_the_approvers_terminal(thoth_server: ThothServer) -> None:
    session = f"cli-{uuid.uuid4()}"
    token = thoth_server.enforce(
        tool_name=PAINT, session_id=session, approved_scope=[], enforcement_mode="step_up"
    )["hold_token"]
    event = chained_events(thoth_server, session, 1)[0] | {"tool_name": PAINT}
    event["hash"] = event_hash(event)
    with thoth_server.client() as client:
        client.post("/v1/events/batch", json=[event]).raise_for_status()
    admin = as_user(thoth_server, thoth_server.admin_key)

    outputs = [
        thoth("holds", "list", "--session", session, env=admin),
        thoth("holds", "approve", token, "--approver", "carol", env=admin),
        thoth("events", "tail", "--session", session, env=admin),
    ]

    for output in outputs:
        assert output.returncode == 0, output.stderr
        shown = output.stdout + output.stderr
        assert not [c for c in shown if c not in "\n\t" and not c.isprintable()], shown
        assert "\\x1b[2J\\x1b[31mapproved\\x07\\rsafe_tool\\u202e\\x9b" in output.stdout  # shown, as escapes


def test_events_tail_and_follow(thoth_server: ThothServer) -> None:
    session = f"cli-{uuid.uuid4()}"
    events = chained_events(thoth_server, session, 4)
    with thoth_server.client() as client:
        client.post("/v1/events/batch", json=events[:2]).raise_for_status()
    user = as_user(thoth_server, thoth_server.api_key)
    tail = thoth("events", "tail", "--session", session, env=user)
    assert tail.returncode == 0
    assert tail.stdout.count(session) == 2
    assert "chain=verified" in tail.stdout
    header, *lines = tail.stdout.splitlines()
    assert header.startswith("OCCURRED (agent clock)") and "TOOL" in header
    assert [line.split()[0] for line in lines] == [e["occurred_at"] for e in events[:2]]  # each its own time
    nothing = thoth("events", "tail", "--session", f"none-{uuid.uuid4()}", env=user)
    assert nothing.returncode == 0 and nothing.stdout == ""
    assert "no events for session none-" in nothing.stderr

    env = {k: v for k, v in os.environ.items() if not k.startswith("THOTH_")} | user
    follower = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "thoth.cli",
            "events",
            "tail",
            "--session",
            session,
            "--follow",
            "--interval",
            "0.1",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert follower.stdout is not None
        assert follower.stdout.readline().startswith("OCCURRED")  # the header, once
        seen = [follower.stdout.readline() for _ in range(2)]
        with thoth_server.client() as client:
            client.post("/v1/events/batch", json=events[2:]).raise_for_status()
        seen += [follower.stdout.readline() for _ in range(2)]
    finally:
        follower.kill()
        follower.wait()
    assert all(session in line for line in seen)
    assert "TOOL_CALL_PRE" in seen[-1]


def test_doctor_checks_what_the_sdk_needs(thoth_server: ThothServer) -> None:
    good = thoth("doctor", env=as_user(thoth_server, thoth_server.api_key))
    assert good.returncode == 0, good.stdout
    assert "API key accepted" in good.stdout and "clock within" in good.stdout
    wrong_key = thoth("doctor", env=as_user(thoth_server, "not-a-key"))
    assert wrong_key.returncode == 1
    assert "API key rejected (401)" in wrong_key.stdout
    assert "not-a-key" not in wrong_key.stdout
    nobody = thoth("doctor", "--url", f"http://127.0.0.1:{free_port()}", "--api-key", "k", "--timeout", "2")
    assert nobody.returncode == 1
    assert "FAIL reach" in nobody.stdout
    unset = thoth("doctor")
    assert unset.returncode == 1
    assert "THOTH_API_URL" in unset.stdout


def test_doctor_says_what_is_wrong_and_what_to_do(thoth_server: ThothServer) -> None:
    """Issue 14, item 9: each failure names its cause and the fix."""
    no_scheme = thoth("doctor", "--url", "127.0.0.1:8787", "--api-key", "k")
    assert "no http:// or https:// scheme (did you mean http://127.0.0.1:8787?)" in no_scheme.stdout
    down = thoth("doctor", "--url", f"http://127.0.0.1:{free_port()}", "--api-key", "k", "--timeout", "2")
    assert "ECONNREFUSED" in down.stdout and "is thoth serve running there?" in down.stdout
    tenant_key = f"{thoth_server.tenant_id}:{thoth_server.api_key}"
    pasted = thoth("doctor", env=as_user(thoth_server, tenant_key))
    assert pasted.returncode == 1
    assert "the client sends only the KEY part" in pasted.stdout
    assert thoth_server.api_key not in pasted.stdout


def test_client_commands_need_a_url_and_key() -> None:
    result = thoth("holds", "list")
    assert result.returncode == 1
    assert "THOTH_API_URL" in result.stderr


def test_import_thoth_stays_light() -> None:
    code = (
        "import sys, thoth, thoth.cli\n"
        "heavy = ('thoth.server', 'starlette', 'sqlalchemy', 'uvicorn', 'cel_expr_python', 'yaml')\n"
        "heavy = [m for m in heavy if m in sys.modules]\n"
        "print(heavy)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


def test_no_command_prints_help() -> None:
    started = time.monotonic()
    result = thoth()
    assert result.returncode == 2
    assert "serve" in result.stdout and "holds" in result.stdout
    assert time.monotonic() - started < 30


def test_version_and_the_port_default_are_shown() -> None:
    from thoth._version import __version__

    version = thoth("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"thoth {__version__}"
    assert "(default 8787)" in " ".join(thoth("serve", "--help").stdout.split())


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.com"])
def test_insecure_dev_refuses_a_non_loopback_address(host: str, tmp_path: Path) -> None:
    result = thoth(
        "serve", "--insecure-dev", "--host", host, "--port", "1", "--db", f"sqlite:///{tmp_path / 'x.db'}"
    )
    assert result.returncode == 2
    assert "--insecure-dev" in result.stderr and f"--host {host} is not one" in result.stderr
    assert not (tmp_path / "x.db").exists()  # refused before anything was opened


@pytest.mark.parametrize(
    ("db", "says"),
    [
        ("sqlite:///{tmp}/missing/thoth.db", "the SQLite file's directory {tmp}/missing does not exist"),
        ("mysql://u@127.0.0.1/db", "unsupported store 'mysql': use sqlite:///PATH or postgresql://"),
        ("not a url", "not a database URL (give e.g. sqlite:///thoth.db"),
        ("postgresql://u@127.0.0.1:notaport/db", "not a database URL"),
    ],
)
def test_a_database_url_that_cannot_work_is_one_line_at_start(db: str, says: str, tmp_path: Path) -> None:
    result = thoth("serve", "--api-key", "k", "--port", "1", "--db", db.format(tmp=tmp_path))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr  # no traceback
    assert says.format(tmp=tmp_path) in result.stderr
    assert not (tmp_path / "missing").exists()


def test_policy_check_refuses_an_empty_file_warns_without_version_and_names_no_position(
    tmp_path: Path,
) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("# rules to come\n")
    refused = thoth("policy", "check", str(empty))
    assert refused.returncode == 1
    assert refused.stderr.startswith(f"{empty}: the policy file is empty: write at least `version: 1`")
    unversioned = tmp_path / "unversioned.yaml"
    unversioned.write_text("rules:\n  - {id: no-deletes, tools: [delete_*], decision: BLOCK}\n")
    warned = thoth("policy", "check", str(unversioned))
    assert warned.returncode == 0, warned.stderr
    assert "OK, 1 rules" in warned.stdout
    assert warned.stderr.startswith(
        f"{unversioned}: warning: no `version`: read as version 1; add `version: 1`"
    )
    missing = tmp_path / "missing.yaml"
    absent = thoth("policy", "check", str(missing))
    assert absent.returncode == 1
    assert absent.stderr.strip() == f"{missing}: cannot read policy: No such file or directory"  # not at 1:1
