"""A session's record, built from decisions: what ran, what was refused (pure data).

The enforcer keeps one per session in its store; local decisions keep one per session in the
process (so limits count the calls this process decided, see the README)."""

from __future__ import annotations

import array
import base64
import bisect
import sys
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import attrs

_RECENT_WINDOW_MS: Final = 61_000  # call times kept for calls_per_minute: a minute, and slack


def utc_day(at: float) -> str:
    """The UTC day of a time (YYYY-MM-DD): the day ``tokens_per_agent_per_day`` counts in."""
    return time.strftime("%Y-%m-%d", time.gmtime(at))


@attrs.define
class SessionRecord:
    """Facts about one session, built from the enforcer's decisions, never from the caller's claims."""

    calls: int = 0
    _tools: dict[str, None] = attrs.field(factory=dict)  # distinct tools, in order of first run
    _per_tool: Counter[str] = attrs.field(factory=Counter)
    _recent: list[int] = attrs.field(factory=list)  # call times in ms since the epoch, ascending
    violations: Counter[str] = attrs.field(factory=Counter)
    denied_holds: int = 0
    tokens: int = 0  # LLM tokens the session's LLM_INVOCATION events reported

    @property
    def tools(self) -> Sequence[str]:
        return list(self._tools)

    def tool_calls(self, tool: str) -> int:
        return self._per_tool[tool]

    def calls_since(self, since: float) -> int:
        return len(self._recent) - bisect.bisect_left(self._recent, since * 1000.0)

    def ran(self, tool: str, at: float) -> None:
        """A call was let run (ALLOW, MODIFY, observe, or an approved hold)."""
        ms = round(at * 1000.0)  # what the store keeps: a cached and a reloaded record agree
        self.calls += 1
        self._tools.setdefault(tool, None)
        self._per_tool[tool] += 1
        recent = self._recent
        if recent and ms < recent[-1]:  # the clock stepped back: keep the list sorted
            bisect.insort(recent, ms)
        else:
            recent.append(ms)
        if recent[0] < ms - _RECENT_WINDOW_MS and len(recent) > 32:  # drop old times, amortised
            self._forget_before(ms - _RECENT_WINDOW_MS)

    def _forget_before(self, since_ms: float) -> None:
        del self._recent[: bisect.bisect_left(self._recent, since_ms)]

    def refused(self, tool: str) -> None:
        self.violations[tool] += 1

    def hold_denied(self) -> None:
        self.denied_holds += 1

    def spent(self, tokens: int) -> None:
        """An LLM_INVOCATION event reported ``tokens`` (for token limits)."""
        self.tokens += tokens

    def should_escalate(self, tool: str) -> bool:
        """progressive mode: a denied hold or a repeated violation turns STEP_UP into BLOCK."""
        return self.denied_holds > 0 or self.violations[tool] > 0

    def to_state(self, now: float) -> dict[str, Any]:
        """The record as JSON-ready data, for the store (call times older than a minute dropped)."""
        self._forget_before(now * 1000.0 - _RECENT_WINDOW_MS)
        return {
            "calls": self.calls,
            "tools": list(self._tools),
            "per_tool": dict(self._per_tool),
            "recent": _pack(self._recent),
            "violations": dict(self.violations),
            "denied_holds": self.denied_holds,
            "tokens": self.tokens,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> SessionRecord:
        return cls(
            calls=state["calls"],
            tools=dict.fromkeys(state["tools"]),
            per_tool=Counter(state["per_tool"]),
            recent=_unpack(state["recent"]),
            violations=Counter(state["violations"]),
            denied_holds=state["denied_holds"],
            tokens=state.get("tokens", 0),  # stored before token limits existed: none counted
        )


def _pack(times: list[int]) -> str:
    """Call times as base64 of little-endian int64 milliseconds: as JSON numbers they cost
    ~0.5 us each to write, and a busy session keeps a minute of them."""
    packed = array.array("q", times)
    if sys.byteorder == "big":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode("ascii")


def _unpack(text: str) -> list[int]:
    packed = array.array("q")
    packed.frombytes(base64.b64decode(text))
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tolist()


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
