"""Policy coverage: which recorded tools no rule names, and which rules name no recorded tool. Pure.

``thoth policy coverage`` feeds it the tool inventory (what agents said they have, see
``POST /{tenant}/thoth/tool-inventory``). A rule *names* a tool when it has a ``tools`` or
``tags`` condition the tool meets (and an ``agents`` condition, if any, that the recording
agent meets). Rules with neither condition apply to every tool; they are listed apart,
because they say nothing about any tool in particular (a sequence or CEL rule, say).
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from thoth.policy import Policy, Rule

__all__ = ["Coverage", "RecordedTool", "ToolCoverage", "coverage"]


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
