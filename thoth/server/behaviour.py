"""Behaviour scores: how unlike its agent's other sessions one session's tool use is. Pure.

A session is the ordered list of its calls, ``(tool, time)``. An agent's *baseline* is learned
from its recorded sessions; a session is always scored against the baseline learned from the
agent's **other** sessions (leave-one-out), so an odd session cannot make itself look normal.
Three signals, each compared with what the baseline would expect:

**New tools.** A tool the agent used in none of its other sessions. How surprising that is
depends on how often this agent picks up new tools: by Good-Turing on sessions, the chance that
a session brings a tool no other session used is about ``q = (N1 + 1/2) / (n + 1)``, where ``n``
is the number of baseline sessions and ``N1`` the number of tools that exactly one of them used.
``u`` new tools give ``p_new = 1 - q ** u``.

**Sequence.** A first-order Markov model of tool transitions with a start state: the count of
``a -> b`` among the baseline's calls (``a`` is ``START`` for a session's first call), smoothed
add-k (``k = 1/2``) over the baseline's tools ``V``:
``P(b | a) = (c(a, b) + k) / (c(a) + k |V|)``. A session's surprise is ``S = sum(-log2 P)``
over its transitions; under the model each transition from ``a`` has expected surprise
``H(a)`` (the entropy of ``P(. | a)``) and variance ``Var(a)``. The score test
``z_seq = (S - sum H) / sqrt(sum Var + L * 0.5 ** 2)`` (``L`` transitions; the second term
allows half a bit of error per transition for what a first-order model cannot see) is about
standard normal for a session like the others and large for an unusual order. Transitions into
or out of a new tool are left out: the new-tool signal already counts them.

**Rate.** Calls per minute, ``60 * (calls - 1) / max(span, 1 s)`` (the gaps between calls over
the time they took; a session of one call has no rate). On a log scale, a robust z against the
rates of the other sessions that have one: ``z_rate = (ln r - median) / max(1.4826 * MAD, 0.35)``.
Only a faster session counts: an agent that is slower than usual is not what this looks for.

A z up to 3 is ordinary variation (one session in 740 of a standard normal) and adds nothing;
above, ``p = 1 - exp(-(z - 3) / 2)`` (z = 4: 0.39, z = 6: 0.78, z = 9: 0.95). The session's
**score** is ``1 - (1 - p_new)(1 - p_seq)(1 - p_rate)``, in [0, 1]: 0 is like the others, near 1
is unlike them in at least one way. Each signal that adds to it gives its reasons: every new
tool, the least likely transitions with their probabilities, the rate with the baseline's
median.

With fewer than ``MIN_BASELINE`` other sessions there is no baseline to speak of: the session's
status is ``insufficient_baseline`` and it has no score. Everything is deterministic: ties are
broken by name, and no randomness is used.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from typing import Final, Literal

import attrs

__all__ = [
    "MIN_BASELINE",
    "Anomaly",
    "Baseline",
    "Reason",
    "RecordedSession",
    "learn",
    "score_sessions",
]

#: other sessions of the agent needed before a session is scored
MIN_BASELINE: Final = 5
SMOOTHING: Final = 0.5  # add-k
MISFIT_BITS: Final = 0.5  # the model's allowance per transition, in bits (standard deviation)
Z_ORDINARY: Final = 3.0
Z_SCALE: Final = 2.0
RATE_MIN_SPAN_SECONDS: Final = 1.0
RATE_SCALE_FLOOR: Final = 0.35  # natural log units: a factor of 1.42
MAD_TO_SIGMA: Final = 1.4826
MAX_TRANSITION_REASONS: Final = 3

START: Final = "\x00start"  # the start state: a name no tool has (tool names are printable)

Status = Literal["scored", "insufficient_baseline"]
Transition = tuple[str, str]


@attrs.frozen
class RecordedSession:
    """One session of one agent: its calls, ``(tool name, epoch seconds)``, the oldest first."""

    session_id: str
    calls: tuple[tuple[str, float], ...]

    @property
    def tools(self) -> tuple[str, ...]:
        return tuple(tool for tool, _at in self.calls)

    def log_rate(self) -> float | None:
        """ln(calls per minute) over the session's gaps; None for fewer than two calls."""
        if len(self.calls) < 2:
            return None
        span = self.calls[-1][1] - self.calls[0][1]
        return math.log(60.0 * (len(self.calls) - 1) / max(span, RATE_MIN_SPAN_SECONDS))


@attrs.frozen
class Reason:
    """Why a session scored: a new tool, an unlikely transition or an unusual rate."""

    kind: Literal["new_tool", "unusual_transition", "unusual_rate"]
    message: str
    tool: str | None = None  # the new tool, or where the transition went
    previous_tool: str | None = None  # where the transition came from (None: the session's start)
    probability: float | None = None  # of the transition, under the baseline
    calls_per_minute: float | None = None
    baseline_calls_per_minute: float | None = None  # the baseline's median
    z: float | None = None


@attrs.frozen
class Anomaly:
    """A session's score (None without a baseline), its reasons and what it was measured against."""

    status: Status
    score: float | None
    baseline_sessions: int
    reasons: tuple[Reason, ...] = ()
    new_tools: int = 0
    sequence_z: float | None = None
    rate_z: float | None = None


def insufficient(baseline_sessions: int) -> Anomaly:
    return Anomaly("insufficient_baseline", None, baseline_sessions)


# -- counts ----------------------------------------------------------------------------------------


@attrs.frozen
class _Counts:
    """What a set of sessions did: transitions ``a -> b``, how many sessions used each tool."""

    transitions: dict[str, dict[str, int]]  # a -> (b -> count)
    sessions_with: dict[str, int]  # tool -> sessions that used it
    sessions: int

    @classmethod
    def of(cls, sessions: Iterable[RecordedSession]) -> _Counts:
        transitions: dict[str, dict[str, int]] = {}
        sessions_with: dict[str, int] = {}
        count = 0
        for session in sessions:
            count += 1
            for tool in set(session.tools):
                sessions_with[tool] = sessions_with.get(tool, 0) + 1
            for a, b in _pairs(session.tools):
                after = transitions.setdefault(a, {})
                after[b] = after.get(b, 0) + 1
        return cls(transitions, sessions_with, count)


_NONE: Final = _Counts({}, {}, 0)


def _pairs(tools: Sequence[str]) -> list[Transition]:
    return list(zip((START, *tools[:-1]), tools, strict=True)) if tools else []


def _xlog(x: float) -> float:
    return x * math.log2(x)


def _xlog2(x: float) -> float:
    log = math.log2(x)
    return x * log * log


@attrs.frozen
class _Sums:
    """One context's smoothed counts ``x_b = c(a, b) + k`` over the vocabulary: ``D = sum x``,
    ``S1 = sum x log2 x``, ``S2 = sum x log2(x) ** 2``. Then ``H = log2 D - S1 / D`` and
    ``E[surprise ** 2] = (S2 - 2 S1 log2 D + D log2(D) ** 2) / D``: removing one session only
    changes the terms of the tools it touched, so each leave-one-out context costs that much."""

    denominator: float
    first: float
    second: float

    def entropy_and_variance(self) -> tuple[float, float]:
        d, log_d = self.denominator, math.log2(self.denominator)
        entropy = log_d - self.first / d
        second_moment = (self.second - 2.0 * log_d * self.first + d * log_d * log_d) / d
        return entropy, max(second_moment - entropy * entropy, 0.0)

    def replaced(self, old: float, new: float | None) -> _Sums:
        """These sums with the term ``old`` replaced by ``new`` (None: removed)."""
        d, first, second = self.denominator - old, self.first - _xlog(old), self.second - _xlog2(old)
        if new is not None:
            d, first, second = d + new, first + _xlog(new), second + _xlog2(new)
        return _Sums(d, first, second)


class _Whole:
    """The counts of every session of the agent, with each context's sums computed once."""

    def __init__(self, counts: _Counts) -> None:
        self.counts = counts
        self._sums: dict[str, _Sums] = {}

    def sums(self, a: str) -> _Sums:
        found = self._sums.get(a)
        if found is None:
            seen = self.counts.transitions.get(a, {})
            unseen = len(self.counts.sessions_with) - len(seen)
            terms = [n + SMOOTHING for n in seen.values()]
            found = self._sums[a] = _Sums(
                sum(terms) + unseen * SMOOTHING,
                sum(map(_xlog, terms)) + unseen * _xlog(SMOOTHING),
                sum(map(_xlog2, terms)) + unseen * _xlog2(SMOOTHING),
            )
        return found


@attrs.frozen
class _Context:
    """P(. | a) for one context: its denominator and the mean and variance of its surprise."""

    denominator: float
    entropy: float
    variance: float


@attrs.frozen
class _Model:
    """The baseline's model: ``whole`` less the ``removed`` session's own counts."""

    whole: _Whole
    removed: _Counts
    #: the removed session's tools that no other session used: not in the baseline's vocabulary
    unique: tuple[str, ...] = attrs.field(init=False)

    @unique.default
    def _unique(self) -> tuple[str, ...]:
        used = self.whole.counts.sessions_with
        return tuple(sorted(tool for tool, n in self.removed.sessions_with.items() if used[tool] == n))

    def knows(self, tool: str) -> bool:
        return self.whole.counts.sessions_with.get(tool, 0) - self.removed.sessions_with.get(tool, 0) > 0

    @property
    def sessions(self) -> int:
        return self.whole.counts.sessions - self.removed.sessions

    def single_session_tools(self) -> int:
        """N1: the tools exactly one baseline session used."""
        kept = self.whole.counts.sessions_with
        changed = {tool: kept[tool] - n for tool, n in self.removed.sessions_with.items()}
        unchanged = sum(1 for tool, n in kept.items() if n == 1 and tool not in changed)
        return unchanged + sum(1 for n in changed.values() if n == 1)

    def count(self, a: str, b: str) -> int:
        """The baseline's count of ``a -> b``."""
        whole = self.whole.counts.transitions.get(a, {}).get(b, 0)
        return whole - self.removed.transitions.get(a, {}).get(b, 0)

    def context(self, a: str) -> _Context:
        sums = self.whole.sums(a)
        whole = self.whole.counts.transitions.get(a, {})
        mine = self.removed.transitions.get(a, {})
        gone = set(self.unique)
        for b in sorted(gone.union(mine)):  # sorted: the same sums in every process
            old = whole.get(b, 0) + SMOOTHING
            sums = sums.replaced(old, None if b in gone else old - mine.get(b, 0))
        entropy, variance = sums.entropy_and_variance()
        return _Context(sums.denominator, entropy, variance)


# -- the rate baseline -----------------------------------------------------------------------------


@attrs.frozen
class _RateCentre:
    """The baseline's median ln(rate) and its robust scale."""

    median: float
    scale: float

    def z(self, log_rate: float) -> float:
        return (log_rate - self.median) / self.scale


class _Rates:
    """Median and MAD of the sessions' ln(rates) without one session's, each in O(1) after
    sorting: removing one value moves the median to one of a few values, and the deviations from
    each of those are sorted once. Sessions without a rate (one call) are not counted."""

    def __init__(self, log_rates: Sequence[float | None]) -> None:
        rated = sorted((rate, index) for index, rate in enumerate(log_rates) if rate is not None)
        self._sorted = [rate for rate, _index in rated]
        self._rank = {index: rank for rank, (_rate, index) in enumerate(rated)}
        self._deviations: dict[float, list[float]] = {}

    def without(self, index: int | None) -> _RateCentre | None:
        """The centre of the rates less session ``index``'s (None: of them all); None when
        fewer than MIN_BASELINE sessions remain."""
        rank = None if index is None else self._rank.get(index)
        if len(self._sorted) - (rank is not None) < MIN_BASELINE:
            return None
        median = _median_skipping(self._sorted, rank)
        deviations = self._deviations.get(median)
        if deviations is None:
            deviations = self._deviations[median] = sorted(abs(v - median) for v in self._sorted)
        skip = None if rank is None else bisect_left(deviations, abs(self._sorted[rank] - median))
        mad = _median_skipping(deviations, skip)
        return _RateCentre(median, max(MAD_TO_SIGMA * mad, RATE_SCALE_FLOOR))


def _median_skipping(ordered: Sequence[float], skip: int | None) -> float:
    """The median of a sorted list without its element at ``skip`` (None: none skipped)."""
    size = len(ordered) - (skip is not None)

    def at(position: int) -> float:
        return ordered[position + 1 if skip is not None and position >= skip else position]

    return (at((size - 1) // 2) + at(size // 2)) / 2.0


# -- scoring -----------------------------------------------------------------------------------------


@attrs.frozen
class Baseline:
    """An agent's baseline learned from some of its sessions; ``score`` a session not among them."""

    counts: _Counts
    log_rates: tuple[float | None, ...]

    @property
    def sessions(self) -> int:
        return self.counts.sessions

    def score(self, session: RecordedSession) -> Anomaly:
        if self.sessions < MIN_BASELINE:
            return insufficient(self.sessions)
        return _score(session, _Model(_Whole(self.counts), _NONE), _Rates(self.log_rates).without(None))


def learn(sessions: Iterable[RecordedSession]) -> Baseline:
    """The baseline of these sessions (all of one agent)."""
    chosen = list(sessions)
    return Baseline(_Counts.of(chosen), tuple(s.log_rate() for s in chosen))


def score_sessions(sessions: Sequence[RecordedSession]) -> list[Anomaly]:
    """Every session of one agent scored against the baseline of the agent's other sessions
    (the same as ``learn(others).score(session)``, in time linear in the calls)."""
    if len(sessions) - 1 < MIN_BASELINE:
        return [insufficient(max(len(sessions) - 1, 0)) for _ in sessions]
    whole = _Whole(_Counts.of(sessions))
    rates = _Rates([s.log_rate() for s in sessions])
    return [
        _score(session, _Model(whole, _Counts.of([session])), rates.without(index))
        for index, session in enumerate(sessions)
    ]


def _score(session: RecordedSession, model: _Model, rates: _RateCentre | None) -> Anomaly:
    new_tools = _new_tools(session, model)
    q = (model.single_session_tools() + 0.5) / (model.sessions + 1)
    p_new = 1.0 - q ** len(new_tools) if new_tools else 0.0
    sequence_z, unlikely = _sequence(session, model)
    p_seq = _excess(sequence_z)
    log_rate = session.log_rate()
    rate_z = None if rates is None or log_rate is None else rates.z(log_rate)
    p_rate = _excess(rate_z)
    reasons = [_new_tool_reason(tool, model.sessions) for tool in new_tools]
    if p_seq > 0:
        reasons += [_transition_reason(a, b, p) for a, b, p in unlikely[:MAX_TRANSITION_REASONS]]
    if p_rate > 0 and rates is not None and log_rate is not None and rate_z is not None:
        reasons.append(_rate_reason(log_rate, rates.median, rate_z))
    score = 1.0 - (1.0 - p_new) * (1.0 - p_seq) * (1.0 - p_rate)
    return Anomaly(
        "scored",
        round(score, 4),
        model.sessions,
        tuple(reasons),
        len(new_tools),
        _rounded(sequence_z),
        _rounded(rate_z),
    )


def _rounded(z: float | None) -> float | None:
    return None if z is None else round(z, 3)


def _excess(z: float | None) -> float:
    if z is None or z <= Z_ORDINARY:
        return 0.0
    return 1.0 - math.exp(-(z - Z_ORDINARY) / Z_SCALE)


def _new_tools(session: RecordedSession, model: _Model) -> list[str]:
    """The tools the baseline never saw, in the order the session first used them."""
    return [tool for tool in dict.fromkeys(session.tools) if not model.knows(tool)]


def _sequence(session: RecordedSession, model: _Model) -> tuple[float | None, list[tuple[str, str, float]]]:
    """The score test's z over the session's transitions between known tools (None: there are
    none), and those transitions, the least likely first (each once)."""
    contexts: dict[str, _Context] = {}
    surprise = expected = variance = 0.0
    counted = 0
    probabilities: dict[Transition, float] = {}
    for a, b in _pairs(session.tools):
        if (a != START and not model.knows(a)) or not model.knows(b):
            continue
        if a not in contexts:
            contexts[a] = model.context(a)
        context = contexts[a]
        p = (model.count(a, b) + SMOOTHING) / context.denominator
        surprise -= math.log2(p)
        expected += context.entropy
        variance += context.variance
        counted += 1
        probabilities[(a, b)] = p
    if not counted:
        return None, []
    z = (surprise - expected) / math.sqrt(variance + counted * MISFIT_BITS**2)
    unlikely = sorted(probabilities.items(), key=lambda item: (item[1], item[0]))
    return z, [(a, b, p) for (a, b), p in unlikely]


def _new_tool_reason(tool: str, sessions: int) -> Reason:
    return Reason(
        "new_tool", f"new tool {tool!r}: used in none of the agent's {sessions} other sessions", tool=tool
    )


def _transition_reason(a: str, b: str, p: float) -> Reason:
    previous = None if a == START else a
    where = "the session's start" if previous is None else repr(previous)
    return Reason(
        "unusual_transition",
        f"unusual transition {where} -> {b!r}: probability {p:.3g} in the agent's other sessions",
        tool=b,
        previous_tool=previous,
        probability=round(p, 6),
    )


def _rate_reason(log_rate: float, log_median: float, z: float) -> Reason:
    rate, median = math.exp(log_rate), math.exp(log_median)
    return Reason(
        "unusual_rate",
        f"{rate:.3g} calls per minute; the agent's other sessions: median {median:.3g} (robust z {z:.1f})",
        calls_per_minute=round(rate, 4),
        baseline_calls_per_minute=round(median, 4),
        z=round(z, 3),
    )
