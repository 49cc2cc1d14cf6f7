"""`thoth policy coverage`: the recorded tools no rule names, from a real server's tool inventory."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import thoth as sdk
from tests.conftest import ThothServer
from tests.server.test_cli import as_user, thoth
from thoth._runtime import runtime
from thoth.policy import load_policy
from thoth.server.coverage import RecordedTool, coverage

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "examples" / "policy.yaml"


def publish(server: ThothServer, agent_id: str, *names: str) -> None:
    """Instrument an agent with tools of these names, as an agent developer would."""

    def tool(name: str) -> Callable[..., str]:
        def run(target: str) -> str:
            return target

        run.__name__ = name
        return run

    sdk.instrument(
        [tool(name) for name in names],
        agent_id=agent_id,
        approved_scope=list(names),
        tenant_id=server.tenant_id,
        api_url=server.url,
        api_key=server.api_key,
    )
    assert runtime().background.wait_idle(10.0)


def test_coverage_names_the_tools_no_rule_mentions_and_the_rules_that_name_none(
    make_thoth_server: Callable[..., ThothServer],
) -> None:
    server = make_thoth_server(POLICY.read_text(encoding="utf-8"))
    publish(server, "billing-agent", "issue_refund", "delete_invoice", "summarise\x1b[2J")
    publish(server, "mail-agent", "send_email", "issue_refund")

    result = thoth("policy", "coverage", str(POLICY), env=as_user(server, server.api_key))

    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert "delete_invoice  named by no-deletes  (agents: billing-agent)" in lines
    assert "issue_refund  named by large-refunds, refund-budget  (agents: billing-agent, mail-agent)" in lines
    assert "send_email  named by external-email, no-exfiltration  (agents: mail-agent)" in lines
    assert "summarise\\x1b[2J  NOT NAMED by any rule  (agents: billing-agent)" in lines  # escaped
    assert "rules that name no recorded tool: exports-without-pii" in lines
    assert lines[-1] == "3 of 4 recorded tools named by a rule"

    one_agent = thoth(
        "policy", "coverage", str(POLICY), "--agent-id", "mail-agent", env=as_user(server, server.api_key)
    )
    assert (
        one_agent.returncode == 0
        and one_agent.stdout.splitlines()[-1] == "2 of 2 recorded tools named by a rule"
    )


def test_coverage_needs_a_readable_policy_and_a_reachable_server(
    tmp_path: Path, thoth_server: ThothServer
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules: [1]\n")
    assert (
        thoth("policy", "coverage", str(bad), env=as_user(thoth_server, thoth_server.api_key)).returncode == 2
    )
    wrong_key = thoth(
        "policy", "coverage", str(POLICY), env=as_user(thoth_server, "thoth_wrong_" + uuid.uuid4().hex)
    )
    assert wrong_key.returncode == 2 and "HTTP 401" in wrong_key.stderr
    empty = thoth(
        "policy",
        "coverage",
        str(POLICY),
        "--agent-id",
        "nobody",
        env=as_user(thoth_server, thoth_server.api_key),
    )
    assert empty.returncode == 0 and "no recorded tools" in empty.stdout


def test_rules_for_every_tool_are_listed_apart_and_agent_conditions_count() -> None:
    policy = load_policy(
        """
tags:
  money: ["pay_*"]
rules:
  - {id: sequence, after_tools: [read_secret], decision: BLOCK, reason: r}
  - {id: by-tag, tags: [money], decision: STEP_UP, reason: r}
  - {id: ops-only, tools: [restart], agents: ["ops-*"], decision: BLOCK, reason: r}
"""
    )
    report = coverage(
        policy,
        [
            RecordedTool("t", "billing", "pay_invoice"),
            RecordedTool("t", "billing", "restart"),
            RecordedTool("t", "ops-1", "read_secret"),
        ],
    )
    assert [(t.name, t.rule_ids) for t in report.tools] == [
        ("pay_invoice", ("by-tag",)),
        ("read_secret", ()),  # a sequence rule *after* it does not name it
        ("restart", ()),  # ops-only names restart for ops agents; only billing recorded it
    ]
    assert report.every_tool_rule_ids == ("sequence",)
    assert report.unused_rule_ids == ("ops-only",)
