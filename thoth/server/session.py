"""The enforcer's own record of each session: what ran, what was refused (pure data)."""

from __future__ import annotations

import bisect
from collections import Counter, OrderedDict
from collections.abc import Iterable, Sequence
from typing import Final

import attrs

_RECENT_WINDOW: Final = 120.0  # seconds of call times kept for calls_per_minute


@attrs.define
class SessionRecord:
    """Facts about one session, built from the enforcer's decisions, never from the caller's claims."""

    calls: int = 0
    _tools: dict[str, None] = attrs.field(factory=dict)  # distinct tools, in order of first run
    _per_tool: Counter[str] = attrs.field(factory=Counter)
    _recent: list[float] = attrs.field(factory=list)  # call times, ascending
    violations: Counter[str] = attrs.field(factory=Counter)
    denied_holds: int = 0

    @property
    def tools(self) -> Sequence[str]:
        return list(self._tools)

    def tool_calls(self, tool: str) -> int:
        return self._per_tool[tool]

    def calls_since(self, since: float) -> int:
        return len(self._recent) - bisect.bisect_left(self._recent, since)

    def ran(self, tool: str, at: float) -> None:
        """A call was let run (ALLOW, MODIFY, observe, or an approved hold)."""
        self.calls += 1
        self._tools.setdefault(tool, None)
        self._per_tool[tool] += 1
        recent = self._recent
        if recent and at < recent[-1]:  # the clock stepped back: keep the list sorted
            bisect.insort(recent, at)
        else:
            recent.append(at)
        if recent[0] < at - _RECENT_WINDOW and len(recent) > 32:  # drop old times, amortised
            del recent[: bisect.bisect_left(recent, at - _RECENT_WINDOW)]

    def refused(self, tool: str) -> None:
        self.violations[tool] += 1

    def hold_denied(self) -> None:
        self.denied_holds += 1

    def should_escalate(self, tool: str) -> bool:
        """progressive mode: a denied hold or a repeated violation turns STEP_UP into BLOCK."""
        return self.denied_holds > 0 or self.violations[tool] > 0


@attrs.frozen
class Fact:
    """One stored fact, as replayed on a cache miss (after a restart or an eviction)."""

    kind: str  # "ran", "refused", "hold_denied"
    tool: str
    at: float


def replay(facts: Iterable[Fact]) -> SessionRecord:
    record = SessionRecord()
    for fact in facts:
        if fact.kind == "ran":
            record.ran(fact.tool, fact.at)
        elif fact.kind == "refused":
            record.refused(fact.tool)
        elif fact.kind == "hold_denied":
            record.hold_denied()
    return record


class SessionCache:
    """The most recently used session records, bounded."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._capacity = capacity
        self._records: OrderedDict[tuple[str, str], SessionRecord] = OrderedDict()

    def get(self, key: tuple[str, str]) -> SessionRecord | None:
        record = self._records.get(key)
        if record is not None:
            self._records.move_to_end(key)
        return record

    def put(self, key: tuple[str, str], record: SessionRecord) -> SessionRecord:
        """Store ``record`` unless one is already there (a concurrent load); return the kept one."""
        existing = self._records.get(key)
        if existing is not None:
            return existing
        self._records[key] = record
        if len(self._records) > self._capacity:
            self._records.popitem(last=False)
        return record
