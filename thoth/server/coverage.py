"""Policy coverage: which recorded tools no rule names, and which rules name no recorded tool. Pure.

``thoth policy coverage`` feeds it the tool inventory (what agents said they have, see
``POST /{tenant}/thoth/tool-inventory``). A rule *names* a tool when it has a ``tools`` or
``tags`` condition the tool meets (and an ``agents`` condition, if any, that the recording
agent meets). Rules with neither condition apply to every tool; they are listed apart,
because they say nothing about any tool in particular (a sequence or CEL rule, say).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

import attrs

from thoth.policy import Policy, Rule
from thoth.policy.rules import SEVERITY, Decision

__all__ = ["Coverage", "RecordedTool", "Shadowed", "ToolCoverage", "coverage", "never_matched", "shadowed"]


@attrs.frozen
class RecordedTool:
    """One inventory row: a tool an agent of a tenant said it has."""

    tenant_id: str
    agent_id: str
    name: str


@attrs.frozen
class ToolCoverage:
    """A tool name, the agents that recorded it, and the rules that name it for any of them."""

    name: str
    agents: tuple[str, ...]
    rule_ids: tuple[str, ...]

    @property
    def covered(self) -> bool:
        return bool(self.rule_ids)


@attrs.frozen
class Coverage:
    tools: tuple[ToolCoverage, ...]
    every_tool_rule_ids: tuple[str, ...]  # rules with no tools or tags condition
    unused_rule_ids: tuple[str, ...]  # rules whose tools/tags name no recorded tool

    @property
    def uncovered(self) -> tuple[ToolCoverage, ...]:
        return tuple(tool for tool in self.tools if not tool.covered)


def coverage(policy: Policy, recorded: Iterable[RecordedTool]) -> Coverage:
    """How ``policy``'s rules cover the ``recorded`` tools (sorted by tool name)."""
    agents_by_tool: dict[str, set[str]] = {}
    for row in recorded:
        agents_by_tool.setdefault(row.name, set()).add(row.agent_id)
    naming = [rule for rule in policy.rules if rule.tools is not None or rule.tags is not None]
    used: set[str] = set()
    tools = []
    for name in sorted(agents_by_tool):
        agents = tuple(sorted(agents_by_tool[name]))
        rule_ids = tuple(rule.id for rule in naming if _names(policy, rule, name, agents))
        used.update(rule_ids)
        tools.append(ToolCoverage(name=name, agents=agents, rule_ids=rule_ids))
    return Coverage(
        tools=tuple(tools),
        every_tool_rule_ids=tuple(rule.id for rule in policy.rules if rule not in naming),
        unused_rule_ids=tuple(rule.id for rule in naming if rule.id not in used),
    )


def _names(policy: Policy, rule: Rule, tool: str, agents: tuple[str, ...]) -> bool:
    if rule.tools is not None and not rule.tools.fullmatch(tool):
        return False
    if rule.tags is not None and not (rule.tags & policy.tags_for(tool)):
        return False
    return rule.agents is None or any(rule.agents.fullmatch(agent) for agent in agents)


def never_matched(policy: Policy, matched_rule_ids: Iterable[str]) -> tuple[str, ...]:
    """The rules of ``policy``, in order, whose id is in none of the recorded decisions' matched
    rule ids (``thoth_decisions.rule_ids`` of a window): by id, so a renamed rule counts as new."""
    matched = set(matched_rule_ids)
    return tuple(rule.id for rule in policy.rules if rule.id not in matched)


@attrs.frozen
class Shadowed:
    """``rule_id`` can never change a decision: every call it matches, ``by`` (earlier) matches
    too and decides at least as severely."""

    rule_id: str
    by: str


def shadowed(policy: Policy) -> tuple[Shadowed, ...]:
    """Rules shadowed by one earlier rule, found statically (no traffic needed).

    Evaluation collects every matching rule and the most severe decides, the first of equals
    (``Policy.evaluate``). So a later rule B never decides when an earlier rule A matches every
    call B matches and A is more severe, or as severe and B is not a MODIFY (every matching
    MODIFY's rewrite is applied, so a second MODIFY still acts).

    Sound and conservative: A covers B only when each of A's conditions is absent or provably
    implied by B's: the same glob (or B's tools/agents are plain names A's globs match), a
    superset of environments or tags, the same after_tools, a superset of after_tags, a limit of
    the same kind with a maximum no higher, the same CEL source (or A BLOCKs, which a failing
    condition of B cannot beat). It cannot prove shadowing by several earlier rules together,
    by a glob that matches B's glob without being equal to it, by different CEL with the same
    meaning, or through tags a tool has: such rules are not reported (no false alarms).
    """
    found = []
    for index, rule in enumerate(policy.rules):
        for earlier in policy.rules[:index]:
            if _outranks(earlier, rule) and _covers(earlier, rule):
                found.append(Shadowed(rule.id, earlier.id))
                break
    return tuple(found)


def _outranks(a: Rule, b: Rule) -> bool:
    if SEVERITY[a.decision] > SEVERITY[b.decision]:
        return True
    return SEVERITY[a.decision] == SEVERITY[b.decision] and b.decision is not Decision.MODIFY


def _covers(a: Rule, b: Rule) -> bool:
    """Whether every call ``b`` matches is matched by ``a`` too (provably; False when unsure)."""
    return (
        _pattern_covers(a.tools, b.tools)
        and _pattern_covers(a.agents, b.agents)
        and _superset(a.environments, b.environments)
        and _superset(a.tags, b.tags)
        and _superset(a.after_tags, b.after_tags)
        and (
            a.after_tools is None
            or (b.after_tools is not None and a.after_tools.pattern == b.after_tools.pattern)
        )
        and _limit_covers(a, b)
        and _condition_covers(a, b)
    )


def _pattern_covers(a: re.Pattern[str] | None, b: re.Pattern[str] | None) -> bool:
    if a is None:
        return True
    if b is None:
        return False
    if a.pattern == b.pattern:
        return True
    names = _plain_names(b)
    return names is not None and all(a.fullmatch(name) for name in names)


#: one glob as ``thoth.policy.rules._glob`` compiles it, when it is a plain name (no wildcard)
_PLAIN: Final = r"\(\?:\(\?s:((?:[A-Za-z0-9_]|\\.)*)\)\\Z\)"
_PLAIN_ONE: Final = re.compile(_PLAIN)
_PLAIN_ALL: Final = re.compile(rf"{_PLAIN}(?:\|{_PLAIN})*")


def _plain_names(pattern: re.Pattern[str]) -> list[str] | None:
    """The names a compiled glob list matches, when every glob is a plain name; else None."""
    if not _PLAIN_ALL.fullmatch(pattern.pattern):
        return None
    return [re.sub(r"\\(.)", r"\1", m.group(1)) for m in _PLAIN_ONE.finditer(pattern.pattern)]


def _superset(a: frozenset[str] | None, b: frozenset[str] | None) -> bool:
    return a is None or (b is not None and b <= a)


def _limit_covers(a: Rule, b: Rule) -> bool:
    if a.limit is None:
        return True
    return b.limit is not None and b.limit.kind == a.limit.kind and a.limit.maximum <= b.limit.maximum


def _condition_covers(a: Rule, b: Rule) -> bool:
    if a.condition is not None:
        return b.condition is not None and a.condition.source == b.condition.source
    # a condition of b that fails to evaluate makes b a BLOCK (RULE_ERROR): only a BLOCK outranks it
    return b.condition is None or a.decision is Decision.BLOCK
