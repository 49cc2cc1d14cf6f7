"""One Runtime holds the SDK's process-wide state; thoth.close() and thoth.testing.reset() stop it."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

import pytest

import thoth
import thoth.testing
from tests._contract import ContractAPI, Reply
from thoth._runtime import runtime
from thoth.session import _CURRENT_SESSION, MAX_REMEMBERED_CALLS, get_current_session
from thoth.tracer import Tracer


def _thoth_threads() -> set[str]:
    """The SDK's own threads (a server test may leave its writer thread behind in this process)."""
    return {t.name for t in threading.enumerate() if t.name in ("thoth-events", "thoth-background")}


def test_close_stops_every_thread_and_pool_and_they_restart_on_use(
    api: ContractAPI, make_tracer: Callable[..., Tracer]
) -> None:
    observed = make_tracer(enforcement="observe").wrap_tool("search", lambda q: q)
    observed("x")  # an event sender and a shadow check: two threads
    assert runtime().background.wait_idle(2.0)
    assert _thoth_threads() == {"thoth-events", "thoth-background"}
    transport = next(iter(runtime()._transports.values()))
    assert transport._sync is not None

    assert thoth.close(timeout=2.0)
    assert _thoth_threads() == set()
    assert transport._sync is None
    assert len(api.events) == 2  # PRE and POST were delivered before the sender stopped

    observed("y")  # everything starts again when used
    assert thoth.flush(2.0)
    assert len(api.events) == 4


def test_reset_gives_a_fresh_runtime(api: ContractAPI, make_tracer: Callable[..., Tracer]) -> None:
    make_tracer(enforcement="observe").wrap_tool("search", lambda q: q)("x")
    before = runtime()
    thoth.testing.reset(timeout=2.0)
    assert runtime() is not before
    assert _thoth_threads() == set()
    stats = thoth.delivery_stats()
    assert stats["enqueued"] == 0 and stats["endpoints"] == [] and stats["shadow_checks"]["queued"] == 0
    assert len(api.events) == 2  # what was queued got its chance to be delivered


def test_close_counts_what_it_could_not_deliver(api: ContractAPI, make_tracer: Callable[..., Tracer]) -> None:
    api.on_ingest(Reply(503, json={"code": "unavailable", "message": "down"}))
    make_tracer(enforcement="observe", observe_shadow_checks=False).wrap_tool("search", lambda q: q)("x")
    assert not thoth.close(timeout=0.5)
    assert thoth.delivery_stats()["dropped"] == {"shutdown": 2}
    assert _thoth_threads() == set()


def test_building_a_tracer_does_not_change_the_current_session(make_tracer: Callable[..., Tracer]) -> None:
    token = _CURRENT_SESSION.set(None)  # earlier tests may have left one current in this thread
    try:
        _check_session_side_effects(make_tracer)
    finally:
        _CURRENT_SESSION.reset(token)


def _check_session_side_effects(make_tracer: Callable[..., Tracer]) -> None:
    tracer = make_tracer(session_id="built")
    assert get_current_session() is None  # build_tracer has no side effect on the context
    tools = thoth.instrument({"f": lambda: None}, **_common(), session_id="instrumented")
    assert tools and get_current_session() is not None
    assert get_current_session().session_id == "instrumented"  # type: ignore[union-attr]
    assert tracer.session.session_id == "built"


def _common() -> dict[str, object]:
    return {
        "agent_id": "a",
        "approved_scope": ["f"],
        "tenant_id": "t",
        "api_url": "http://127.0.0.1:9",
        "enforcement": "observe",
        "observe_shadow_checks": False,
    }


def test_a_long_session_remembers_a_bounded_number_of_calls(make_tracer: Callable[..., Tracer]) -> None:
    session = make_tracer().session
    for index in range(3 * MAX_REMEMBERED_CALLS):
        session.record_tool_call(f"tool-{index}")
    assert session.tool_call_count == 3 * MAX_REMEMBERED_CALLS
    assert MAX_REMEMBERED_CALLS <= len(session.tool_calls) <= 2 * MAX_REMEMBERED_CALLS
    assert session.tool_calls[-1] == f"tool-{3 * MAX_REMEMBERED_CALLS - 1}"
    assert session.pending_calls("next", 3) == [
        f"tool-{3 * MAX_REMEMBERED_CALLS - 2}",
        f"tool-{3 * MAX_REMEMBERED_CALLS - 1}",
        "next",
    ]


def test_chain_positions_are_bounded_least_recently_used_first(monkeypatch: pytest.MonkeyPatch) -> None:
    from thoth import _sender

    monkeypatch.setattr(_sender, "_MAX_CHAINS", 3)
    positions: dict[tuple[str, str], int] = {}
    for session in ("a", "b", "c", "a", "d"):  # "b" is the least recently used when "d" arrives
        positions[("t", session)] = _sender._touch(positions, ("t", session), 0) + 1
    assert list(positions) == [("t", "c"), ("t", "a"), ("t", "d")]
    assert positions[("t", "a")] == 2


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_gets_fresh_call_ids_and_senders(
    api: ContractAPI, make_tracer: Callable[..., Tracer]
) -> None:
    tracer = make_tracer(enforcement="observe", observe_shadow_checks=False)
    tracer.wrap_tool("search", lambda q: q)("x")
    parent_prefix = runtime().new_call_id().split("-")[0]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its call-id prefix and whether its sender starts empty
        try:
            prefix = runtime().new_call_id().split("-")[0]
            pending = sum(s.pending() for s in runtime().senders())
            os.write(write, f"{prefix} {pending}".encode())
        finally:
            os._exit(0)
    os.close(write)
    child = os.read(read, 100).decode().split()
    os.waitpid(pid, 0)
    assert child[0] != parent_prefix and child[1] == "0"


def test_a_second_agent_asking_for_other_event_bounds_is_refused_not_silently_given_the_first(
    make_tracer: Callable[..., Tracer],
) -> None:
    make_tracer(event_buffer_max_events=500)
    make_tracer(event_buffer_max_events=500)  # the same bounds share the one buffer
    with pytest.raises(thoth.ThothConfigError) as refused:
        make_tracer(event_buffer_max_events=20_000, event_batch_size=10)
    message = str(refused.value)
    assert "event_buffer_max_events=20000 (it uses 500)" in message
    assert "event_batch_size" not in message  # only what differs is named
