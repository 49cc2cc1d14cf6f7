"""Policies: loading a YAML file into rules, and deciding a call (pure, no I/O).

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
``tool_calls`` (this tool), ``calls_last_minute``, ``tools`` (list, in order), ``tags``).
"""

from __future__ import annotations

import copy
import fnmatch
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol

import attrs

from thoth._wire import DecisionType, EnforcementMode
from thoth.server import _yaml
from thoth.server._yaml import LocatedError, MarkedDict
from thoth.server.cel import CelCompileError, CelEngine, CelEvalError, Condition, default_engine

if TYPE_CHECKING:
    from thoth.server.schemas import EnforceRequest

PolicyError = LocatedError

SCOPE_RULE_ID: Final = "builtin.scope"
CONTEXT_KEYS: Final = ("purpose", "data_classification", "task_context", "session_intent")
MASK: Final = "***"


Decision = DecisionType  # the contract's enum (generated from openapi/thoth.yaml), by its old name

#: How restrictive each decision is; the most restrictive matching rule wins.
SEVERITY: Final = {
    Decision.ALLOW: 0,
    Decision.MODIFY: 1,
    Decision.DEFER: 2,
    Decision.STEP_UP: 3,
    Decision.BLOCK: 4,
}
#: The decisions in the order messages list them (the generated enum's order is alphabetical).
DECISIONS_LISTED: Final = (Decision.ALLOW, Decision.BLOCK, Decision.STEP_UP, Decision.MODIFY, Decision.DEFER)

LimitKind = Literal["calls", "calls_per_tool", "calls_per_minute"]


@attrs.frozen
class Limit:
    kind: LimitKind
    maximum: int


@attrs.frozen
class Modification:
    mask: tuple[str, ...] = ()
    truncate: tuple[tuple[str, int], ...] = ()
    set: tuple[tuple[str, Any], ...] = ()

    def apply(self, args: dict[str, Any]) -> None:
        """Rewrite ``args`` in place; dotted paths reach into nested objects."""
        for path in self.mask:
            _update(args, path, _masked, create=False)
        for path, size in self.truncate:
            _update(args, path, partial(_truncated, size=size), create=False)
        for path, value in self.set:
            _update(args, path, partial(_replaced, value=value), create=True)


def _masked(_old: Any) -> Any:
    return MASK


def _truncated(old: Any, size: int) -> Any:
    return old[:size] if isinstance(old, str | list) else old


def _replaced(_old: Any, value: Any) -> Any:
    return copy.deepcopy(value)


def _update(args: dict[str, Any], path: str, change: Callable[[Any], Any], create: bool) -> None:
    *parents, leaf = path.split(".")
    node: Any = args
    for part in parents:
        child = node.get(part) if isinstance(node, dict) else None
        if not isinstance(child, dict):
            if not create:
                return
            child = {}
            node[part] = child
        node = child
    if leaf in node:
        node[leaf] = change(node[leaf])
    elif create:
        node[leaf] = change(None)


def _glob(patterns: Sequence[str]) -> re.Pattern[str] | None:
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))


@attrs.frozen
class Rule:
    id: str
    decision: Decision
    reason: str
    code: str
    tools: re.Pattern[str] | None = None
    agents: re.Pattern[str] | None = None
    environments: frozenset[str] | None = None
    tags: frozenset[str] | None = None
    after_tags: frozenset[str] | None = None
    after_tools: re.Pattern[str] | None = None
    limit: Limit | None = None
    condition: Condition | None = None
    modify: Modification | None = None
    defer_timeout_seconds: float | None = None
    hold_timeout_seconds: float | None = None


class SessionView(Protocol):
    """What the enforcer's own record knows about a session (calls that were let run)."""

    @property
    def calls(self) -> int: ...

    @property
    def tools(self) -> Sequence[str]: ...

    def tool_calls(self, tool: str) -> int: ...

    def calls_since(self, since: float) -> int: ...


@attrs.frozen
class Call:
    """One enforce request, as the policy sees it. Build it from a request with ``from_request``."""

    tool: str
    args: Mapping[str, Any]
    agent: str
    user: str
    tenant: str
    environment: str
    mode: EnforcementMode = attrs.field(converter=EnforcementMode)  # "block" becomes the enum, once
    approved_scope: frozenset[str]
    context: Mapping[str, str] = attrs.field(factory=dict)

    @classmethod
    def from_request(cls, request: EnforceRequest) -> Call:
        """The one mapping from an enforce request (``schemas.EnforceRequest``, validated) to a Call,
        used by the server and by ``thoth policy test`` alike, so both decide the same request
        the same way."""
        return cls(
            tool=request.tool_name,
            args=request.tool_args,
            agent=request.agent_id,
            user=request.user_id,
            tenant=request.tenant_id,
            environment=request.environment,
            mode=request.enforcement_mode,
            approved_scope=frozenset(request.approved_scope),
            context={key: _context_text(getattr(request, key)) for key in CONTEXT_KEYS},
        )


def _context_text(value: str | Mapping[str, Any]) -> str:
    """Context is text to the policy; an object (atensec-thoth's task_context) is its canonical JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@attrs.frozen
class PolicyResult:
    decision: Decision
    reason: str
    reason_code: str
    rule_id: str
    matched_rule_ids: tuple[str, ...]
    modified_args: dict[str, Any] | None = None
    defer_timeout_seconds: float | None = None
    hold_timeout_seconds: float | None = None


@attrs.define
class Policy:
    rules: tuple[Rule, ...] = ()
    tags: Mapping[str, re.Pattern[str]] = attrs.field(factory=dict)
    enforce_scope: bool = True
    hold_timeout_seconds: float = 900.0
    engine: CelEngine | None = None
    source: str = "<built-in>"
    _tag_cache: dict[str, frozenset[str]] = attrs.field(factory=dict, init=False)
    _uses_session: bool = attrs.field(default=False, init=False)

    def __attrs_post_init__(self) -> None:
        self._uses_session = any(
            r.condition is not None and re.search(r"\bsession\b", r.condition.source) for r in self.rules
        )

    def tags_for(self, tool: str) -> frozenset[str]:
        found = self._tag_cache.get(tool)
        if found is None:
            found = frozenset(tag for tag, pattern in self.tags.items() if pattern.fullmatch(tool))
            if len(self._tag_cache) < 100_000:
                self._tag_cache[tool] = found
        return found

    def evaluate(self, call: Call, session: SessionView, now: float) -> PolicyResult:
        """Decide ``call`` before the enforcement mode is applied."""
        tool_tags = self.tags_for(call.tool)
        activation: Any = None
        matches: list[tuple[Rule, Decision, str, str]] = []
        for rule in self.rules:
            try:
                if not self._matches(rule, call, tool_tags, session, now):
                    continue
                if rule.condition is not None:
                    if activation is None:
                        activation = self._activation(call, tool_tags, session, now)
                    if not rule.condition.evaluate(activation):
                        continue
            except CelEvalError as exc:
                reason = f"rule {rule.id} failed to evaluate: {exc}"
                matches.append((rule, Decision.BLOCK, reason, "RULE_ERROR"))
                continue
            matches.append((rule, rule.decision, rule.reason, rule.code))
        return self._combine(call, matches)

    def _matches(
        self, rule: Rule, call: Call, tool_tags: frozenset[str], session: SessionView, now: float
    ) -> bool:
        if rule.tools is not None and not rule.tools.fullmatch(call.tool):
            return False
        if rule.agents is not None and not rule.agents.fullmatch(call.agent):
            return False
        if rule.environments is not None and call.environment not in rule.environments:
            return False
        if rule.tags is not None and not (rule.tags & tool_tags):
            return False
        if rule.after_tags is not None and not any(rule.after_tags & self.tags_for(t) for t in session.tools):
            return False
        if rule.after_tools is not None and not any(rule.after_tools.fullmatch(t) for t in session.tools):
            return False
        return rule.limit is None or _limit_reached(rule.limit, call.tool, session, now)

    def _activation(self, call: Call, tool_tags: frozenset[str], session: SessionView, now: float) -> Any:
        assert self.engine is not None
        facts: dict[str, Any] = {}
        if self._uses_session:
            tools = list(session.tools)
            seen_tags: set[str] = set()
            for name in set(tools):
                seen_tags |= self.tags_for(name)
            facts = {
                "calls": session.calls,
                "tool_calls": session.tool_calls(call.tool),
                "calls_last_minute": session.calls_since(now - 60.0),
                "tools": tools,
                "tags": sorted(seen_tags),
            }
        return self.engine.activation(
            {
                "args": call.args,
                "tool": call.tool,
                "tags": sorted(tool_tags),
                "agent": call.agent,
                "user": call.user,
                "tenant": call.tenant,
                "environment": call.environment,
                "mode": call.mode.value,
                "session": facts,
                "context": {key: str(call.context.get(key, "")) for key in CONTEXT_KEYS},
            }
        )

    def _combine(self, call: Call, matches: list[tuple[Rule, Decision, str, str]]) -> PolicyResult:
        ids = [rule.id for rule, *_ in matches]
        exempt = any(decision is Decision.ALLOW for _, decision, _, _ in matches)
        scope_ok = not self.enforce_scope or exempt or call.tool in call.approved_scope
        if not scope_ok:
            ids.append(SCOPE_RULE_ID)
            matches.append(
                (_SCOPE_RULE, Decision.STEP_UP, f"{call.tool} is outside the approved scope", "OUT_OF_SCOPE")
            )
        restrictive = [m for m in matches if m[1] is not Decision.ALLOW]
        if not restrictive:
            allow = next((m for m in matches if m[1] is Decision.ALLOW), None)
            if allow is not None:
                return PolicyResult(Decision.ALLOW, allow[2], allow[3], allow[0].id, tuple(ids))
            if self.enforce_scope:
                ids.append(SCOPE_RULE_ID)
            return PolicyResult(Decision.ALLOW, "in approved scope", "IN_SCOPE", SCOPE_RULE_ID, tuple(ids))
        rule, decision, reason, code = max(restrictive, key=lambda m: SEVERITY[m[1]])  # first of the worst
        modified = None
        if decision is Decision.MODIFY:
            modified = copy.deepcopy(dict(call.args))
            for other, other_decision, _, _ in restrictive:
                if other_decision is Decision.MODIFY and other.modify is not None:
                    other.modify.apply(modified)
        return PolicyResult(
            decision,
            reason,
            code,
            rule.id,
            tuple(ids),
            modified_args=modified,
            defer_timeout_seconds=rule.defer_timeout_seconds,
            hold_timeout_seconds=rule.hold_timeout_seconds or self.hold_timeout_seconds,
        )


_SCOPE_RULE = Rule(SCOPE_RULE_ID, Decision.STEP_UP, "outside the approved scope", "OUT_OF_SCOPE")


def _limit_reached(limit: Limit, tool: str, session: SessionView, now: float) -> bool:
    if limit.kind == "calls":
        used = session.calls
    elif limit.kind == "calls_per_tool":
        used = session.tool_calls(tool)
    else:
        used = session.calls_since(now - 60.0)
    return used >= limit.maximum


# -- enforcement modes ----------------------------------------------------------------------------


@attrs.frozen
class Outcome:
    """What the caller is told, after the mode is applied."""

    decision: Decision
    reason: str
    reason_code: str
    shadow_decision: Decision | None = None


def apply_mode(result: PolicyResult, mode: EnforcementMode, escalate: bool) -> Outcome:
    """observe: always ALLOW (the policy's decision is the shadow); block: STEP_UP becomes BLOCK;
    step_up: as decided; progressive: STEP_UP, or BLOCK when ``escalate`` (the session had a
    hold denied or repeats a violation)."""
    decision = result.decision
    if mode == EnforcementMode.OBSERVE:
        return Outcome(Decision.ALLOW, f"observe mode: {result.reason}", "OBSERVE", decision)
    if decision is Decision.STEP_UP and mode == EnforcementMode.BLOCK:
        return Outcome(Decision.BLOCK, result.reason, result.reason_code)
    if decision is Decision.STEP_UP and mode == EnforcementMode.PROGRESSIVE and escalate:
        return Outcome(Decision.BLOCK, f"{result.reason} (repeated in this session)", "REPEATED_VIOLATION")
    return Outcome(decision, result.reason, result.reason_code)


CLIENT_CANNOT_APPLY: Final = "CLIENT_CANNOT_APPLY"


def for_a_client_without_modify(outcome: Outcome) -> Outcome:
    """The answer for a client that knows only ALLOW, BLOCK and STEP_UP (aten-thoth <= 0.1.6).

    Those releases run the tool on any answer they cannot read, so a MODIFY would run with the
    arguments it meant to rewrite and a DEFER would run at once: they are told BLOCK instead.
    """
    if outcome.decision not in (Decision.MODIFY, Decision.DEFER):
        return outcome
    reason = f"{outcome.reason} (a {outcome.decision.value} this client cannot apply, so blocked)"
    return Outcome(Decision.BLOCK, reason, CLIENT_CANNOT_APPLY, outcome.shadow_decision)


# -- loading --------------------------------------------------------------------------------------

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
_LIMIT_KINDS: Final = ("calls", "calls_per_tool", "calls_per_minute")


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

    def mapping(self, value: Any, parent: Any, key: Any, allowed: Iterable[str]) -> MarkedDict:
        if not isinstance(value, MarkedDict):
            raise self.fail(f"{key} must be a mapping", parent, key)
        for name in value:
            if name not in allowed:
                where = ", ".join(sorted(allowed))
                raise self.fail(f"unknown key {name!r} (expected one of: {where})", value, name)
        return value

    def strings(self, node: MarkedDict, key: str) -> tuple[str, ...] | None:
        value = node.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
            raise self.fail(f"{key} must be a non-empty list of strings", node, key)
        return tuple(value)

    def number(self, node: MarkedDict, key: str, integer: bool = False) -> Any:
        value: Any = node.get(key)
        if value is None:
            return None
        numeric = isinstance(value, int) or (not integer and isinstance(value, float))
        if isinstance(value, bool) or not numeric or value <= 0:
            kind = "a positive integer" if integer else "a positive number"
            raise self.fail(f"{key} must be {kind}", node, key)
        return value

    def condition(self, node: MarkedDict, key: str) -> Condition | None:
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

    def _expression_position(self, node: MarkedDict, key: str, line: int, column: int) -> tuple[int, int]:
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
    """Parse and check a policy; any problem is a PolicyError naming file, line and column."""
    engine = engine or default_engine()
    reader = _Reader(file, text, engine)
    doc = _yaml.load(text, file)
    if doc is None:
        doc = MarkedDict()
        doc.mark, doc.marks, doc.styles = None, {}, {}  # type: ignore[assignment]
    top = reader.mapping(doc, doc, "the policy", _TOP_KEYS)
    version = top.get("version", 1)
    if version != 1:
        raise reader.fail("version must be 1", top, "version")
    scope = top.get("scope", "enforce")
    if scope not in ("enforce", "ignore"):
        raise reader.fail("scope must be 'enforce' or 'ignore'", top, "scope")
    tags = _load_tags(reader, top)
    rules = _load_rules(reader, top, tags)
    return Policy(
        rules=rules,
        tags={name: pattern for name, pattern in tags.items() if pattern is not None},
        enforce_scope=scope == "enforce",
        hold_timeout_seconds=float(reader.number(top, "hold_timeout_seconds") or 900.0),
        engine=engine,
        source=file,
    )


def load_policy_file(path: str | Path, engine: CelEngine | None = None) -> Policy:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"cannot read policy: {exc}", str(path), 1, 1) from None
    return load_policy(text, str(path), engine)


def builtin_policy() -> Policy:
    """No file: only the approved-scope rule."""
    return Policy()


def _load_tags(reader: _Reader, top: MarkedDict) -> dict[str, re.Pattern[str] | None]:
    raw = top.get("tags")
    if raw is None:
        return {}
    if not isinstance(raw, MarkedDict):
        raise reader.fail("tags must map a tag name to tool name patterns", top, "tags")
    tags: dict[str, re.Pattern[str] | None] = {}
    for name in raw:
        if not isinstance(name, str) or not name:
            raise reader.fail("a tag name must be a string", raw, name)
        tags[name] = _glob(reader.strings(raw, name) or ())
    return tags


def _load_rules(reader: _Reader, top: MarkedDict, tags: Mapping[str, Any]) -> tuple[Rule, ...]:
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


def _load_rule(reader: _Reader, node: MarkedDict, tags: Mapping[str, Any]) -> Rule:
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


def _default_code(node: MarkedDict, limit: Limit | None) -> str:
    if limit is not None:
        return "SESSION_LIMIT"
    if "after_tags" in node or "after_tools" in node:
        return "SEQUENCE"
    return "POLICY_RULE"


def _load_limit(reader: _Reader, node: MarkedDict) -> Limit | None:
    if "limit" not in node:
        return None
    raw = reader.mapping(node["limit"], node, "limit", _LIMIT_KINDS)
    if len(raw) != 1:
        raise reader.fail("limit takes exactly one of: " + ", ".join(_LIMIT_KINDS), node, "limit")
    kind = next(iter(raw))
    maximum = reader.number(raw, kind, integer=True)
    return Limit(kind, maximum)


def _load_modify(reader: _Reader, node: MarkedDict) -> Modification | None:
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
