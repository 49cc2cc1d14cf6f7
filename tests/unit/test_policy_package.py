"""thoth.policy: one pure engine for the server, local decisions and `thoth policy test`."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path
from typing import Any

import pytest

from thoth import policy
from thoth.server.policy_cases import run_cases
from thoth.server.schemas import ENFORCE_REQUEST, EnforceRequest

ROOT = Path(__file__).resolve().parents[2]
IO_LIBRARIES = {"httpx", "starlette", "sqlalchemy", "uvicorn", "anyio", "psycopg", "yaml"}

BODY: dict[str, Any] = {
    "agent_id": "billing-agent",
    "tenant_id": "acme-corp",
    "session_id": "s-1",
    "tool_name": "send_email",
    "tool_args": {"to": "bob@example.com"},
    "approved_scope": ["send_email"],
    "enforcement_mode": "block",
    "task_context": {"ticket": 42},
}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("module", sorted((ROOT / "thoth" / "policy").glob("*.py")), ids=lambda p: p.name)
def test_the_engine_imports_no_io_library(module: Path) -> None:
    allowed_yaml = module.name == "_yaml.py"  # the YAML reader, imported only to read a file
    found = imported_roots(module) & (IO_LIBRARIES - ({"yaml"} if allowed_yaml else set()))
    assert not found, f"{module.name} imports {found}"


def test_request_defaults_are_the_contracts() -> None:
    fields = EnforceRequest.model_fields
    for name, default in policy.REQUEST_DEFAULTS.items():
        expected = fields[name].default
        assert (list(default) if isinstance(default, tuple) else default) == expected, name


@pytest.mark.parametrize(
    "body",
    [
        BODY,
        {k: v for k, v in BODY.items() if k not in ("tool_args", "approved_scope", "enforcement_mode")},
        BODY | {"identity_binding": {"agent_id": "someone-else"}, "user_id": "u", "environment": "dev"},
    ],
    ids=["full", "defaults", "identity"],
)
def test_a_call_from_the_sdk_body_equals_the_call_from_the_validated_request(body: dict[str, Any]) -> None:
    assert policy.Call.from_request(body) == policy.Call.from_request(ENFORCE_REQUEST.validate_python(body))


def test_decide_refuses_an_identity_the_call_is_not_bound_to() -> None:
    call = policy.Call.from_request(BODY | {"identity_binding": {"agent_id": "someone-else"}})
    decided = policy.decide(policy.builtin_policy(), call, policy.SessionRecord(), 0.0)
    assert decided.outcome.decision is policy.Decision.BLOCK
    assert decided.result.matched_rule_ids == (policy.IDENTITY_RULE_ID,)
    assert decided.fact == "refused"


def test_policy_test_decides_as_the_server_does(tmp_path: Path) -> None:
    """`thoth policy test` goes through decide(): the identity check applies there too (before,
    it evaluated the rules itself and would ALLOW this call)."""
    cases = textwrap.dedent(
        """
        cases:
          - name: bound to another agent
            request: {tool_name: lookup, approved_scope: [lookup], identity_binding: {agent_id: other}}
            expect: BLOCK
            expect_rule: builtin.identity_binding
        """
    )
    [result] = run_cases(policy.builtin_policy(), cases, "cases.yaml")
    assert result.passed, result.detail


def test_the_policy_document_is_kept_as_json() -> None:
    loaded = policy.load_policy("version: 1\nrules:\n  - {id: r, tools: [x], decision: BLOCK}\n")
    assert loaded.document == {"version": 1, "rules": [{"id": "r", "tools": ["x"], "decision": "BLOCK"}]}
    assert type(loaded.document["rules"][0]) is dict  # plain data, not the YAML reader's marked dicts


@pytest.mark.parametrize(
    "text",
    [
        "version: 1\nrules:\n  - {id: r, tools: [x], decision: MODIFY, modify: {set: {day: 2026-12-04}}}\n",
        "version: 1\nrules:\n  - {id: r, tools: [x], decision: MODIFY, modify: {set: {n: .nan}}}\n",
    ],
    ids=["date", "nan"],
)
def test_a_value_json_cannot_carry_is_refused_at_load(text: str) -> None:
    with pytest.raises(policy.PolicyError, match="every value must be JSON"):
        policy.load_policy(text, "p.yaml")


def test_a_document_loads_as_its_yaml_does() -> None:
    text = (ROOT / "examples" / "policy.yaml").read_text(encoding="utf-8")
    from_yaml = policy.load_policy(text, "policy.yaml")
    from_data = policy.load_document(from_yaml.document, "bundle")
    assert [r.id for r in from_data.rules] == [r.id for r in from_yaml.rules]
    assert from_data.document == from_yaml.document


def test_errors_in_a_document_name_the_bundle_and_the_problem() -> None:
    with pytest.raises(policy.PolicyError, match=r"bundle:1:1: unknown key 'rulez'"):
        policy.load_document({"version": 1, "rulez": []}, "bundle")
    with pytest.raises(policy.PolicyError, match="invalid CEL in when"):
        policy.load_document({"rules": [{"id": "r", "when": "args.(", "decision": "BLOCK"}]}, "bundle")
