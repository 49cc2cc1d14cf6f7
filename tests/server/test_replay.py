"""`thoth policy replay` and `thoth policy coverage --db` on traffic a real server recorded, on
SQLite and PostgreSQL: exact counts, exit codes, the --json shape, and no argument in the output."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ThothServer
from thoth.cli import main

RECORDED = """
version: 1
rules:
  - {id: wires-need-approval, tools: [wire_money], decision: STEP_UP, reason: a human approves wires}
"""
CANDIDATE = """
version: 1
tags: {reads_secrets: [get_secret]}
rules:
  - {id: no-send-after-secret, tools: [send_email], after_tags: [reads_secrets], decision: BLOCK, reason: r}
  - {id: no-secrets-for-interns, tools: [get_secret], agents: [intern], decision: BLOCK, reason: r}
  - {id: intern-secret-reads, tools: [get_secret], agents: [intern], decision: STEP_UP, reason: r}
  - {id: wires-need-approval, tools: [wire_money], decision: STEP_UP, reason: a human approves wires}
  - {id: audit-after-wire, tools: [close_account], after_tools: [wire_money], decision: BLOCK, reason: r}
"""
TOOLS = ["get_secret", "send_email", "wire_money", "close_account", "summarise"]
SECRET_ARG = "ARG-VALUE-never-printed-4711"


def record_traffic(server: ThothServer) -> None:
    """Three sessions through the real enforcer; the candidate flips exactly three calls."""
    sessions = {name: f"{name}-{uuid.uuid4().hex[:8]}" for name in ("s1", "s2", "s3")}

    def call(session: str, tool: str, agent: str = "bot") -> dict[str, object]:
        return server.enforce(
            agent_id=agent,
            session_id=sessions[session],
            tool_name=tool,
            approved_scope=TOOLS,
            tool_args={"note": SECRET_ARG},
        )

    call("s1", "get_secret")
    call("s1", "send_email")  # flips to BLOCK: the session read a secret
    call("s2", "get_secret", agent="intern")  # flips to BLOCK
    call("s2", "send_email", agent="intern")  # unchanged: the refused read never ran
    held = call("s3", "wire_money")
    assert held["decision"] == "STEP_UP"
    server.approve(str(held["hold_token"]))
    call("s3", "close_account")  # flips to BLOCK: after an approved wire
    call("s3", "summarise")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_replay_and_coverage_on_recorded_traffic(
    make_thoth_server: Callable[..., ThothServer], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = make_thoth_server(RECORDED)
    record_traffic(server)
    candidate = tmp_path / "candidate.yaml"
    candidate.write_text(CANDIDATE, encoding="utf-8")
    replay = ("policy", "replay", "--db", server.db_url, "--policy", str(candidate))

    code, out, _ = run(capsys, *replay, "--json", "--max-flips", "3")
    assert code == 0
    report = json.loads(out)
    assert list(report) == [
        *("replayed", "unchanged", "flipped", "not_replayable", "flips"),
        *("by_candidate_rule", "by_recorded_rules", "by_tool", "examples"),
    ]
    assert (report["replayed"], report["unchanged"], report["flipped"]) == (7, 4, 3)
    assert report["not_replayable"] == {}
    assert report["flips"] == {"ALLOW -> BLOCK": 3}
    assert report["by_candidate_rule"] == {
        "audit-after-wire": 1,
        "no-secrets-for-interns": 1,
        "no-send-after-secret": 1,
    }
    assert report["by_recorded_rules"] == {"builtin.scope": 3}
    assert report["by_tool"] == {"close_account": 1, "get_secret": 1, "send_email": 1}
    examples = report["examples"]["ALLOW -> BLOCK"]
    assert [(e["agent_id"], e["tool_name"]) for e in examples] == [
        ("bot", "send_email"),
        ("intern", "get_secret"),
        ("bot", "close_account"),
    ]
    assert all(e["decision_id"].startswith("dec_") for e in examples)

    code, out, err = run(capsys, *replay, "--max-flips", "2")
    assert (code, err) == (1, "thoth: 3 calls flipped, more than --max-flips 2\n")
    assert out.splitlines()[0] == "7 calls replayed: 4 unchanged, 3 flipped"
    assert "       3  ALLOW -> BLOCK" in out.splitlines()
    assert SECRET_ARG not in out

    code, out, _ = run(capsys, *replay, "--tenant", "someone-else", "--json")
    assert (code, json.loads(out)["replayed"]) == (0, 0)

    code, out, _ = run(capsys, "policy", "coverage", str(candidate), "--db", server.db_url)
    assert code == 1
    lines = out.splitlines()
    assert lines[:2] == [
        "rules that never matched in the window: no-send-after-secret, no-secrets-for-interns, "
        "intern-secret-reads, audit-after-wire",
        "rule intern-secret-reads is shadowed by no-secrets-for-interns (it can never decide a call)",
    ]
    assert "summarise  NOT NAMED by any rule  (agents: bot)" in lines
    assert "get_secret  named by no-secrets-for-interns, intern-secret-reads  (agents: bot, intern)" in lines
    assert lines[-1] == "4 of 5 recorded tools named by a rule"


def test_replay_says_what_cannot_be_used(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    candidate = tmp_path / "candidate.yaml"
    candidate.write_text(CANDIDATE, encoding="utf-8")
    missing = f"sqlite:///{tmp_path / 'none.db'}"
    base = ("policy", "replay", "--db", missing, "--policy", str(candidate))

    code, _, err = run(capsys, *base)
    assert (code, err.strip()) == (2, f"thoth: no such SQLite store: {tmp_path / 'none.db'}")
    assert not (tmp_path / "none.db").exists()  # looking creates nothing

    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - id: x\n    decision: MAYBE\n", encoding="utf-8")
    code, _, err = run(capsys, "policy", "replay", "--db", missing, "--policy", str(bad))
    assert code == 2 and err.startswith(f"{bad}:")

    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    code, _, err = run(capsys, "policy", "replay", "--db", f"sqlite:///{empty}", "--policy", str(candidate))
    assert (code, err.strip()) == (2, f"thoth: sqlite:///{empty} holds no thoth decisions: check --db")

    code, _, err = run(capsys, *base, "--since", "yesterday")
    assert code == 2 and err.startswith("thoth: --since/--until: 'yesterday' is neither a time")

    with pytest.raises(SystemExit) as exited:
        main([*base, "--max-flips", "-1"])
    assert exited.value.code == 2
