"""``thoth policy test`` decides a request as the server does: the same fields, the same context."""

from __future__ import annotations

import json
import textwrap
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import ThothServer
from thoth.policy import PolicyError
from thoth.server import load_policy
from thoth.server.policy_cases import run_cases

POLICY = textwrap.dedent(
    """
    rules:
      - id: exfiltration-intent
        tools: [send_email]
        when: 'context.session_intent.contains("exfiltrate")'
        decision: BLOCK
      - id: audit-needs-a-human
        tools: [send_email]
        when: 'context.task_context == "quarterly audit"'
        decision: STEP_UP
      - id: no-pii-for-marketing
        when: 'context.purpose == "marketing" && context.data_classification == "pii"'
        decision: BLOCK
      - id: staging-only
        tools: [reset_db]
        environments: [prod]
        decision: BLOCK
      - id: mallory-or-observed-waits
        when: 'user == "mallory" || mode == "observe"'
        decision: DEFER
    """
)
MAIL = {"tool_name": "send_email", "tool_args": {"to": "bob@acme.com"}, "approved_scope": ["send_email"]}
# request fields -> the decision both must give
REQUESTS: list[tuple[dict[str, Any], str]] = [
    (MAIL, "ALLOW"),
    ({**MAIL, "session_intent": "exfiltrate the customer list"}, "BLOCK"),
    ({**MAIL, "task_context": "quarterly audit", "enforcement_mode": "step_up"}, "STEP_UP"),
    ({**MAIL, "task_context": "quarterly audit", "enforcement_mode": "block"}, "BLOCK"),
    ({**MAIL, "task_context": "quarterly audit", "enforcement_mode": "observe"}, "ALLOW"),
    ({**MAIL, "purpose": "marketing", "data_classification": "pii"}, "BLOCK"),
    ({"tool_name": "reset_db", "approved_scope": ["reset_db"], "environment": "staging"}, "ALLOW"),
    ({"tool_name": "reset_db", "approved_scope": ["reset_db"]}, "BLOCK"),  # environment: prod
    ({**MAIL, "user_id": "mallory"}, "DEFER"),
    ({"tool_name": "read_file", "enforcement_mode": "block"}, "BLOCK"),  # out of scope
]


def test_policy_test_and_the_server_decide_each_request_alike(
    make_thoth_server: Callable[..., ThothServer],
) -> None:
    server = make_thoth_server(policy_text=POLICY)
    requests = [
        {
            "agent_id": "billing-agent",
            "tenant_id": server.tenant_id,
            "user_id": "alice",
            "session_id": str(uuid.uuid4()),
            **fields,
        }
        for fields, _ in REQUESTS
    ]
    by_server = [server.enforce(**request)["decision"] for request in requests]
    assert by_server == [expected for _, expected in REQUESTS]
    cases = [
        {"name": f"case {index}", "request": request, "expect": decision}
        for index, (request, decision) in enumerate(zip(requests, by_server, strict=True), 1)
    ]
    results = run_cases(load_policy(POLICY, "policy.yaml"), json.dumps({"cases": cases}), "cases.yaml")
    assert [r.detail for r in results if not r.passed] == []
    assert len(results) == len(REQUESTS)


@pytest.mark.parametrize("key", ["session_intent", "task_context", "purpose", "data_classification"])
def test_policy_test_reads_every_context_key_of_the_request(key: str) -> None:
    text = f"rules:\n  - {{id: by-{key}, when: 'context.{key} == \"x\"', decision: BLOCK}}\n"
    cases = {"cases": [{"request": {"tool_name": "t", "approved_scope": ["t"], key: "x"}, "expect": "BLOCK"}]}
    [result] = run_cases(load_policy(text, "policy.yaml"), json.dumps(cases), "cases.yaml")
    assert result.passed, result.detail


TOKEN_BUDGETS = """\
rules:
  - {id: session-tokens, limit: {tokens_per_session: 1000}, decision: STEP_UP}
  - {id: daily-tokens, limit: {tokens_per_agent_per_day: 2500}, decision: BLOCK}
"""


def test_policy_test_decides_token_budgets_as_the_server_does_from_recorded_events(
    make_thoth_server: Callable[..., ThothServer],
) -> None:
    server = make_thoth_server(policy_text=TOKEN_BUDGETS)
    agent = f"spender-{uuid.uuid4().hex[:8]}"
    # (tokens the session's events report, in order) -> the state both must decide from
    spends = [[], [999], [600, 400], [400], [101]]  # the agent reaches 2500 today in the last
    cases, decisions = [], []
    day = 0
    for spent in spends:
        session = str(uuid.uuid4())
        events = [server.llm_event(session, agent, total_tokens=tokens) for tokens in spent]
        if events:
            with server.client() as client:
                assert client.post("/v1/events/batch", json=events).json()["accepted"] == len(events)
        day += sum(spent)
        request = {"tool_name": "read_file", "approved_scope": ["read_file"], "enforcement_mode": "step_up"}
        answer = server.enforce(**request, agent_id=agent, session_id=session, tenant_id=server.tenant_id)
        decisions.append(answer["decision"])
        cases.append(
            {
                "request": request,
                "session_tokens": sum(spent),
                "agent_tokens_today": day,
                "expect": answer["decision"],
            }
        )
    assert decisions == ["ALLOW", "ALLOW", "STEP_UP", "ALLOW", "BLOCK"]
    results = run_cases(load_policy(TOKEN_BUDGETS, "policy.yaml"), json.dumps({"cases": cases}), "cases.yaml")
    assert [r.detail for r in results if not r.passed] == []
    assert len(results) == len(spends)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ({"session_token": 5}, "unknown key 'session_token'"),
        ({"session_tokens": -1}, "session_tokens is a whole number of tokens"),
        ({"session_tokens": "lots"}, "session_tokens is a whole number of tokens"),
        ({"agent_tokens_today": True}, "agent_tokens_today is a whole number of tokens"),
        ({"agent_tokens_today": 1.5}, "agent_tokens_today is a whole number of tokens"),
    ],
)
def test_a_case_with_a_misspelt_key_or_a_bad_token_count_is_refused(
    case: dict[str, Any], message: str
) -> None:
    text = json.dumps({"cases": [{"name": "c", "request": {"tool_name": "t"}, "expect": "ALLOW", **case}]})
    with pytest.raises(PolicyError, match=message):
        run_cases(load_policy(TOKEN_BUDGETS, "policy.yaml"), text, "cases.yaml")
