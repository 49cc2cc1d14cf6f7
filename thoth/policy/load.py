"""Loading a policy (a YAML file, or the same document as data in a bundle) into rules.

A policy file::

    version: 1
    scope: enforce            # enforce (default) or ignore the caller's approved_scope
    hold_timeout_seconds: 900 # how long a STEP_UP hold waits for a human
    tags:                     # tool name patterns per tag, used by rules
      reads_secrets: [get_secret, "vault_*"]
      sends_data_out: [send_email, "http_*"]
    rules:
      - id: no-deletes
        tools: ["delete_*"]           # glob patterns on the tool name
        decision: BLOCK
        reason: deletes are never automated
      - id: external-email
        tools: [send_email]
        when: '!args.to.endsWith("@acme.com")'   # CEL on the call
        decision: STEP_UP
      - id: no-exfiltration
        after_tags: [reads_secrets]   # the session already ran such a tool
        tags: [sends_data_out]        # and this tool is tagged so
        decision: BLOCK
      - id: search-budget
        tools: [web_search]
        limit: {calls_per_tool: 5}    # or calls: N, calls_per_minute: N
        decision: BLOCK
      - id: token-budget
        limit: {tokens_per_session: 200000}   # or tokens_per_agent_per_day: N
        decision: STEP_UP             # or BLOCK: what the calls after the breach get
      - id: mask-ssn
        tools: [lookup_customer]
        decision: MODIFY
        modify: {mask: [ssn], truncate: {notes: 200}, set: {limit: 10}}

Every condition a rule names must hold for it to match (``tools``, ``agents``,
``environments``, ``tags``, ``after_tags``, ``after_tools``, ``limit``, ``when``).
All matching rules are found; the most restrictive decision wins
(BLOCK > STEP_UP > DEFER > MODIFY > ALLOW), so a rule can only tighten the policy,
except that an ALLOW rule exempts a call from the approved-scope check. With no
matching rule the built-in scope rule decides: in scope is ALLOW, out of scope is
STEP_UP, which the enforcement mode then turns into BLOCK or keeps (see
``apply_mode``). A condition that fails to evaluate blocks the call, naming the rule.

CEL variables: ``args`` (map), ``tool``, ``tags`` (list of the tool's tags), ``agent``,
``user``, ``tenant``, ``environment``, ``mode``, ``context`` (map of purpose,
data_classification, task_context, session_intent) and ``session`` (map: ``calls``,
``tool_calls`` (this tool), ``calls_last_minute``, ``tokens``, ``tools`` (list, in order), ``tags``).

Token limits count the LLM tokens that the session's (or, per day, the agent's) LLM_INVOCATION
events report, as the enforcer has received them: once the count is at the limit, the session's
next tool calls get the rule's decision. The SDK sends those events in the background, so a
budget is enforced from the first tool call after the events of the breach arrive.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from thoth.policy._document import LocatedError, MarkedDict
from thoth.policy.cel import CelCompileError, CelEngine, Condition, default_engine
from thoth.policy.rules import (
    DECISIONS_LISTED,
    TOKEN_LIMITS,
    Decision,
    Limit,
    Modification,
    Policy,
    Rule,
    _glob,
)

PolicyError = LocatedError
NO_VERSION_WARNING: Final = (
    "no `version`: read as version 1; add `version: 1` so that a later format is never misread as this one"
)

_TOP_KEYS: Final = {"version", "scope", "hold_timeout_seconds", "tags", "rules"}
_RULE_KEYS: Final = {
    "id",
    "description",
    "decision",
    "reason",
    "code",
    "tools",
    "agents",
    "environments",
    "tags",
    "after_tags",
    "after_tools",
    "limit",
    "when",
    "modify",
    "defer_timeout_seconds",
    "hold_timeout_seconds",
}
_MODIFY_KEYS: Final = {"mask", "truncate", "set"}
_LIMIT_KINDS: Final = (
    "calls",
    "calls_per_tool",
    "calls_per_minute",
    "tokens_per_session",
    "tokens_per_agent_per_day",
)


class _Reader:
    """Reads one policy document, raising PolicyError with the file position of bad input."""

    def __init__(self, file: str, text: str, engine: CelEngine) -> None:
        self.file = file
        self.lines = text.splitlines()
        self.engine = engine

    def fail(self, message: str, where: Any, key: Any = None) -> PolicyError:
        mark = None
        if isinstance(where, MarkedDict):
            mark = where.marks.get(key, where.mark) if key is not None else where.mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        return PolicyError(message, self.file, line, column)

    def mapping(self, value: Any, parent: Any, key: Any, allowed: Iterable[str]) -> dict[Any, Any]:
        if not isinstance(value, dict):
            raise self.fail(f"{key} must be a mapping", parent, key)
        for name in value:
            if name not in allowed:
                where = ", ".join(sorted(allowed))
                raise self.fail(f"unknown key {name!r} (expected one of: {where})", value, name)
        return value

    def strings(self, node: dict[Any, Any], key: str) -> tuple[str, ...] | None:
        value = node.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
            raise self.fail(f"{key} must be a non-empty list of strings", node, key)
        return tuple(value)

    def number(self, node: dict[Any, Any], key: str, integer: bool = False) -> Any:
        value: Any = node.get(key)
        if value is None:
            return None
        numeric = isinstance(value, int) or (not integer and isinstance(value, float))
        if isinstance(value, bool) or not numeric or value <= 0:
            kind = "a positive integer" if integer else "a positive number"
            raise self.fail(f"{key} must be {kind}", node, key)
        return value

    def condition(self, node: dict[Any, Any], key: str) -> Condition | None:
        source = node.get(key)
        if source is None:
            return None
        if not isinstance(source, str) or not source.strip():
            raise self.fail(f"{key} must be a CEL expression string", node, key)
        try:
            return self.engine.compile(source)
        except CelCompileError as exc:
            line, column = self._expression_position(node, key, exc.line, exc.column)
            raise PolicyError(f"invalid CEL in {key}: {exc.message}", self.file, line, column) from None

    def _expression_position(self, node: dict[Any, Any], key: str, line: int, column: int) -> tuple[int, int]:
        if not isinstance(node, MarkedDict):  # a bundle's data: positions within the expression
            return line, column
        mark = node.marks[key]
        style = node.styles.get(key)
        if style in ("|", ">"):  # block scalar: the text starts on the next line, indented
            file_line = mark.line + 1 + line
            text = self.lines[file_line - 1] if file_line - 1 < len(self.lines) else ""
            return file_line, len(text) - len(text.lstrip()) + column
        if line == 1:
            return mark.line + 1, mark.column + column + (1 if style in ("'", '"') else 0)
        return mark.line + line, column


def load_policy(text: str, file: str = "<policy>", engine: CelEngine | None = None) -> Policy:
    """Parse and check a YAML policy; any problem is a PolicyError naming file, line and column."""
    from thoth.policy import _yaml

    doc = _yaml.load(text, file)
    if doc is None:  # nothing but blanks and comments: most likely the wrong file, or one cut short
        raise PolicyError(
            "the policy file is empty: write at least `version: 1` (with no rules, only approved_scope "
            "is enforced, as with no --policy)",
            file,
        )
    policy = load_document(doc, file, engine, text)
    policy.document = _as_json(doc, file)
    return policy


def _as_json(doc: Any, file: str) -> dict[str, Any]:
    """The document as JSON data: what bundles carry and answers return, so no YAML-only value
    (a date, a NaN) may reach either."""
    try:
        data = json.loads(json.dumps(doc, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise PolicyError(f"every value must be JSON (text, numbers, lists, maps): {exc}", file) from None
    assert isinstance(data, dict)
    return data


def load_document(
    doc: Any, file: str = "<policy>", engine: CelEngine | None = None, text: str = ""
) -> Policy:
    """Check a policy document (the YAML file's content as data, as a bundle carries it)."""
    engine = engine or default_engine()
    reader = _Reader(file, text, engine)
    top = reader.mapping(doc, doc, "the policy", _TOP_KEYS)
    version = top.get("version", 1)
    if version != 1:
        raise reader.fail("version must be 1", top, "version")
    warnings = () if "version" in top else (NO_VERSION_WARNING,)
    scope = top.get("scope", "enforce")
    if scope not in ("enforce", "ignore"):
        raise reader.fail("scope must be 'enforce' or 'ignore'", top, "scope")
    tags = _load_tags(reader, top)
    rules = _load_rules(reader, top, tags)
    return Policy(
        document=doc,
        rules=rules,
        tags={name: pattern for name, pattern in tags.items() if pattern is not None},
        enforce_scope=scope == "enforce",
        hold_timeout_seconds=float(reader.number(top, "hold_timeout_seconds") or 900.0),
        engine=engine,
        source=file,
        warnings=warnings,
    )


def load_policy_file(path: str | Path, engine: CelEngine | None = None) -> Policy:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"cannot read policy: {getattr(exc, 'strerror', None) or exc}", str(path)) from None
    return load_policy(text, str(path), engine)


def builtin_policy() -> Policy:
    """No file: only the approved-scope rule."""
    return Policy()


def _load_tags(reader: _Reader, top: dict[Any, Any]) -> dict[str, re.Pattern[str] | None]:
    raw = top.get("tags")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise reader.fail("tags must map a tag name to tool name patterns", top, "tags")
    tags: dict[str, re.Pattern[str] | None] = {}
    for name in raw:
        if not isinstance(name, str) or not name:
            raise reader.fail("a tag name must be a string", raw, name)
        tags[name] = _glob(reader.strings(raw, name) or ())
    return tags


def _load_rules(reader: _Reader, top: dict[Any, Any], tags: Mapping[str, Any]) -> tuple[Rule, ...]:
    raw = top.get("rules", [])
    if not isinstance(raw, list):
        raise reader.fail("rules must be a list", top, "rules")
    rules: list[Rule] = []
    seen: set[str] = set()
    for item in raw:
        node = reader.mapping(item, top, "each rule", _RULE_KEYS)
        rule = _load_rule(reader, node, tags)
        if rule.id in seen:
            raise reader.fail(f"duplicate rule id {rule.id!r}", node, "id")
        seen.add(rule.id)
        rules.append(rule)
    return tuple(rules)


def _load_rule(reader: _Reader, node: dict[Any, Any], tags: Mapping[str, Any]) -> Rule:
    rule_id = node.get("id")
    if not isinstance(rule_id, str) or not rule_id:
        raise reader.fail("each rule needs an id (a string)", node, "id" if "id" in node else None)
    raw_decision = str(node.get("decision"))
    try:
        decision = Decision(raw_decision)
    except ValueError:
        names = ", ".join(d.value for d in DECISIONS_LISTED)
        where = "decision" if "decision" in node else None
        raise reader.fail(f"decision must be one of {names}", node, where) from None
    for key in ("tags", "after_tags"):
        for tag in reader.strings(node, key) or ():
            if tag not in tags:
                raise reader.fail(f"unknown tag {tag!r}: declare it under tags", node, key)
    reason = node.get("reason", node.get("description", f"policy rule {rule_id}"))
    if not isinstance(reason, str):
        raise reader.fail("reason must be a string", node, "reason")
    limit = _load_limit(reader, node)
    modify = _load_modify(reader, node)
    if decision is Decision.MODIFY and modify is None:
        raise reader.fail("a MODIFY rule needs modify: {mask, truncate, set}", node, "decision")
    if modify is not None and decision is not Decision.MODIFY:
        raise reader.fail("modify is only for decision MODIFY", node, "modify")
    code = node.get("code") or _default_code(node, limit)
    if not isinstance(code, str):
        raise reader.fail("code must be a string", node, "code")
    envs = reader.strings(node, "environments")
    rule_tags = reader.strings(node, "tags")
    after_tags = reader.strings(node, "after_tags")
    return Rule(
        id=rule_id,
        decision=decision,
        reason=reason,
        code=code,
        tools=_glob(reader.strings(node, "tools") or ()),
        agents=_glob(reader.strings(node, "agents") or ()),
        environments=frozenset(envs) if envs else None,
        tags=frozenset(rule_tags) if rule_tags else None,
        after_tags=frozenset(after_tags) if after_tags else None,
        after_tools=_glob(reader.strings(node, "after_tools") or ()),
        limit=limit,
        condition=reader.condition(node, "when"),
        modify=modify,
        defer_timeout_seconds=reader.number(node, "defer_timeout_seconds"),
        hold_timeout_seconds=reader.number(node, "hold_timeout_seconds"),
    )


def _default_code(node: dict[Any, Any], limit: Limit | None) -> str:
    if limit is not None:
        return "TOKEN_BUDGET" if limit.kind in TOKEN_LIMITS else "SESSION_LIMIT"
    if "after_tags" in node or "after_tools" in node:
        return "SEQUENCE"
    return "POLICY_RULE"


def _load_limit(reader: _Reader, node: dict[Any, Any]) -> Limit | None:
    if "limit" not in node:
        return None
    raw = reader.mapping(node["limit"], node, "limit", _LIMIT_KINDS)
    if len(raw) != 1:
        raise reader.fail("limit takes exactly one of: " + ", ".join(_LIMIT_KINDS), node, "limit")
    kind = next(iter(raw))
    maximum = reader.number(raw, kind, integer=True)
    return Limit(kind, maximum)


def _load_modify(reader: _Reader, node: dict[Any, Any]) -> Modification | None:
    if "modify" not in node:
        return None
    raw = reader.mapping(node["modify"], node, "modify", _MODIFY_KEYS)
    mask = reader.strings(raw, "mask") or ()
    truncate: list[tuple[str, int]] = []
    sets: list[tuple[str, Any]] = []
    if "truncate" in raw:
        spec = reader.mapping(raw["truncate"], raw, "truncate", _AnyKey())
        for path in spec:
            truncate.append((str(path), reader.number(spec, path, integer=True)))
    if "set" in raw:
        spec = reader.mapping(raw["set"], raw, "set", _AnyKey())
        sets.extend((str(path), value) for path, value in spec.items())
    if not (mask or truncate or sets):
        raise reader.fail("modify needs mask, truncate or set", node, "modify")
    return Modification(mask, tuple(truncate), tuple(sets))


class _AnyKey(frozenset[str]):
    def __contains__(self, item: object) -> bool:
        return True
