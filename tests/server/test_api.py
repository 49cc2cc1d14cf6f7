"""The enforcer over real HTTP on 127.0.0.1: auth, tenants, holds, events, restarts, webhooks."""

from __future__ import annotations

import concurrent.futures
import http.server
import json
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import ThothServer
from thoth.server.chain import event_hash

MakeServer = Callable[..., ThothServer]
# uvicorn shuts down cleanly, then re-raises the signal it caught: exit 128 + signal number
CLEAN_EXITS = (0, 128 + signal.SIGINT, 128 + signal.SIGTERM)


def new_session() -> str:
    return f"sess-{uuid.uuid4()}"


def chained_events(
    server: ThothServer, session: str, count: int, start: int = 0, previous: str = ""
) -> list[dict[str, Any]]:
    events = []
    for index in range(start, start + count):
        event = {
            "event_id": str(uuid.uuid4()),
            "tenant_id": server.tenant_id,
            "agent_id": "test-agent",
            "session_id": session,
            "user_id": "tester",
            "source_type": "agent_tool_call",
            "event_type": "TOOL_CALL_PRE",
            "tool_name": "read_file",
            "content": json.dumps({"path": f"/tmp/{index}"}),
            "metadata": {"n": index},
            "occurred_at": "2026-11-25T10:00:00.123456Z",
            "chain_index": index,
            "previous_hash": previous,
        }
        event["hash"] = event_hash(event)
        previous = event["hash"]
        events.append(event)
    return events


# -- auth ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path_and_method",
    [
        ("POST", "/v1/enforce"),
        ("GET", "/v1/holds"),
        ("GET", "/v1/events"),
        ("POST", "/v1/events/batch"),
        ("GET", "/v1/enforce/hold/hold_abcdefgh"),
        ("POST", "/v1/enforce/hold/hold_abcdefgh/resolve"),
    ],
)
def test_every_path_wants_a_key_and_answers_401_with_the_error_schema(
    thoth_server: ThothServer, path_and_method: tuple[str, str]
) -> None:
    method, path = path_and_method
    tokenless_read = method == "GET" and path.startswith("/v1/enforce/hold/")  # the token is the credential
    for headers in (
        *([] if tokenless_read else [{}]),
        {"x-api-key": "wrong"},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Basic x"},
    ):
        response = httpx.request(method, thoth_server.url + path, headers=headers, json={})
        assert response.status_code == 401
        body = response.json()
        assert body["code"] == "unauthorized"
        assert isinstance(body["message"], str)
        assert "wrong" not in response.text


def test_a_hold_is_readable_with_only_its_token_and_says_only_its_state(thoth_server: ThothServer) -> None:
    """aten-thoth 0.1.0-0.1.1 poll holds with no key: the token answers, with the state only."""
    session = new_session()
    held = thoth_server.enforce(
        tool_name="send_email", session_id=session, approved_scope=[], enforcement_mode="step_up"
    )
    token = held["hold_token"]
    url = f"{thoth_server.url}/v1/enforce/hold/{token}"
    pending = httpx.get(url)
    thoth_server.deny(token, reason="not this quarter")
    denied = httpx.get(url)
    with thoth_server.client() as client:
        keyed = client.get(f"/v1/enforce/hold/{token}").json()
    assert (pending.status_code, pending.json()["resolved"]) == (200, False)
    assert denied.json() | {"approver": "pytest"} == {**keyed, "reason": "denied by an approver"}
    assert "approver" not in denied.json()
    assert "not this quarter" in keyed["reason"]
    assert keyed["approver"] == "pytest"  # a key of the hold's tenant learns who decided
    assert httpx.get(f"{thoth_server.url}/v1/enforce/hold/hold_doesnotexist").status_code == 404
    assert httpx.get(url, headers={"x-api-key": "wrong"}).status_code == 401


def test_both_auth_headers_work_on_every_path(thoth_server: ThothServer) -> None:
    session = new_session()
    for headers in ({"x-api-key": thoth_server.api_key}, {"Authorization": f"Bearer {thoth_server.api_key}"}):
        with httpx.Client(base_url=thoth_server.url, headers=headers) as client:
            enforce = client.post(
                "/v1/enforce",
                json={
                    "agent_id": "a",
                    "tenant_id": thoth_server.tenant_id,
                    "tool_name": "t",
                    "session_id": session,
                    "approved_scope": ["other"],
                    "enforcement_mode": "step_up",
                },
            )
            assert enforce.status_code == 200
            token = enforce.json()["hold_token"]
            assert client.get(f"/v1/enforce/hold/{token}").status_code == 200
            assert client.get("/v1/holds").status_code == 200
            assert client.get("/v1/events").status_code == 200
            batch = client.post("/v1/events/batch", json=chained_events(thoth_server, new_session(), 1))
            assert batch.status_code == 200
            # a tenant key is authenticated on resolve, but only an admin key may resolve
            assert (
                client.post(f"/v1/enforce/hold/{token}/resolve", json={"resolution": "ALLOW"}).status_code
                == 403
            )
    assert httpx.get(thoth_server.url + "/healthz").json()["status"] == "ok"


def test_errors_never_carry_a_stack_trace(thoth_server: ThothServer) -> None:
    with thoth_server.client() as client:
        for response in (
            client.post("/v1/enforce", content=b"{not json"),
            client.post("/v1/enforce", json={"tool_name": 5}),
            client.post("/v1/events/batch", json={"not": "a list"}),
            client.get("/v1/holds", params={"limit": "zero"}),
            client.delete("/v1/enforce"),
            client.get("/nowhere"),
        ):
            assert 400 <= response.status_code < 500
            body = response.json()
            assert set(body) >= {"code", "message"}
            assert "Traceback" not in response.text


# -- decisions ------------------------------------------------------------------------------------------


def test_session_facts_come_from_the_enforcer_not_the_caller(make_thoth_server: MakeServer) -> None:
    server = make_thoth_server(
        "tags:\n  reads_secrets: [get_secret]\n  sends_out: [send_email]\n"
        "rules:\n  - {id: no-exfil, after_tags: [reads_secrets], tags: [sends_out], decision: BLOCK}\n"
    )
    session = new_session()
    scope = ["get_secret", "send_email"]
    fresh = server.enforce(
        tool_name="send_email",
        session_id=session,
        approved_scope=scope,
        session_tool_calls=["get_secret", "send_email"],
        enforcement_mode="block",
    )
    assert fresh["decision"] == "ALLOW"  # the caller's claim that get_secret ran is not trusted
    assert (
        server.enforce(tool_name="get_secret", session_id=session, approved_scope=scope)["decision"]
        == "ALLOW"
    )
    after = server.enforce(
        tool_name="send_email",
        session_id=session,
        approved_scope=scope,
        session_tool_calls=[],
        enforcement_mode="block",
    )
    assert after["decision"] == "BLOCK"  # ... nor its claim that nothing ran
    assert after["matched_rule_ids"] == ["no-exfil"]
    assert after["decision_reason_code"] == "SEQUENCE"
    assert after["violation_id"].startswith("vio_")


def test_observe_mode_allows_and_reports_the_shadow_decision(thoth_server: ThothServer) -> None:
    result = thoth_server.enforce(
        tool_name="rm_rf", session_id=new_session(), approved_scope=["read_file"], enforcement_mode="observe"
    )
    assert result["decision"] == "ALLOW"
    assert result["shadow_decision"] == "STEP_UP"
    assert "hold_token" not in result


def test_modify_and_defer_answers(make_thoth_server: MakeServer) -> None:
    server = make_thoth_server(
        "rules:\n"
        "  - {id: mask, tools: [lookup], decision: MODIFY, reason: masked, modify: {mask: [ssn]}}\n"
        "  - {id: later, tools: [export], decision: DEFER, defer_timeout_seconds: 42}\n"
    )
    session = new_session()
    modified = server.enforce(
        tool_name="lookup",
        session_id=session,
        approved_scope=["lookup"],
        tool_args={"ssn": "123", "name": "Al"},
    )
    assert modified["decision"] == "MODIFY"
    assert modified["modified_tool_args"] == {"ssn": "***", "name": "Al"}
    assert modified["modification_reason"] == "masked"
    deferred = server.enforce(  # a client that knows DEFER sends a trace id (see test_wire_tolerance)
        tool_name="export", session_id=session, approved_scope=["export"], enforcement_trace_id=session
    )
    assert (deferred["decision"], deferred["defer_timeout_seconds"]) == ("DEFER", 42)


def test_progressive_blocks_after_a_denied_hold(thoth_server: ThothServer) -> None:
    session = new_session()
    first = thoth_server.enforce(tool_name="send_email", session_id=session, approved_scope=["read_file"])
    assert first["decision"] == "STEP_UP"
    thoth_server.deny(first["hold_token"])
    second = thoth_server.enforce(tool_name="delete_file", session_id=session, approved_scope=["read_file"])
    assert (second["decision"], second["decision_reason_code"]) == ("BLOCK", "REPEATED_VIOLATION")


# -- holds ----------------------------------------------------------------------------------------------


def test_hold_lifecycle_with_retry_after_and_exactly_one_resolution(thoth_server: ThothServer) -> None:
    session = new_session()
    args = {"to": "eve@evil.example"}
    result = thoth_server.enforce(
        tool_name="send_email",
        session_id=session,
        approved_scope=[],
        enforcement_mode="step_up",
        tool_args=args,
    )
    token = result["hold_token"]
    assert len(token) > 30
    with thoth_server.client() as client:
        pending = client.get(f"/v1/enforce/hold/{token}")
        assert pending.headers["Retry-After"] == "1"
        assert pending.json() | {"expires_at": None} == {
            "hold_token": token,
            "resolved": False,
            "resolution": None,
            "reason": "awaiting approval",
            "decision": "STEP_UP",
            "expires_at": None,
        }
    [listed] = thoth_server.holds("pending", session)
    assert listed["args_sha256"] == __import__("hashlib").sha256(b'{"to":"eve@evil.example"}').hexdigest()
    assert (listed["tool_name"], listed["tenant_id"], listed["status"]) == (
        "send_email",
        thoth_server.tenant_id,
        "pending",
    )
    approved = thoth_server.approve(token, reason="expected")
    assert (approved["status"], approved["approver"], approved["resolution_reason"]) == (
        "approved",
        "pytest",
        "expected",
    )
    with thoth_server.client() as client:
        done = client.get(f"/v1/enforce/hold/{token}")
        assert "Retry-After" not in done.headers
        assert (done.json()["resolved"], done.json()["resolution"]) == (True, "ALLOW")
        again = client.post(
            f"/v1/enforce/hold/{token}/resolve",
            json={"resolution": "BLOCK"},
            headers={"x-api-key": thoth_server.admin_key},
        )
        assert (again.status_code, again.json()["code"]) == (409, "already_resolved")


def test_concurrent_approve_and_deny_exactly_one_wins(thoth_server: ThothServer) -> None:
    for _round in range(5):
        token = thoth_server.enforce(
            tool_name="wire_money", session_id=new_session(), approved_scope=[], enforcement_mode="step_up"
        )["hold_token"]
        barrier = threading.Barrier(8)

        def resolve(resolution: str, token: str = token, barrier: threading.Barrier = barrier) -> int:
            barrier.wait()
            response = httpx.post(
                f"{thoth_server.url}/v1/enforce/hold/{token}/resolve",
                json={"resolution": resolution},
                headers={"x-api-key": thoth_server.admin_key},
            )
            return response.status_code

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(resolve, ["ALLOW", "BLOCK"] * 4))
        assert sorted(codes) == [200] + [409] * 7
        status = httpx.get(
            f"{thoth_server.url}/v1/enforce/hold/{token}", headers={"x-api-key": thoth_server.api_key}
        ).json()
        assert status["resolved"] is True
        winner = ["ALLOW", "BLOCK"][codes.index(200) % 2]
        assert status["resolution"] == winner


def test_an_expired_hold_resolves_as_block_and_cannot_be_approved(make_thoth_server: MakeServer) -> None:
    server = make_thoth_server("hold_timeout_seconds: 0.3\n")
    session = new_session()
    token = server.enforce(tool_name="x", session_id=session, approved_scope=[], enforcement_mode="step_up")[
        "hold_token"
    ]
    time.sleep(0.5)
    with server.client() as client:
        status = client.get(f"/v1/enforce/hold/{token}").json()
    assert (status["resolved"], status["resolution"], status["reason"]) == (
        True,
        "BLOCK",
        "step-up auth timeout",
    )
    assert server.holds("expired")[0]["hold_token"] == token
    with server.client(server.admin_key) as client:
        late = client.post(f"/v1/enforce/hold/{token}/resolve", json={"resolution": "ALLOW"})
    assert (late.status_code, late.json()["message"]) == (409, "the hold is already expired")
    # a timed-out approval counts as a denial: progressive mode now blocks this session
    later = server.enforce(
        tool_name="y", session_id=session, approved_scope=[], enforcement_mode="progressive"
    )
    assert (later["decision"], later["decision_reason_code"]) == ("BLOCK", "REPEATED_VIOLATION")
    server.restart()  # ... and remembers it
    again = server.enforce(
        tool_name="z", session_id=session, approved_scope=[], enforcement_mode="progressive"
    )
    assert again["decision"] == "BLOCK"


def test_unknown_and_malformed_hold_tokens_are_404(thoth_server: ThothServer) -> None:
    with thoth_server.client() as client:
        assert client.get("/v1/enforce/hold/hold_doesnotexist").status_code == 404
        assert client.get("/v1/enforce/hold/bad%20token!").status_code == 404


# -- tenants ----------------------------------------------------------------------------------------------


def test_a_key_sees_only_its_own_tenant(make_thoth_server: MakeServer) -> None:
    server = make_thoth_server(
        extra_args=["--api-key", "globex:globex-key", "--admin-key", "globex:globex-admin"]
    )
    session = new_session()
    token = server.enforce(tool_name="x", session_id=session, approved_scope=[], enforcement_mode="step_up")[
        "hold_token"
    ]
    server.approve(token)  # keeps a resolved hold around too
    token = server.enforce(tool_name="y", session_id=session, approved_scope=[], enforcement_mode="step_up")[
        "hold_token"
    ]
    assert server.enforce(tool_name="z", session_id=session, approved_scope=["z"])["decision"] == "ALLOW"
    ingest = server.client().post("/v1/events/batch", json=chained_events(server, session, 2))
    assert ingest.json()["accepted"] == 2

    with httpx.Client(base_url=server.url, headers={"x-api-key": "globex-key"}) as globex:
        forbidden = globex.post(
            "/v1/enforce",
            json={"agent_id": "a", "tenant_id": server.tenant_id, "tool_name": "x", "session_id": session},
        )
        assert (forbidden.status_code, forbidden.json()["code"]) == (403, "forbidden")
        assert globex.get(f"/v1/enforce/hold/{token}").status_code == 404
        assert globex.get("/v1/holds").json()["items"] == []
        assert globex.get("/v1/holds", params={"tenant_id": server.tenant_id}).json()["items"] == []
        assert globex.get("/v1/events", params={"session_id": session}).json()["items"] == []
        writes = globex.post("/v1/events/batch", json=chained_events(server, session, 1))
        assert writes.status_code == 403
    with httpx.Client(base_url=server.url, headers={"x-api-key": "globex-admin"}) as globex_admin:
        assert (
            globex_admin.post(f"/v1/enforce/hold/{token}/resolve", json={"resolution": "ALLOW"}).status_code
            == 404
        )
    assert server.holds("pending")[0]["hold_token"] == token  # still pending


# -- events -----------------------------------------------------------------------------------------------


def test_events_are_stored_idempotently_and_chains_are_checked(thoth_server: ThothServer) -> None:
    session = new_session()
    events = chained_events(thoth_server, session, 5)
    with thoth_server.client() as client:
        first = client.post("/v1/events/batch", json=events[:3]).json()
        assert first == {
            "accepted": 3,
            "duplicates": 0,
            "chain_breaks": 0,
            "redacted": 0,
            "conflicts": 0,
            "conflict_event_ids": [],
        }
        retry = client.post("/v1/events/batch", json=events[:4]).json()
        assert retry == {
            "accepted": 1,
            "duplicates": 3,
            "chain_breaks": 0,
            "redacted": 0,
            "conflicts": 0,
            "conflict_event_ids": [],
        }
        # skip index 4: the next event leaves a gap; a changed event is a mismatch
        after_gap = chained_events(thoth_server, session, 1, start=5, previous=events[4]["hash"])
        tampered = dict(chained_events(thoth_server, session, 1, start=6, previous=after_gap[0]["hash"])[0])
        tampered["content"] = "edited after hashing"
        unchained = {
            **chained_events(thoth_server, session, 1)[0],
            "hash": "",
            "previous_hash": "",
            "chain_index": 0,
        }
        breaks = client.post("/v1/events/batch", json=[*after_gap, tampered, unchained]).json()
        assert breaks == {
            "accepted": 3,
            "duplicates": 0,
            "chain_breaks": 2,
            "redacted": 0,
            "conflicts": 0,
            "conflict_event_ids": [],
        }
    stored = thoth_server.events(session)
    statuses = {e["chain_index"]: e["chain_status"] for e in stored if e["hash"]}
    assert statuses == {0: "verified", 1: "verified", 2: "verified", 3: "verified", 5: "gap", 6: "mismatch"}
    assert sum(e["chain_status"] == "unchained" for e in stored) == 1
    original = next(e for e in stored if e["chain_index"] == 1)
    assert original["metadata"] == {"n": 1}
    assert original["received_at"].endswith("Z")


def test_event_batches_are_validated_and_limited(thoth_server: ThothServer) -> None:
    good = chained_events(thoth_server, new_session(), 1)[0]
    with thoth_server.client() as client:
        for bad, field in (
            ({**good, "event_id": "not-a-uuid"}, "event_id"),
            ({**good, "occurred_at": "yesterday"}, "occurred_at"),
            ({**good, **{f"x{n}": n for n in range(65)}}, "at most 64 fields the contract does not define"),
            ({k: v for k, v in good.items() if k != "session_id"}, "session_id"),
        ):
            response = client.post("/v1/events/batch", json=[good, bad])
            assert response.status_code == 422
            assert field in response.json()["message"]
            assert response.json()["message"].startswith("events[1]")
        assert client.post("/v1/events/batch", json=[]).status_code == 422
        too_many = [dict(good, event_id=str(uuid.uuid4())) for _ in range(1001)]
        assert client.post("/v1/events/batch", json=too_many).status_code == 422
        huge = [dict(good, content="x" * 60_000, event_id=str(uuid.uuid4())) for _ in range(80)]
        too_big = client.post("/v1/events/batch", json=huge)
        assert (too_big.status_code, too_big.json()["code"]) == (413, "payload_too_large")
    assert thoth_server.events(good["session_id"]) == []  # nothing of a refused batch was stored


def test_events_page_with_cursors(thoth_server: ThothServer) -> None:
    session = new_session()
    with thoth_server.client() as client:
        client.post("/v1/events/batch", json=chained_events(thoth_server, session, 7)).raise_for_status()
        seen, cursor = [], None
        while True:
            params = {"session_id": session, "limit": 3} | ({"cursor": cursor} if cursor else {})
            page = client.get("/v1/events", params=params).json()
            seen += [e["chain_index"] for e in page["items"]]
            cursor = page["next_cursor"]
            if not page["items"]:
                break
        assert seen == list(range(7))
        assert client.get("/v1/events", params={"cursor": "not/valid"}).status_code == 400
        never_given = client.get("/v1/events", params={"cursor": "abc"}).json()
        assert never_given == {"items": [], "next_cursor": None}


# -- restart, shutdown, start-up ---------------------------------------------------------------------------


def test_a_restart_keeps_holds_events_and_session_facts(make_thoth_server: MakeServer) -> None:
    server = make_thoth_server(
        "rules:\n  - {id: two-reads, tools: [read_file], limit: {calls_per_tool: 2}, decision: BLOCK}\n"
    )
    session = new_session()
    for _ in range(2):
        assert (
            server.enforce(tool_name="read_file", session_id=session, approved_scope=["read_file"])[
                "decision"
            ]
            == "ALLOW"
        )
    token = server.enforce(tool_name="x", session_id=session, approved_scope=[], enforcement_mode="step_up")[
        "hold_token"
    ]
    with server.client() as client:
        client.post("/v1/events/batch", json=chained_events(server, session, 2)).raise_for_status()
    assert server.stop() in CLEAN_EXITS
    assert "Application shutdown complete" in server.log()
    server.start()
    assert server.holds("pending", session)[0]["hold_token"] == token
    stored = server.events(session)
    assert [e["chain_status"] for e in stored] == ["verified", "verified"]
    [later] = chained_events(server, session, 1, start=2, previous=stored[-1]["hash"])  # continues the chain
    with server.client() as client:
        assert client.post("/v1/events/batch", json=[later]).json()["chain_breaks"] == 0
    third = server.enforce(tool_name="read_file", session_id=session, approved_scope=["read_file"])
    assert (third["decision"], third["matched_rule_ids"]) == ("BLOCK", ["two-reads"])
    server.approve(token)


def test_sigint_flushes_pending_decision_writes(make_thoth_server: MakeServer) -> None:
    import sqlalchemy as sa

    server = make_thoth_server()
    session = new_session()
    for _ in range(50):
        server.enforce(tool_name="read_file", session_id=session, approved_scope=["read_file"])
    assert server.stop(signal.SIGINT) in CLEAN_EXITS
    engine = sa.create_engine(server.db_url)
    with engine.connect() as conn:
        count = conn.execute(
            sa.text("select count(*) from thoth_decisions where session_id = :s"), {"s": session}
        ).scalar()
    engine.dispose()
    assert count == 50


def test_start_refuses_without_keys_and_with_a_bad_policy(tmp_path: Any) -> None:
    def serve(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "thoth.cli", "serve", "--port", "1", *args],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
            env={"PATH": "/usr/bin:/bin"},
        )

    no_keys = serve()
    assert no_keys.returncode == 2
    assert "--insecure-dev" in no_keys.stderr
    policy = tmp_path / "bad.yaml"
    policy.write_text("rules:\n  - id: r\n    decision: BLOCK\n    when: args.x ==\n")
    bad = serve("--api-key", "k", "--policy", str(policy))
    assert bad.returncode == 2
    assert f"{policy}:4:" in bad.stderr
    assert "invalid CEL" in bad.stderr


def test_logs_have_one_line_per_request_and_no_secrets(make_thoth_server: MakeServer) -> None:
    server = make_thoth_server()
    token = server.enforce(
        tool_name="x", session_id=new_session(), approved_scope=[], enforcement_mode="step_up"
    )["hold_token"]
    with server.client() as client:
        client.get(f"/v1/enforce/hold/{token}")
    server.approve(token)
    server.stop()
    log = server.log()
    assert server.api_key not in log and server.admin_key not in log and token not in log
    access = [line for line in log.splitlines() if "thoth.server.access" in line]
    assert len(access) >= 4
    assert any("POST /v1/enforce 200" in line for line in access)
    assert any("GET /v1/enforce/hold/{hold_token} 200" in line for line in access)


# -- webhook ------------------------------------------------------------------------------------------------


class _Receiver(http.server.BaseHTTPRequestHandler):
    failures_left = 0
    bodies: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).bodies.append(body)
        status = 500 if type(self).failures_left > 0 else 200
        type(self).failures_left -= 1
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[tuple[str, type[_Receiver]]]:
    receiver = type("Receiver", (_Receiver,), {"failures_left": 2, "bodies": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), receiver)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/hooks/thoth", receiver
    httpd.shutdown()
    httpd.server_close()


def test_a_new_hold_is_posted_to_the_webhook_with_retries(
    make_thoth_server: MakeServer, webhook: tuple[str, type[_Receiver]]
) -> None:
    url, receiver = webhook
    server = make_thoth_server(webhook_url=url)
    token = server.enforce(
        tool_name="send_email", session_id=new_session(), approved_scope=[], enforcement_mode="step_up"
    )["hold_token"]
    deadline = time.monotonic() + 10
    while len(receiver.bodies) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(receiver.bodies) == 3  # two 500s, then delivered; no more after success
    time.sleep(0.3)
    assert len(receiver.bodies) == 3
    message = receiver.bodies[-1]
    assert "send_email" in message["text"] and f"thoth holds approve {token}" in message["text"]
    assert message["hold"]["hold_token"] == token
    assert server.api_key not in json.dumps(message)
