"""Audit events: content, batching, retries, bounds, accounting, the hash chain, threads and fork."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx

import thoth
from tests._contract import ContractAPI, Reply, allow, error
from tests.contract.conftest import API_KEY
from thoth import _chain
from thoth._redaction import REDACTED
from thoth.errors import ThothPolicyViolation
from thoth.tracer import Tracer


def _event_types(api: ContractAPI) -> list[str]:
    return [e["event_type"] for e in api.events]


def test_pre_post_and_block_events(api: ContractAPI, make_tracer: Callable[..., Tracer]) -> None:
    tracer = make_tracer()
    tracer.wrap_tool("search", lambda query: f"results for {query}")("cats")
    api.on_enforce(Reply(json={"decision": "BLOCK", "reason": "no", "violation_id": "vio_9"}))
    with pytest.raises(ThothPolicyViolation):
        tracer.wrap_tool("search", lambda query: query)("dogs")
    assert thoth.flush(2.0)
    assert _event_types(api) == ["TOOL_CALL_PRE", "TOOL_CALL_POST", "TOOL_CALL_PRE", "TOOL_CALL_BLOCK"]
    pre, post, _, blocked = api.events
    assert json.loads(pre["content"]) == {"query": "cats"}
    assert json.loads(post["content"]) == "results for cats"
    assert post["metadata"]["outcome"] == "ok" and post["metadata"]["duration_ms"] >= 0
    assert post["metadata"]["call_id"] == pre["metadata"]["call_id"]
    assert blocked["violation_id"] == "vio_9" and blocked["metadata"]["decision"] == "BLOCK"


def test_post_event_when_the_tool_raises(api: ContractAPI, make_tracer: Callable[..., Tracer]) -> None:
    def broken(path: str) -> str:
        raise FileNotFoundError(path)

    with pytest.raises(FileNotFoundError):
        make_tracer().wrap_tool("read_file", broken)("/nope")
    assert thoth.flush(2.0)
    post = api.events[-1]
    assert post["event_type"] == "TOOL_CALL_POST"
    assert post["metadata"]["outcome"] == "error" and post["metadata"]["error_type"] == "FileNotFoundError"


def test_batches_hold_at_most_ten_by_default(api: ContractAPI, make_tracer: Callable[..., Tracer]) -> None:
    tracer = make_tracer(enforcement="observe")
    governed = tracer.wrap_tool("search", lambda q: q)
    for i in range(23):
        governed(str(i))
    assert thoth.flush(3.0)
    assert len(api.events) == 46
    assert max(len(b) for b in api.batches) == 10


def test_batch_size_is_configurable(api: ContractAPI, make_tracer: Callable[..., Tracer]) -> None:
    governed = make_tracer(enforcement="observe", event_batch_size=3).wrap_tool("search", lambda q: q)
    for i in range(5):
        governed(str(i))
    assert thoth.flush(3.0)
    assert len(api.events) == 10 and max(len(b) for b in api.batches) == 3


def test_retry_then_success_keeps_event_ids(api: ContractAPI, make_tracer: Callable[..., Tracer]) -> None:
    api.on_ingest(
        Reply(raises=httpx.ConnectError("refused")),
        error(503, "unavailable", "busy"),
        Reply(200, json={"accepted": 2, "duplicates": 0, "chain_breaks": 0}),
    )
    make_tracer(enforcement="observe").wrap_tool("search", lambda q: q)("x")
    assert thoth.flush(10.0)
    attempts = [json.loads(r.content) for r in api.calls("/v1/events/batch")]
    assert len(attempts) == 3
    assert [e["event_id"] for e in attempts[0]] == [e["event_id"] for e in attempts[2]]
    stats = thoth.delivery_stats()
    assert stats["sent"] == 2 and stats["retried"] == 4 and stats["dropped_total"] == 0


def test_rejected_batch_is_counted_and_warned(
    api: ContractAPI, make_tracer: Callable[..., Tracer], caplog: pytest.LogCaptureFixture
) -> None:
    api.on_ingest(error(422, "validation_error", "bad event"), Reply(200, json={"accepted": 2}))
    make_tracer(enforcement="observe").wrap_tool("search", lambda q: q)("x")
    assert thoth.flush(3.0)
    stats = thoth.delivery_stats()
    assert stats["dropped"] == {"rejected_http_422": 2}
    assert any(
        "2 audit event(s) dropped" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING
    )


def test_queue_full_is_counted_not_silent(
    api: ContractAPI, make_tracer: Callable[..., Tracer], caplog: pytest.LogCaptureFixture
) -> None:
    api.on_ingest(error(503, "unavailable", "down"))
    governed = make_tracer(
        enforcement="observe", event_buffer_max_events=5, event_buffer_max_bytes=1024
    ).wrap_tool("search", lambda q: q)
    for i in range(40):
        governed(str(i))
    stats = thoth.delivery_stats()
    assert stats["dropped"].get("buffer_full", 0) > 0
    assert stats["enqueued"] + stats["dropped"]["buffer_full"] == 80
    assert any("dropped" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    api.on_ingest(Reply(200, json={"accepted": 1}))
    assert thoth.flush(10.0)
    after = thoth.delivery_stats()
    assert after["sent"] == after["enqueued"] and after["pending"] == 0


def test_close_flushes(api: ContractAPI, make_tracer: Callable[..., Tracer]) -> None:
    governed = make_tracer(enforcement="observe").wrap_tool("search", lambda q: q)
    for i in range(7):
        governed(str(i))
    assert thoth.close(3.0)
    assert len(api.events) == 14


def test_close_counts_what_could_not_be_sent(api: ContractAPI, make_tracer: Callable[..., Tracer]) -> None:
    api.on_ingest(error(503, "unavailable", "down"))
    make_tracer(enforcement="observe").wrap_tool("search", lambda q: q)("x")
    assert not thoth.close(0.3)
    assert thoth.delivery_stats()["dropped"] == {"shutdown": 2}


def test_no_thread_or_client_growth_after_200_instruments(
    api: ContractAPI, make_tracer: Callable[..., Tracer]
) -> None:
    from thoth._runtime import runtime

    class Agent:
        def __init__(self) -> None:
            self.tools = [lambda path: path]
            self.tools[0].__name__ = "read_file"

    thoth.instrument(
        Agent(),
        agent_id="a",
        approved_scope=["read_file"],
        tenant_id="t",
        api_key=API_KEY,
        api_url="http://127.0.0.1:8787",
    ).tools[0]("x")
    threads_before = threading.active_count()
    for _ in range(200):
        agent = thoth.instrument(
            Agent(),
            agent_id="a",
            approved_scope=["read_file"],
            tenant_id="t",
            api_key=API_KEY,
            api_url="http://127.0.0.1:8787",
        )
        agent.tools[0]("x")
    assert threading.active_count() == threads_before
    assert len(runtime()._senders) == 1
    assert len(runtime()._transports) == 1


def test_arguments_and_results_are_redacted(api: ContractAPI, make_tracer: Callable[..., Tracer]) -> None:
    def login(user: str, password: str, headers: dict[str, str]) -> dict[str, str]:
        return {"session_token": "abc", "note": "key sk-ABCDEFGHIJKLMNOPQRSTUVWX used"}

    make_tracer().wrap_tool("login", login)(
        "alice", "hunter2", {"Authorization": "Bearer xyz", "Accept": "json"}
    )
    assert thoth.flush(2.0)
    pre, post = (json.loads(e["content"]) for e in api.events)
    assert pre == {
        "user": "alice",
        "password": REDACTED,
        "headers": {"Authorization": REDACTED, "Accept": "json"},
    }
    assert post == {"session_token": REDACTED, "note": f"key {REDACTED} used"}
    assert "hunter2" not in json.dumps(api.events) and "sk-ABCD" not in json.dumps(api.events)


def test_content_is_truncated(api: ContractAPI, make_tracer: Callable[..., Tracer]) -> None:
    make_tracer(max_content_chars=100).wrap_tool("echo", lambda text: text)("x" * 5000)
    assert thoth.flush(2.0)
    assert all(len(e["content"]) <= 100 for e in api.events)
    assert "truncated" in api.events[0]["content"]


def test_content_can_be_switched_off(api: ContractAPI, make_tracer: Callable[..., Tracer]) -> None:
    make_tracer(event_content="none").wrap_tool("echo", lambda text: text)("private")
    assert thoth.flush(2.0)
    assert [e["content"] for e in api.events] == ["", ""]


def test_custom_redactor_runs_first(api: ContractAPI, make_tracer: Callable[..., Tracer]) -> None:
    def drop_ssn(value: Any) -> Any:
        return (
            {k: v for k, v in value.items() if k != "patient"}
            if isinstance(value, dict)
            else "[result hidden]"
        )

    make_tracer(redactor=drop_ssn).wrap_tool("lookup", lambda patient, field: "diagnosis")("jane", "dob")
    assert thoth.flush(2.0)
    assert [json.loads(e["content"]) for e in api.events] == [{"field": "dob"}, "[result hidden]"]


def test_hash_chain_verifies_and_a_removed_event_breaks_it(
    api: ContractAPI, make_tracer: Callable[..., Tracer]
) -> None:
    tracer = make_tracer()
    governed = tracer.wrap_tool("search", lambda q: q)
    for i in range(4):
        governed(str(i))
    assert thoth.flush(2.0)
    events = [e for e in api.events if e["session_id"] == tracer.session.session_id]
    assert [e["chain_index"] for e in events] == list(range(8))
    assert _chain.verify_chain(events) == []
    assert any("gap" in p for p in _chain.verify_chain(events[:3] + events[4:]))
    tampered = [dict(e) for e in events]
    tampered[2]["content"] = '"rewritten"'
    assert any("hash does not match" in p for p in _chain.verify_chain(tampered))


def test_continued_session_continues_the_chain(api: ContractAPI, make_tracer: Callable[..., Tracer]) -> None:
    first = make_tracer(session_id="sess-continued")
    first.wrap_tool("search", lambda q: q)("a")
    second = make_tracer(session_id="sess-continued")
    second.wrap_tool("search", lambda q: q)("b")
    assert thoth.flush(2.0)
    assert [e["chain_index"] for e in api.events] == [0, 1, 2, 3]
    assert _chain.verify_chain(api.events) == []


def _child_emits(conn: Any) -> None:
    tracer_events = thoth.delivery_stats()["enqueued"]
    governed = thoth.instrument_openai(
        {"search": lambda query: query},
        agent_id="child",
        approved_scope=["search"],
        tenant_id="t",
        api_key=API_KEY,
        api_url="http://127.0.0.1:8787",
        enforcement="observe",
    )
    governed["search"]({"query": "from the child"})
    ok = thoth.flush(5.0)
    stats = thoth.delivery_stats()
    conn.send((tracer_events, ok, stats["sent"], stats["pending"]))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_events_after_fork(api: ContractAPI, make_tracer: Callable[..., Tracer]) -> None:
    api.on_ingest(Reply(200, json={"accepted": 1}, delay=0.2))  # the parent's batch is in flight at fork
    make_tracer(enforcement="observe").wrap_tool("search", lambda q: q)("parent")
    parent_end, child_end = multiprocessing.get_context("fork").Pipe()
    process = multiprocessing.get_context("fork").Process(target=_child_emits, args=(child_end,))
    process.start()
    enqueued_at_start, ok, sent, pending = parent_end.recv()
    process.join(10)
    assert process.exitcode == 0
    assert enqueued_at_start == 0  # the child does not inherit (and resend) the parent's queue
    assert ok and sent == 2 and pending == 0
    assert thoth.flush(5.0)
    assert [e["content"] for e in api.events] == ['{"q":"parent"}', '"parent"']


def test_emit_accepts_a_complete_event(api: ContractAPI) -> None:
    emitter = thoth.emitter.HttpEmitter(api_url="http://127.0.0.1:8787", api_key=API_KEY)
    assert emitter.emit(
        {
            "tenant_id": "t",
            "agent_id": "a",
            "session_id": "s",
            "event_type": "LLM_INVOCATION",
            "source_type": "agent_llm_invocation",
            "content": "tokens=12",
        }
    )
    assert emitter.flush(2.0)
    assert api.events[0]["event_type"] == "LLM_INVOCATION" and "event_id" in api.events[0]


def test_no_sender_thread_or_request_until_there_is_an_event(
    api: ContractAPI, make_tracer: Callable[..., Tracer]
) -> None:
    api.on_enforce(allow())
    for _ in range(5):
        make_tracer()  # building tracers only wires up the shared sender; it starts nothing
    assert not any(t.name == "thoth-events" for t in threading.enumerate())
    assert thoth.flush(0.5)  # nothing queued: returns at once
    assert api.calls("/v1/events/batch") == []


def test_new_events_do_not_cut_the_backoff_short(
    api: ContractAPI, make_tracer: Callable[..., Tracer]
) -> None:
    api.on_ingest(error(503, "unavailable", "down"))
    governed = make_tracer(enforcement="observe").wrap_tool("search", lambda q: q)
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:  # a busy agent: ~30 batches' worth of events per second
        governed("x")
        time.sleep(0.005)
    posts = len(api.calls("/v1/events/batch"))
    # Exponential backoff from 0.5 s with full jitter: a handful of retries in 1.5 s, not one per event.
    assert 1 <= posts <= 12
    api.on_ingest(Reply(200, json={"accepted": 1}))
    assert thoth.flush(15.0)
    assert thoth.delivery_stats()["dropped_total"] == 0


def test_the_sender_thread_survives_an_internal_error(
    api: ContractAPI, make_tracer: Callable[..., Tracer], monkeypatch: pytest.MonkeyPatch
) -> None:
    from thoth._sender import Sender

    original = Sender._send_one_batch
    failures = iter([True])

    def flaky(self: Sender) -> bool:
        if next(failures, False):
            raise RuntimeError("bug")
        return original(self)

    monkeypatch.setattr(Sender, "_send_one_batch", flaky)
    make_tracer(enforcement="observe").wrap_tool("search", lambda q: q)("x")
    assert thoth.flush(5.0)
    assert len(api.events) == 2


def test_flush_one_endpoint_only(api: ContractAPI, make_tracer: Callable[..., Tracer]) -> None:
    make_tracer(enforcement="observe").wrap_tool("search", lambda q: q)("x")
    dead = thoth.instrument_openai(
        {"search": lambda q: q},
        agent_id="a",
        approved_scope=["search"],
        tenant_id="t",
        api_url="http://127.0.0.1:9",
        enforcement="observe",
    )
    with respx.mock(assert_all_mocked=False) as router:
        router.route(host="127.0.0.1", port=9).mock(side_effect=httpx.ConnectError("refused"))
        dead["search"]({"q": "y"})
        assert thoth.flush(3.0, api_url="http://127.0.0.1:8787/")
        assert not thoth.flush(0.3, api_url="http://127.0.0.1:9")
        assert len(api.events) == 2
        thoth.close(0.2, api_url="http://127.0.0.1:9")
