"""decision_mode="local" against a real `thoth serve`: bundles, outages, staleness, signing, updates."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

import thoth
from tests.conftest import ThothServer
from tests.server.test_cli import as_user
from tests.server.test_cli import thoth as thoth_cli
from thoth import _signing, testing
from thoth._local import BundleSource
from thoth._runtime import runtime
from thoth._transport import Transport
from thoth.policy.bundle import ENGINE_VERSION, build_bundle
from thoth.receipts import ReceiptSigner

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
POLICY = (ROOT / "examples" / "policy.yaml").read_text(encoding="utf-8")
SCOPE = ["read_invoice", "delete_customer", "export_report", "issue_refund"]


def read_invoice(invoice_id: str) -> str:
    return f"invoice {invoice_id}"


def delete_customer(customer_id: str) -> str:
    return f"deleted {customer_id}"


def export_report(note: str, include_pii: bool = False) -> str:
    return f"{note}|pii={include_pii}"


def issue_refund(amount: int) -> str:
    return f"refunded {amount}"


@pytest.fixture(autouse=True)
def clean_runtime() -> Iterator[None]:
    testing.reset()
    yield
    testing.reset()


@pytest.fixture
def server(make_thoth_server: Callable[..., ThothServer]) -> ThothServer:
    return make_thoth_server(POLICY)


def local_agent(server: ThothServer, cache: Path, **options: Any) -> dict[str, Callable[..., Any]]:
    options = {"bundle_cache_dir": str(cache), "enforcement": "block"} | options
    governed = thoth.instrument(
        [read_invoice, delete_customer, export_report, issue_refund],
        agent_id="local-agent",
        approved_scope=SCOPE,
        tenant_id=server.tenant_id,
        api_url=server.url,
        api_key=server.api_key,
        session_id=f"local-{uuid.uuid4()}",
        decision_mode="local",
        **options,
    )
    return {fn.__name__: fn for fn in governed}


def refusal(call: Callable[[], Any]) -> thoth.ThothPolicyViolation:
    with pytest.raises(thoth.ThothPolicyViolation) as caught:
        call()
    return caught.value


def wait_until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


# ---- the endpoint -------------------------------------------------------------------------------
def test_the_bundle_is_the_active_policy_with_an_etag(server: ThothServer) -> None:
    with server.client() as client:
        first = client.get("/v1/policy/bundle")
        again = client.get("/v1/policy/bundle", headers={"If-None-Match": first.headers["etag"]})
        other = client.get("/v1/policy/bundle", headers={"If-None-Match": '"something-else"'})
    assert first.status_code == 200 and again.status_code == 304 and other.status_code == 200
    assert again.content == b"" and again.headers["etag"] == first.headers["etag"]
    body = first.json()
    assert body["engine_version"] == ENGINE_VERSION
    assert body["policy"]["rules"][0]["id"] == "no-deletes"
    assert body["policy_version"] == server.enforce(tool_name="x", session_id="s")["policy_version"]
    assert httpx.get(f"{server.url}/v1/policy/bundle").status_code == 401


# ---- deciding in process ------------------------------------------------------------------------
def test_local_decisions_go_on_while_the_enforcer_is_down_and_every_event_arrives(
    server: ThothServer, tmp_path: Path
) -> None:
    tools = local_agent(server, tmp_path / "cache")
    server.stop()  # from here on, nothing can answer an enforce request
    assert tools["read_invoice"]("i-1") == "invoice i-1"
    assert tools["export_report"]("n" * 60, include_pii=True) == "n" * 40 + "|pii=False"  # MODIFY
    blocked = refusal(lambda: tools["delete_customer"]("c-1"))
    assert blocked.reason_code == "POLICY_RULE" and blocked.matched_rule_ids[0] == "no-deletes"
    assert blocked.violation_id is not None and blocked.violation_id.startswith("vio_local_")
    server.start(server.port)
    assert thoth.flush(10.0)
    events = server.events()
    assert len(events) == 2 + 2 + 2  # PRE and POST of two calls, PRE and BLOCK of the third
    local = [e["metadata"]["local_decision"] for e in events if "local_decision" in e["metadata"]]
    assert [d["decision"] for d in local] == ["ALLOW", "MODIFY", "BLOCK"]
    version = server.enforce(tool_name="x", session_id="s")["policy_version"]
    assert {d["policy_version"] for d in local} == {version}
    assert local[2]["matched_rule_ids"][0] == "no-deletes"
    session = events[0]["session_id"]
    tail = thoth_cli("events", "tail", "--session", session, env=as_user(server, server.api_key))
    assert tail.returncode == 0, tail.stderr
    assert f"local BLOCK (no-deletes) policy {version}" in tail.stdout
    assert tail.stdout.count("  local ") == 3  # the POST of each run call, the BLOCK of the refused one


def test_step_up_is_held_by_the_enforcer_and_the_local_session_learns_the_outcome(
    server: ThothServer, tmp_path: Path
) -> None:
    tools = local_agent(server, tmp_path / "cache", enforcement="step_up")
    outcome: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: outcome.update(result=tools["issue_refund"](5000)))
    worker.start()
    hold = server.wait_for_hold()
    assert hold["tool_name"] == "issue_refund"
    server.approve(hold["hold_token"])
    worker.join(30)
    assert outcome["result"] == "refunded 5000"
    [source] = runtime()._bundle_sources.values()
    assert any(record.tool_calls("issue_refund") == 1 for record in source._sessions.values())


def test_a_stale_bundle_fails_closed_and_a_fresh_one_decides_again(
    server: ThothServer, tmp_path: Path
) -> None:
    tools = local_agent(server, tmp_path / "cache", bundle_max_age_seconds=1.0, bundle_refresh_seconds=0.2)
    assert tools["read_invoice"]("i-1") == "invoice i-1"
    server.stop()
    time.sleep(1.3)
    stale = refusal(lambda: tools["read_invoice"]("i-2"))
    assert stale.reason_code == "bundle_stale" and "bundle_max_age_seconds" in stale.reason
    server.start(server.port)
    wait_until(lambda: _runs(tools["read_invoice"]))


def test_an_async_agent_without_a_bundle_gets_one_without_waiting_for_the_refresh_period(
    server: ThothServer, tmp_path: Path
) -> None:
    async def lookup_async(invoice_id: str) -> str:
        return f"invoice {invoice_id}"

    server.stop()
    [tool] = thoth.instrument(
        [lookup_async],
        agent_id="local-async",
        approved_scope=["lookup_async"],
        tenant_id=server.tenant_id,
        api_url=server.url,
        api_key=server.api_key,
        decision_mode="local",
        bundle_cache_dir=str(tmp_path / "cache"),
        bundle_refresh_seconds=600.0,  # only the call's request for a bundle can bring one in time
    )

    async def scenario() -> float:
        with pytest.raises(thoth.ThothPolicyViolation) as missing:
            await tool("i-1")
        assert missing.value.reason_code == "bundle_missing"
        server.start(server.port)
        started = time.monotonic()
        while True:
            try:
                assert await tool("i-2") == "invoice i-2"
                return time.monotonic() - started
            except thoth.ThothPolicyViolation:
                assert time.monotonic() - started < 10, "no bundle arrived"
                await asyncio.sleep(0.1)

    assert asyncio.run(scenario()) < 10


def _runs(tool: Callable[..., Any]) -> bool:
    try:
        tool("i-3")
    except thoth.ThothPolicyViolation:
        return False
    return True


def test_a_restarted_process_decides_from_the_cached_bundle_while_the_enforcer_is_down(
    server: ThothServer, tmp_path: Path
) -> None:
    local_agent(server, tmp_path / "cache")
    testing.reset()  # a new process, as far as the SDK can tell
    server.stop()
    tools = local_agent(server, tmp_path / "cache")
    assert tools["read_invoice"]("i-1") == "invoice i-1"
    assert refusal(lambda: tools["delete_customer"]("c-1")).matched_rule_ids[0] == "no-deletes"


def test_a_corrupt_cache_is_ignored_and_without_a_bundle_every_call_fails_closed(
    server: ThothServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    local_agent(server, tmp_path / "cache")
    [cached] = (tmp_path / "cache").iterdir()
    cached.write_text(cached.read_text()[:-20], encoding="utf-8")
    testing.reset()
    server.stop()
    with caplog.at_level(logging.WARNING, logger="thoth.local"):
        tools = local_agent(server, tmp_path / "cache")
        missing = refusal(lambda: tools["read_invoice"]("i-1"))
    assert missing.reason_code == "bundle_missing"
    assert any("ignored the cached policy bundle" in r.getMessage() for r in caplog.records)
    assert server.api_key not in caplog.text


def test_a_bundle_signed_by_the_configured_key_decides_and_any_other_is_refused(
    make_thoth_server: Callable[..., ThothServer], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = _signing.generate_private_key()
    key_file = tmp_path / "bundle.pem"
    key_file.write_bytes(_signing.private_key_pem(key))
    server = make_thoth_server(POLICY, extra_args=["--bundle-signing-key", str(key_file)])
    public_file = tmp_path / "bundle.pub.pem"
    public_file.write_text(_signing.public_key_pem(key), encoding="utf-8")
    tools = local_agent(server, tmp_path / "cache-a", bundle_public_key=str(public_file))
    assert tools["read_invoice"]("i-1") == "invoice i-1"
    testing.reset()
    other = _signing.public_key_pem(_signing.generate_private_key())
    with caplog.at_level(logging.WARNING, logger="thoth.local"):
        tools = local_agent(server, tmp_path / "cache-b", bundle_public_key=other)
        refused = refusal(lambda: tools["read_invoice"]("i-1"))
    assert (
        refused.reason_code == "bundle_missing"
        and "not by the configured bundle_public_key" in refused.reason
    )
    assert sum(r.getMessage().startswith("thoth: refused the policy bundle") for r in caplog.records) == 1


def test_an_unsigned_bundle_is_refused_when_a_key_is_configured(server: ThothServer, tmp_path: Path) -> None:
    key = _signing.public_key_pem(_signing.generate_private_key())
    tools = local_agent(server, tmp_path / "cache", bundle_public_key=key)
    assert "unsigned" in refusal(lambda: tools["read_invoice"]("i-1")).reason


def test_a_bad_public_key_fails_at_start(server: ThothServer, tmp_path: Path) -> None:
    with pytest.raises(thoth.ThothConfigError, match="bundle_public_key"):
        local_agent(server, tmp_path / "cache", bundle_public_key=str(tmp_path / "missing.pem"))


def test_a_policy_reloaded_with_sighup_reaches_local_decisions(server: ThothServer, tmp_path: Path) -> None:
    tools = local_agent(server, tmp_path / "cache", bundle_refresh_seconds=0.2)
    assert tools["read_invoice"]("i-1") == "invoice i-1"
    assert server.policy_path is not None
    server.policy_path.write_text(
        POLICY + "\n  - {id: no-invoices, tools: [read_invoice], decision: BLOCK, reason: closed}\n",
        encoding="utf-8",
    )
    server.reload()
    wait_until(lambda: not _runs(tools["read_invoice"]))
    assert refusal(lambda: tools["read_invoice"]("i-2")).matched_rule_ids == ("no-invoices",)
    version = server.enforce(tool_name="x", session_id="s")["policy_version"]
    server.policy_path.write_text("version: 1\nrules: [{id: broken, when: 'args.(', decision: BLOCK}]\n")
    server.reload()
    wait_until(lambda: "not reloaded" in server.log())
    assert "invalid CEL" in server.log()
    assert server.enforce(tool_name="x", session_id="s")["policy_version"] == version  # the old one stays


# ---- a bundle the SDK must not trust, from a server that sends anything -------------------------
class _BundleServer:
    """A local HTTP server answering GET /v1/policy/bundle with whatever ``body`` is now."""

    def __init__(self) -> None:
        self.body = b""
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                self.wfile.write(outer.body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()


@pytest.fixture
def bundle_server() -> Iterator[_BundleServer]:
    fake = _BundleServer()
    yield fake
    fake.httpd.shutdown()


SIGNER = ReceiptSigner(_signing.generate_private_key())


def _bad(document: dict[str, Any], signer: ReceiptSigner | None = SIGNER, **fields: Any) -> str:
    return json.dumps(build_bundle(document, "v2", "t", signer) | fields)


GOOD = {"version": 1, "rules": [{"id": "no-deletes", "tools": ["delete_*"], "decision": "BLOCK"}]}


@pytest.mark.parametrize(
    ("bad", "logged"),
    [
        (
            json.dumps(build_bundle(GOOD, "v2", "t", SIGNER) | {"engine_version": 99}),
            "made for policy engine 99",
        ),
        (
            json.dumps(
                build_bundle({"rules": [{"id": "x", "when": "(", "decision": "BLOCK"}]}, "v2", "t", SIGNER)
            ),
            "CEL",
        ),
        (
            json.dumps(build_bundle(GOOD, "v2", "t", ReceiptSigner(_signing.generate_private_key()))),
            "signed by key",
        ),
        (json.dumps(build_bundle(GOOD, "v2", "t")), "unsigned"),
        ("{not json", "not JSON"),
    ],
    ids=["newer-engine", "cel", "wrong-key", "unsigned", "not-json"],
)
def test_an_untrusted_update_is_refused_and_the_last_good_bundle_stays(
    bundle_server: _BundleServer, tmp_path: Path, caplog: pytest.LogCaptureFixture, bad: str, logged: str
) -> None:
    source = BundleSource(
        Transport(bundle_server.url, None, connect_timeout=1.0, request_timeout=2.0),
        public_key=_signing.load_public_key(SIGNER.public_key_pem),
        refresh_seconds=60.0,
        max_age_seconds=3600.0,
        cache_file=tmp_path / "bundle.json",
        timeout_seconds=2.0,
    )
    bundle_server.body = json.dumps(build_bundle(GOOD, "v1", "t", SIGNER)).encode()
    assert source.refresh() and source.bundle is not None and source.bundle.policy_version == "v1"
    bundle_server.body = bad.encode()
    with caplog.at_level(logging.WARNING, logger="thoth.local"):
        assert not source.refresh()
    assert source.bundle.policy_version == "v1"
    assert logged in caplog.text and "the last good bundle stays in force" in caplog.text
    cached = json.loads((tmp_path / "bundle.json").read_text())
    assert cached["bundle"]["policy_version"] == "v1"  # the refused bundle never reached the disk


def test_close_stops_the_bundle_thread_and_the_next_decision_starts_it(
    server: ThothServer, tmp_path: Path
) -> None:
    def bundle_threads() -> int:
        return sum(t.name == "thoth-bundles" and t.is_alive() for t in threading.enumerate())

    tools = local_agent(server, tmp_path / "cache")
    assert bundle_threads() == 1
    assert thoth.close(5.0)
    assert bundle_threads() == 0
    assert tools["read_invoice"]("i-1") == "invoice i-1"  # the last good bundle still decides
    assert bundle_threads() == 1
