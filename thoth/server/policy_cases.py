"""``thoth policy test``: expected decisions for sample requests, checked without a server.

A cases file::

    cases:
      - name: internal mail is fine
        request: {tool_name: send_email, tool_args: {to: bob@acme.com}, approved_scope: [send_email]}
        expect: ALLOW
      - name: no mail after reading secrets
        session: [get_secret]             # tools that already ran in the session
        request: {tool_name: send_email, tool_args: {to: bob@acme.com}, enforcement_mode: block}
        expect: BLOCK
        expect_rule: no-exfiltration      # optional: a rule that must have matched
      - name: a session over its token budget waits for a human
        session_tokens: 250000            # LLM tokens the session's events reported
        request: {tool_name: send_email, tool_args: {to: bob@acme.com}, approved_scope: [send_email]}
        expect: STEP_UP

Each case's ``request`` takes any field of an enforce request (the body of ``POST /v1/enforce``,
checked the same way) and is decided as the server decides it (``Call.from_request``), including
the context a ``when`` reads as ``context.purpose``, ``context.data_classification``,
``context.task_context`` and ``context.session_intent``. ``agent_id``, ``tenant_id`` and
``session_id`` default to ``policy-test``; every other field has the server's default. Other keys
of a case: ``name``, ``session`` (tools that already ran in the session), ``session_tokens`` and
``agent_tokens_today`` (the LLM tokens the enforcer has counted for the session and for the agent
this UTC day, read by token-budget limits; 0 unless given), ``expect`` (the decision after the
enforcement mode) and ``expect_rule``. Any other key is refused: a misspelt one would otherwise
leave a case testing less than it says.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import attrs
import pydantic

from thoth.policy import Call, Policy, PolicyError, SessionRecord, _yaml, decide
from thoth.server.schemas import ENFORCE_REQUEST

_REQUEST_DEFAULTS = {"agent_id": "policy-test", "tenant_id": "policy-test", "session_id": "policy-test"}
_CASE_KEYS = frozenset(
    {"name", "request", "session", "session_tokens", "agent_tokens_today", "expect", "expect_rule"}
)


@attrs.frozen
class CaseResult:
    name: str
    passed: bool
    detail: str


def run_cases(policy: Policy, text: str, file: str) -> list[CaseResult]:
    doc = _yaml.load(text, file)
    cases = doc.get("cases") if isinstance(doc, Mapping) else doc
    if not isinstance(cases, list) or not cases:
        raise PolicyError("a cases file is a list of cases (or cases: [...])", file)
    return [_run_case(policy, case, index, file) for index, case in enumerate(cases, 1)]


def _run_case(policy: Policy, case: Any, index: int, file: str) -> CaseResult:
    where = getattr(case, "mark", None)
    line = where.line + 1 if where is not None else 1
    if not isinstance(case, Mapping) or "expect" not in case:
        raise PolicyError(f"case {index} needs request and expect", file, line, 1)
    name = str(case.get("name", f"case {index}"))
    unknown = sorted(str(key) for key in case if key not in _CASE_KEYS)
    if unknown:
        known = ", ".join(sorted(_CASE_KEYS))
        raise PolicyError(f"case {name!r}: unknown key {unknown[0]!r} (a case takes {known})", file, line, 1)
    try:
        request = ENFORCE_REQUEST.validate_python({**_REQUEST_DEFAULTS, **dict(case.get("request") or {})})
    except pydantic.ValidationError as exc:
        problem = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in problem["loc"])
        raise PolicyError(f"case {name!r}: request.{field}: {problem['msg']}", file, line, 1) from None
    record = SessionRecord(tokens=_token_count(case, "session_tokens", name, file, line))
    agent_tokens_today = _token_count(case, "agent_tokens_today", name, file, line)
    now = time.time()
    for tool in case.get("session") or ():
        record.ran(str(tool), now)
    decided = decide(policy, Call.from_request(request), record, now, agent_tokens_today=agent_tokens_today)
    result, outcome = decided.result, decided.outcome
    expected = str(case["expect"]).upper()
    got = outcome.decision.value
    rules = ", ".join(result.matched_rule_ids) or "none"
    passed = got == expected
    want_rule = case.get("expect_rule")
    if want_rule and want_rule not in result.matched_rule_ids:
        passed = False
    detail = f"expected {expected}, got {got} (rules: {rules}; {outcome.reason})"
    if want_rule:
        detail += f"; expected rule {want_rule}"
    return CaseResult(name, passed, detail)


def _token_count(case: Mapping[str, Any], key: str, name: str, file: str, line: int) -> int:
    value = case.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PolicyError(f"case {name!r}: {key} is a whole number of tokens, 0 or more", file, line, 1)
    return value
