"""The policy model and how it decides one call (pure: no I/O, no clock, no framework).

The file format, and what each condition means, is described in ``thoth.policy.load``.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import re
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol

import attrs

from thoth._wire import DecisionType, EnforcementMode
from thoth.policy.cel import CelEngine, CelEvalError, Condition

if TYPE_CHECKING:
    from thoth.server.schemas import EnforceRequest

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

LimitKind = Literal[
    "calls", "calls_per_tool", "calls_per_minute", "tokens_per_session", "tokens_per_agent_per_day"
]
#: Limits counted in LLM tokens, from the session's (or the agent's) recorded LLM_INVOCATION events.
TOKEN_LIMITS: Final = frozenset({"tokens_per_session", "tokens_per_agent_per_day"})


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

    @property
    def tokens(self) -> int:
        """LLM tokens the session's recorded LLM_INVOCATION events report."""
        ...


#: What an enforce request's optional fields mean when a caller leaves them out: the contract's
#: defaults (``schemas.EnforceRequest`` has the same; tests/unit/test_policy_package.py checks).
REQUEST_DEFAULTS: Final[Mapping[str, Any]] = {
    "user_id": "system",
    "approved_scope": (),
    "enforcement_mode": "progressive",
    "environment": "prod",
    "tool_args": {},
    "session_intent": "",
    "purpose": "",
    "data_classification": "",
    "task_context": "",
    "identity_binding": {},
}


@attrs.frozen
class Call:
    """One enforce request, as the policy sees it. Build it with ``from_request``."""

    tool: str
    args: Mapping[str, Any]
    agent: str
    user: str
    tenant: str
    environment: str
    mode: EnforcementMode = attrs.field(converter=EnforcementMode)  # "block" becomes the enum, once
    approved_scope: frozenset[str]
    context: Mapping[str, str] = attrs.field(factory=dict)
    identity_binding: Mapping[str, Any] = attrs.field(factory=dict)

    @classmethod
    def from_request(cls, request: EnforceRequest | Mapping[str, Any]) -> Call:
        """The one mapping from an enforce request to a Call: the server's validated
        ``schemas.EnforceRequest``, or the body the SDK would send (a mapping, for decisions in
        process), so the server, local decisions and ``thoth policy test`` decide alike."""
        if isinstance(request, Mapping):
            return _call_of_body(request)
        field = partial(getattr, request)
        return cls(
            tool=field("tool_name"),
            args=field("tool_args"),
            agent=field("agent_id"),
            user=field("user_id"),
            tenant=field("tenant_id"),
            environment=field("environment"),
            mode=field("enforcement_mode"),
            approved_scope=frozenset(field("approved_scope")),
            context={key: _context_text(field(key)) for key in CONTEXT_KEYS},
            identity_binding=field("identity_binding"),
        )


def _call_of_body(body: Mapping[str, Any]) -> Call:
    """``Call.from_request`` for a body as sent (the SDK's, in process): a missing or null field
    has the contract's default. Spelled out, not looped: local decisions make one per call."""
    get, default = body.get, REQUEST_DEFAULTS

    def text(name: str) -> str:
        value = get(name)
        return default[name] if value is None else _context_text(value)

    mode = get("enforcement_mode")
    return Call(
        tool=body["tool_name"],
        args=_or(get("tool_args"), default["tool_args"]),
        agent=body["agent_id"],
        user=_or(get("user_id"), default["user_id"]),
        tenant=body["tenant_id"],
        environment=_or(get("environment"), default["environment"]),
        mode=_MODES.get(str(mode)) or EnforcementMode(mode or default["enforcement_mode"]),
        approved_scope=frozenset(_or(get("approved_scope"), default["approved_scope"])),
        context={key: text(key) for key in CONTEXT_KEYS},
        identity_binding=_or(get("identity_binding"), default["identity_binding"]),
    )


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value


_MODES: Final = {mode.value: mode for mode in EnforcementMode}


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
    #: The policy as JSON data (what a bundle carries); the built-in policy is ``{"version": 1}``.
    document: Mapping[str, Any] = attrs.field(factory=lambda: {"version": 1}, repr=False)
    #: What is accepted but probably not meant (``thoth policy check`` and ``thoth serve`` say it).
    warnings: tuple[str, ...] = ()
    _tag_cache: dict[str, frozenset[str]] = attrs.field(factory=dict, init=False)
    _uses_session: bool = attrs.field(default=False, init=False)
    #: Whether a decision needs the agent's tokens of the day (a store read the enforcer skips
    #: when no rule has a ``tokens_per_agent_per_day`` limit).
    counts_agent_tokens: bool = attrs.field(default=False, init=False)

    def __attrs_post_init__(self) -> None:
        self._uses_session = any(
            r.condition is not None and re.search(r"\bsession\b", r.condition.source) for r in self.rules
        )
        self.counts_agent_tokens = any(
            r.limit is not None and r.limit.kind == "tokens_per_agent_per_day" for r in self.rules
        )

    def tags_for(self, tool: str) -> frozenset[str]:
        found = self._tag_cache.get(tool)
        if found is None:
            found = frozenset(tag for tag, pattern in self.tags.items() if pattern.fullmatch(tool))
            if len(self._tag_cache) < 100_000:
                self._tag_cache[tool] = found
        return found

    def evaluate(
        self, call: Call, session: SessionView, now: float, *, agent_tokens_today: int = 0
    ) -> PolicyResult:
        """Decide ``call`` before the enforcement mode is applied. ``agent_tokens_today``: the LLM
        tokens the call's agent has spent this UTC day, in every session (read only when
        ``counts_agent_tokens``)."""
        tool_tags = self.tags_for(call.tool)
        activation: Any = None
        matches: list[tuple[Rule, Decision, str, str]] = []
        for rule in self.rules:
            try:
                if not self._matches(rule, call, tool_tags, session, now, agent_tokens_today):
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

    def _matches(  # one argument per fact a rule can test
        self,
        rule: Rule,
        call: Call,
        tool_tags: frozenset[str],
        session: SessionView,
        now: float,
        agent_tokens_today: int,
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
        return rule.limit is None or _limit_reached(rule.limit, call.tool, session, now, agent_tokens_today)

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
                "tokens": session.tokens,
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


def _limit_reached(
    limit: Limit, tool: str, session: SessionView, now: float, agent_tokens_today: int
) -> bool:
    """A limit is reached once the count is at its maximum: the next call is the one over it.
    Token limits compare what was spent so far, so the call that crosses one still runs; the
    calls after it do not (tokens are spent by the model, and Thoth decides tool calls)."""
    kind = limit.kind
    if kind == "calls":
        used = session.calls
    elif kind == "calls_per_tool":
        used = session.tool_calls(tool)
    elif kind == "calls_per_minute":
        used = session.calls_since(now - 60.0)
    elif kind == "tokens_per_session":
        used = session.tokens
    else:
        used = agent_tokens_today
    return used >= limit.maximum
