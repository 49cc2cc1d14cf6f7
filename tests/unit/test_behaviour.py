"""Behaviour scores (thoth.server.behaviour) on generated histories with planted anomalies."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

import attrs
import pytest

from thoth.server import behaviour
from thoth.server.behaviour import Anomaly, RecordedSession, learn, score_sessions

Chain = dict[str, list[tuple[str, float]]]
Calls = tuple[tuple[str, float], ...]
Planted = tuple[list["Agent"], dict[str, str]]
START = "^"


def make_chain(rng: random.Random, tools: Sequence[str]) -> Chain:
    """Each state (and the start) goes to two preferred tools (0.65, 0.3), rarely to the others."""
    chain: Chain = {}
    for state in (START, *tools):
        others = [tool for tool in tools if tool != state]
        first, second = rng.sample(others, 2)
        rest = [tool for tool in others if tool not in (first, second)]
        chain[state] = [(first, 0.65), (second, 0.3)] + [(tool, 0.05 / len(rest)) for tool in rest]
    return chain


def walk(rng: random.Random, chain: Chain, length: int) -> list[str]:
    tools, state = [], START
    for _ in range(length):
        choices = chain[state]
        state = rng.choices([tool for tool, _p in choices], weights=[p for _tool, p in choices])[0]
        tools.append(state)
    return tools


def timed(
    rng: random.Random, tools: Sequence[str], start: float, gap: float
) -> tuple[tuple[str, float], ...]:
    calls, at = [], start
    for tool in tools:
        calls.append((tool, at))
        at += rng.expovariate(1.0 / gap)
    return tuple(calls)


@attrs.define
class Agent:
    chain: Chain
    gap: float
    sessions: list[RecordedSession]


def history(seed: int = 13, agents: int = 5, sessions: int = 40) -> list[Agent]:
    """``agents`` agents of six tools each, ``sessions`` sessions of 6 to 20 calls, one an hour,
    the calls an exponential gap of 15 to 40 s (per agent) apart."""
    rng = random.Random(seed)
    made = []
    for a in range(agents):
        chain = make_chain(rng, [f"a{a}_tool{i}" for i in range(6)])
        gap = rng.uniform(15, 40)
        recorded = [
            RecordedSession(f"a{a}-s{s}", timed(rng, walk(rng, chain, rng.randint(6, 20)), s * 3600.0, gap))
            for s in range(sessions)
        ]
        made.append(Agent(chain, gap, recorded))
    return made


def plant(agent: Agent, index: int, kind: str, rng: random.Random) -> str:
    """Replace one session by an anomalous one: a never-seen tool in its middle, the least likely
    path through the agent's chain, or its calls half a second apart. Returns its id."""
    old = agent.sessions[index]
    tools = list(old.tools)
    gap = agent.gap
    if kind == "new_tool":
        tools[len(tools) // 2] = "exfiltrate_data"
    elif kind == "unusual_transition":
        state, tools = START, []
        for _ in range(len(old.tools)):
            state = min(agent.chain[state], key=lambda choice: (choice[1], choice[0]))[0]
            tools.append(state)
    else:
        gap = 0.5
    session_id = f"{old.session_id}-{kind}"
    agent.sessions[index] = RecordedSession(session_id, timed(rng, tools, old.calls[0][1], gap))
    return session_id


PLANTS = [
    (0, 3, "new_tool"),
    (1, 7, "unusual_transition"),
    (2, 11, "unusual_rate"),
    (3, 5, "new_tool"),
    (4, 9, "unusual_transition"),
    (0, 20, "unusual_rate"),
]


@pytest.fixture(scope="module")
def planted_history() -> Planted:
    agents = history()
    rng = random.Random(99)
    planted = {plant(agents[a], s, kind, rng): kind for a, s, kind in PLANTS}
    return agents, planted


def scored(agents: Sequence[Agent]) -> dict[str, Anomaly]:
    out: dict[str, Anomaly] = {}
    for agent in agents:
        out.update(zip((s.session_id for s in agent.sessions), score_sessions(agent.sessions), strict=True))
    return out


def ranked(scores: dict[str, Anomaly]) -> list[str]:
    return sorted(scores, key=lambda sid: (-(scores[sid].score or 0.0), sid))


def test_planted_sessions_rank_on_top_and_say_why(
    planted_history: Planted,
) -> None:
    agents, planted = planted_history
    scores = scored(agents)
    assert len(scores) == 200
    assert set(ranked(scores)[: len(planted)]) == set(planted)
    for session_id, kind in planted.items():
        anomaly = scores[session_id]
        assert anomaly.status == "scored" and anomaly.baseline_sessions == 39
        assert anomaly.score is not None and anomaly.score > 0.9, (session_id, anomaly)
        assert kind in {reason.kind for reason in anomaly.reasons}, (session_id, anomaly.reasons)


def test_normal_sessions_score_low(planted_history: Planted) -> None:
    agents, planted = planted_history
    normal = [a.score for sid, a in scored(agents).items() if sid not in planted]
    assert len(normal) == 194
    assert all(score is not None and score < 0.5 for score in normal)
    assert sum(score == 0.0 for score in normal) >= 185  # the seeded history gives 193


def test_the_reasons_carry_the_numbers(planted_history: Planted) -> None:
    agents, _planted = planted_history
    scores = scored(agents)
    [new] = [r for r in scores["a3-s5-new_tool"].reasons if r.kind == "new_tool"]
    assert new.tool == "exfiltrate_data"
    assert new.message == "new tool 'exfiltrate_data': used in none of the agent's 39 other sessions"
    assert scores["a3-s5-new_tool"].new_tools == 1
    transitions = [r for r in scores["a1-s7-unusual_transition"].reasons if r.kind == "unusual_transition"]
    assert len(transitions) == behaviour.MAX_TRANSITION_REASONS
    probabilities = [r.probability or 0.0 for r in transitions]
    assert probabilities == sorted(probabilities) and probabilities[-1] < 0.05
    assert (scores["a1-s7-unusual_transition"].sequence_z or 0.0) > 10
    [rate] = [r for r in scores["a2-s11-unusual_rate"].reasons if r.kind == "unusual_rate"]
    assert rate.calls_per_minute is not None and rate.baseline_calls_per_minute is not None
    assert rate.calls_per_minute > 10 * rate.baseline_calls_per_minute  # 0.5 s apart, not ~16 s
    assert rate.z == scores["a2-s11-unusual_rate"].rate_z and (rate.z or 0.0) > 6


def test_each_session_is_scored_without_itself(planted_history: Planted) -> None:
    agents, _planted = planted_history
    sessions = agents[0].sessions
    for index, (session, anomaly) in enumerate(zip(sessions, score_sessions(sessions), strict=True)):
        alone = learn(sessions[:index] + sessions[index + 1 :]).score(session)
        assert anomaly.score == pytest.approx(alone.score, abs=1e-3)
        assert anomaly.sequence_z == pytest.approx(alone.sequence_z, abs=1e-3)
        assert anomaly.rate_z == alone.rate_z
        assert [r.kind for r in anomaly.reasons] == [r.kind for r in alone.reasons]
    # a baseline that includes the session would have called its tool known
    inside = learn(sessions).score(sessions[3])
    assert inside.new_tools == 0 and scored(agents)["a0-s3-new_tool"].new_tools == 1


def test_too_little_history_is_said_not_scored() -> None:
    five = history(seed=1, agents=1, sessions=5)[0].sessions
    assert score_sessions(five) == [Anomaly("insufficient_baseline", None, 4)] * 5
    assert score_sessions(five[:1]) == [Anomaly("insufficient_baseline", None, 0)]
    assert score_sessions([]) == []
    assert learn(five[:4]).score(five[4]) == Anomaly("insufficient_baseline", None, 4)
    six = history(seed=1, agents=1, sessions=6)[0].sessions
    assert {a.status for a in score_sessions(six)} == {"scored"}
    assert {a.baseline_sessions for a in score_sessions(six)} == {5}


def test_probabilities_are_the_smoothed_counts() -> None:
    """Ten sessions a -> b (a minute apart): the start went to a ten times, never to b, so
    P(a | start) = (10 + 1/2) / (10 + 1/2 * 2) and P(b | start) = 1/2 / 11; b was never followed:
    P(a | b) = 1/2. A session b -> a is unusual in both its transitions."""
    usual = [RecordedSession(f"s{i}", (("a", 0.0), ("b", 60.0))) for i in range(10)]
    odd = RecordedSession("odd", (("b", 0.0), ("a", 60.0)))
    anomaly = learn(usual).score(odd)
    assert [(r.previous_tool, r.tool, r.probability) for r in anomaly.reasons] == [
        (None, "b", round(0.5 / 11, 6)),
        ("b", "a", 0.5),
    ]
    surprise = -math.log2(0.5 / 11) - math.log2(0.5)
    p_start = [10.5 / 11, 0.5 / 11]
    entropy = -sum(p * math.log2(p) for p in p_start) + 1.0
    variance = sum(p * math.log2(p) ** 2 for p in p_start) - (entropy - 1.0) ** 2
    z = (surprise - entropy) / math.sqrt(variance + 2 * behaviour.MISFIT_BITS**2)
    assert anomaly.sequence_z == round(z, 3)
    assert anomaly.rate_z == 0.0  # one call a minute, like the others
    assert anomaly.score == round(1 - math.exp(-(z - behaviour.Z_ORDINARY) / behaviour.Z_SCALE), 4)


def test_one_call_sessions_have_no_rate() -> None:
    singles = [RecordedSession(f"s{i}", (("a", float(i)),)) for i in range(6)]
    for anomaly in score_sessions(singles):
        assert anomaly.rate_z is None and anomaly.score == 0.0
        assert anomaly.sequence_z is not None  # the start -> a transition is still a sequence


def test_scores_are_deterministic(planted_history: Planted) -> None:
    agents, _planted = planted_history
    sessions = agents[1].sessions
    assert score_sessions(sessions) == score_sessions(list(sessions))
    shuffled = list(sessions)
    random.Random(5).shuffle(shuffled)
    again = dict(zip((s.session_id for s in shuffled), score_sessions(shuffled), strict=True))
    for session, anomaly in zip(sessions, score_sessions(sessions), strict=True):
        assert again[session.session_id].score == pytest.approx(anomaly.score, abs=1e-3)
