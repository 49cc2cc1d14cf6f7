"""Two ``thoth serve`` processes on one database answer as one would; ``kill -9`` loses nothing answered.

Every test runs on SQLite and on PostgreSQL (the ``store_url`` fixture). A replica is a
second server started with ``ThothServer.replica``: same store, keys, tenant and policy,
nothing else shared, as behind a load balancer. Each test alternates or races its calls
between the two, so that a fact one replica keeps only in memory (a count, a tool that ran,
a denied hold, a chain head) makes the other answer differently than one process would.
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ThothServer
from tests.server.test_api import chained_events, new_session

pytestmark = pytest.mark.timeout(180)

LIMIT = 5
TOOLS = ["read_file", "list_dir"]
VERIFIED = "verified"

StartReplicas = Callable[[str | None], tuple[ThothServer, ThothServer]]
StartServer = Callable[[str | None], ThothServer]


def cap_policy(kind: str, maximum: int = LIMIT) -> str:
    """One rule, ``cap``: BLOCK once the session used ``maximum`` of ``kind`` (any tool)."""
    return f"rules:\n  - {{id: cap, limit: {{{kind}: {maximum}}}, decision: BLOCK}}\n"


@pytest.fixture
def start_replicas(tmp_path: Path, store_url: str) -> Iterator[StartReplicas]:
    """Start server ``a`` on a fresh store, then its replica ``b``; both stop after the test."""
    started: list[ThothServer] = []

    def start(policy_text: str | None) -> tuple[ThothServer, ThothServer]:
        first = ThothServer(tmp_path / "a", policy_text=policy_text, db_url=store_url)
        started.append(first)
        first.start()
        second = first.replica(tmp_path / "b")
        started.append(second)
        second.start()
        return first, second

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def start_server(tmp_path: Path, store_url: str) -> Iterator[StartServer]:
    """One server on a fresh store (for the kill -9 tests); stopped after the test."""
    started: list[ThothServer] = []

    def start(policy_text: str | None) -> ThothServer:
        server = ThothServer(tmp_path / "server", policy_text=policy_text, db_url=store_url)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


def decide(
    server: ThothServer,
    session: str,
    tool: str,
    mode: str = "block",
    scope: list[str] | None = None,
) -> dict[str, Any]:
    return server.enforce(
        tool_name=tool,
        session_id=session,
        approved_scope=TOOLS if scope is None else scope,
        enforcement_mode=mode,
    )


def enforce_body(server: ThothServer, session: str, tool: str) -> dict[str, Any]:
    """A raw /v1/enforce body (for threads that look at the status code themselves)."""
    return {
        "agent_id": "test-agent",
        "tenant_id": server.tenant_id,
        "user_id": "tester",
        "tool_name": tool,
        "session_id": session,
        "approved_scope": TOOLS,
        "enforcement_mode": "block",
    }


def allowed(what: str, decisions: list[str]) -> str:
    return f"{what}: {decisions.count('ALLOW')} ALLOW against a limit of {LIMIT}: {decisions}"


def poll_hold(agent: httpx.Client, token: str) -> tuple[dict[str, Any], str | None]:
    """One poll of the hold, as the SDK does it: the status and its Retry-After header."""
    response = agent.get(f"/v1/enforce/hold/{token}")
    assert response.status_code == 200, response.text
    status: dict[str, Any] = response.json()
    return status, response.headers.get("Retry-After")


# -- limits ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["calls", "calls_per_tool", "calls_per_minute"])
def test_alternating_calls_through_two_replicas_respect_every_limit_exactly(
    start_replicas: StartReplicas, kind: str
) -> None:
    a, b = start_replicas(cap_policy(kind))
    session = new_session()
    # call i goes to replica i % 2 and uses tool (i // 2) % 2: each tool's own calls alternate too
    calls = 4 * (LIMIT + 1)
    answers = []
    for i in range(calls):
        tool = TOOLS[(i // 2) % 2]
        response = decide((a, b)[i % 2], session, tool)
        answers.append((tool, response["decision"], response["matched_rule_ids"]))

    if kind == "calls_per_tool":
        for tool in TOOLS:
            seen = [decision for name, decision, _ in answers if name == tool]
            assert seen == ["ALLOW"] * LIMIT + ["BLOCK"] * (len(seen) - LIMIT), allowed(tool, seen)
    else:
        seen = [decision for _, decision, _ in answers]
        assert seen == ["ALLOW"] * LIMIT + ["BLOCK"] * (calls - LIMIT), allowed("the session", seen)
    assert all(rules == ["cap"] for _, decision, rules in answers if decision == "BLOCK")


@pytest.mark.parametrize("condition", ["after_tools: [get_secret]", "after_tags: [reads_secrets]"])
def test_a_sequence_rule_sees_a_tool_that_ran_through_the_other_replica(
    start_replicas: StartReplicas, condition: str
) -> None:
    a, b = start_replicas(
        "tags:\n  reads_secrets: [get_secret]\n"
        f"rules:\n  - {{id: no-exfil, {condition}, tools: [send_email], decision: BLOCK}}\n"
    )
    session = new_session()
    scope = ["get_secret", "send_email"]
    assert decide(b, session, "send_email", scope=scope)["decision"] == "ALLOW"  # b has met the session
    assert decide(a, session, "get_secret", scope=scope)["decision"] == "ALLOW"
    after = decide(b, session, "send_email", scope=scope)
    assert (after["decision"], after["matched_rule_ids"]) == ("BLOCK", ["no-exfil"])


def test_concurrent_calls_through_both_replicas_allow_exactly_the_limit(
    start_replicas: StartReplicas,
) -> None:
    a, b = start_replicas(cap_policy("calls_per_tool"))
    threads, per_thread = 16, 3
    for _round in range(3):
        session = new_session()
        barrier = threading.Barrier(threads)

        def burst(
            i: int, session: str = session, barrier: threading.Barrier = barrier
        ) -> list[tuple[int, str]]:
            server = (a, b)[i % 2]
            body = enforce_body(server, session, "read_file")
            with server.client() as client:
                barrier.wait()
                responses = [client.post("/v1/enforce", json=body) for _ in range(per_thread)]
            return [(r.status_code, r.json().get("decision", r.text)) for r in responses]

        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            answers = [answer for batch in pool.map(burst, range(threads)) for answer in batch]
        assert {status for status, _ in answers} == {200}, answers
        decisions = [decision for _, decision in answers]
        assert decisions.count("ALLOW") == LIMIT, allowed("read_file, concurrently", decisions)
        assert decisions.count("BLOCK") == threads * per_thread - LIMIT


# -- holds and progressive mode -------------------------------------------------------------------------


@pytest.mark.parametrize("resolution", ["ALLOW", "BLOCK"])
def test_a_hold_created_on_one_replica_is_resolved_on_the_other_and_seen_at_the_next_poll(
    start_replicas: StartReplicas, resolution: str
) -> None:
    a, b = start_replicas(None)
    session = new_session()
    token = decide(a, session, "wire_money", mode="step_up")["hold_token"]
    with a.client() as agent:
        pending, retry_after = poll_hold(agent, token)
        assert (pending["resolved"], retry_after) == (False, "1")
        assert [hold["hold_token"] for hold in b.holds("pending", session)] == [token]
        resolved = b.approve(token) if resolution == "ALLOW" else b.deny(token)
        assert resolved["status"] == ("approved" if resolution == "ALLOW" else "denied")
        seen, retry_after = poll_hold(agent, token)  # the very next poll
    assert (seen["resolved"], seen["resolution"], retry_after) == (True, resolution, None)
    assert a.holds("pending", session) == []


def test_a_hold_approved_on_the_other_replica_counts_as_a_call_that_ran(
    start_replicas: StartReplicas,
) -> None:
    a, b = start_replicas(
        "rules:\n  - {id: no-exfil, after_tools: [wire_money], tools: [send_email], decision: BLOCK}\n"
    )
    session = new_session()
    scope = ["send_email"]
    assert decide(a, session, "send_email", scope=scope)["decision"] == "ALLOW"  # a has met the session
    token = decide(a, session, "wire_money", mode="step_up", scope=scope)["hold_token"]
    b.approve(token)  # wire_money may run now: it ran, as far as the policy is concerned
    after = decide(a, session, "send_email", scope=scope)
    assert (after["decision"], after["matched_rule_ids"]) == ("BLOCK", ["no-exfil"])


def test_a_hold_denied_on_the_other_replica_escalates_progressive_mode(start_replicas: StartReplicas) -> None:
    a, b = start_replicas(None)
    session = new_session()
    first = decide(a, session, "send_email", mode="progressive", scope=["read_file"])
    assert first["decision"] == "STEP_UP"
    b.deny(first["hold_token"])
    for server in (a, b):
        later = decide(server, session, "delete_file", mode="progressive", scope=["read_file"])
        assert (later["decision"], later["decision_reason_code"]) == ("BLOCK", "REPEATED_VIOLATION")


def test_a_violation_refused_on_one_replica_escalates_its_repeat_on_the_other(
    start_replicas: StartReplicas,
) -> None:
    a, b = start_replicas(None)
    session = new_session()
    assert decide(a, session, "read_file", mode="progressive")["decision"] == "ALLOW"  # a met the session
    assert decide(b, session, "rm_rf", mode="block")["decision"] == "BLOCK"
    repeat = decide(a, session, "rm_rf", mode="progressive")
    assert (repeat["decision"], repeat["decision_reason_code"]) == ("BLOCK", "REPEATED_VIOLATION")


# -- events --------------------------------------------------------------------------------------------


def test_one_hash_chain_sent_alternately_to_two_replicas_is_stored_without_gaps(
    start_replicas: StartReplicas,
) -> None:
    a, b = start_replicas(None)
    session = new_session()
    events = chained_events(a, session, 20)
    answers = []
    for i, event in enumerate(events):
        with (a, b)[i % 2].client() as client:
            response = client.post("/v1/events/batch", json=[event])
        answers.append((response.status_code, response.json()))
    breaks = sum(body.get("chain_breaks", 0) for _, body in answers)
    assert answers == [
        (
            200,
            {
                "accepted": 1,
                "duplicates": 0,
                "chain_breaks": 0,
                "redacted": 0,
                "conflicts": 0,
                "conflict_event_ids": [],
            },
        )
    ] * len(events), f"{breaks} chain breaks in one valid chain of {len(events)}"
    for server in (a, b):
        stored = {e["chain_index"]: e["chain_status"] for e in server.events(session)}
        assert stored == dict.fromkeys(range(len(events)), VERIFIED)


def test_the_same_batch_posted_to_both_replicas_at_once_is_stored_once(start_replicas: StartReplicas) -> None:
    a, b = start_replicas(None)
    posts, size = 8, 400  # a large batch widens the window between checking ids and writing
    for _round in range(5):
        session = new_session()
        batch = chained_events(a, session, size)
        barrier = threading.Barrier(posts)

        def post(
            i: int, batch: list[dict[str, Any]] = batch, barrier: threading.Barrier = barrier
        ) -> tuple[int, Any]:
            with (a, b)[i % 2].client() as client:
                barrier.wait()
                response = client.post("/v1/events/batch", json=batch)
            return response.status_code, response.json()

        with concurrent.futures.ThreadPoolExecutor(posts) as pool:
            answers = list(pool.map(post, range(posts)))
        statuses = [status for status, _ in answers]
        assert statuses == [200] * posts, f"{sum(s >= 500 for s in statuses)} of {posts} were 5xx: {statuses}"
        bodies = [body for _, body in answers]
        assert all(body["accepted"] + body["duplicates"] == size for body in bodies), bodies
        assert sum(body["accepted"] for body in bodies) == size, bodies  # each event accepted once
        assert all(body["chain_breaks"] == 0 for body in bodies), bodies
        stored = a.events(session)
        assert sorted(e["event_id"] for e in stored) == sorted(e["event_id"] for e in batch)
        assert [e["chain_status"] for e in stored] == [VERIFIED] * size


# -- kill -9 -------------------------------------------------------------------------------------------


def test_kill_9_right_after_the_answers_loses_no_decision_and_no_event(start_server: StartServer) -> None:
    server = start_server(cap_policy("calls_per_tool"))
    session = new_session()
    events = chained_events(server, session, 10)
    held = decide(server, session, "wire_money", mode="progressive", scope=[])
    server.deny(held["hold_token"])
    call = enforce_body(server, session, "read_file")
    with server.client() as client:
        # the events first: a write that waits for its commit may take earlier decisions along
        ingested = client.post("/v1/events/batch", json=events)
        answers = [client.post("/v1/enforce", json=call) for _ in range(LIMIT)]
    server.kill()  # at once: no shutdown, nothing flushed
    assert [r.json()["decision"] for r in answers] == ["ALLOW"] * LIMIT
    assert ingested.json() == {
        "accepted": len(events),
        "duplicates": 0,
        "chain_breaks": 0,
        "redacted": 0,
        "conflicts": 0,
        "conflict_event_ids": [],
    }

    server.start()
    stored = server.events(session)
    assert sorted(e["event_id"] for e in stored) == sorted(e["event_id"] for e in events)
    assert [e["chain_status"] for e in stored] == [VERIFIED] * len(events)
    after = decide(server, session, "read_file")
    assert (after["decision"], after["matched_rule_ids"]) == ("BLOCK", ["cap"])
    escalated = decide(server, session, "send_email", mode="progressive", scope=[])
    assert (escalated["decision"], escalated["decision_reason_code"]) == ("BLOCK", "REPEATED_VIOLATION")


class _Burst:
    """Threads sending one session's calls as fast as they can until the server dies."""

    def __init__(self, server: ThothServer, session: str, threads: int, kill_after: int) -> None:
        self.body = enforce_body(server, session, "read_file")
        self.server = server
        self.kill_after = kill_after
        self.lock = threading.Lock()
        self.allowed = 0  # ALLOW answers received
        self.other = 0  # other answers (BLOCK: the limit was reached before the kill)
        self.lost = 0  # requests cut off after they may have reached the server
        self.enough = threading.Event()
        self.pool = concurrent.futures.ThreadPoolExecutor(threads)
        self.futures = [self.pool.submit(self._send) for _ in range(threads)]

    def _send(self) -> None:
        with self.server.client() as client:
            while True:
                try:
                    response = client.post("/v1/enforce", json=self.body)
                except httpx.ConnectError:
                    return  # refused: this one never reached the server
                except httpx.TransportError:
                    with self.lock:
                        self.lost += 1
                    return
                with self.lock:
                    if response.status_code == 200 and response.json()["decision"] == "ALLOW":
                        self.allowed += 1
                    else:
                        self.other += 1
                    if self.allowed >= self.kill_after:
                        self.enough.set()
                if response.status_code != 200 or response.json()["decision"] != "ALLOW":
                    return

    def join(self) -> None:
        for future in self.futures:
            future.result(timeout=30)
        self.pool.shutdown()


def test_kill_9_during_a_burst_loses_no_answered_allow(start_server: StartServer) -> None:
    limit = 200  # far above what the threads can send between the signal to kill and the kill
    server = start_server(cap_policy("calls_per_tool", limit))
    session = new_session()
    burst = _Burst(server, session, threads=12, kill_after=5)
    assert burst.enough.wait(30), "the burst never got going"
    server.kill()  # with requests in flight
    burst.join()
    assert burst.allowed < limit, "the limit was reached before the kill: nothing was in flight"

    server.start()
    after = [decide(server, session, "read_file")["decision"] for _ in range(limit + 2)]
    allowed_after = after.count("ALLOW")
    assert after == ["ALLOW"] * allowed_after + ["BLOCK"] * (limit + 2 - allowed_after)
    # every answered ALLOW is counted; one the kill cut off may have been committed too
    counts = f"{burst.allowed} ALLOW answered before the kill, {allowed_after} after, limit {limit}"
    assert burst.allowed + allowed_after <= limit, counts
    assert burst.allowed + allowed_after >= limit - burst.lost, f"{counts}, {burst.lost} cut off"
