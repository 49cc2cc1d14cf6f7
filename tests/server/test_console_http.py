"""The console over HTTP, on a real ``thoth serve`` (SQLite and PostgreSQL): sign-in, CSRF,
tenants, approvers, sign-out across replicas, headers, and inputs that must not make it fail.
The browser tests are tests/e2e/test_console.py."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ThothServer

pytestmark = pytest.mark.e2e

B_ADMIN = "thoth_admin_tenant_b_0123456789"
B_AGENT = "thoth_test_tenant_b_0123456789"
TENANT_B = ["--admin-key", f"tenant-b:{B_ADMIN}", "--api-key", f"tenant-b:{B_AGENT}"]
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Console:
    """A browser without a browser: cookies, the form tokens it was given, no redirects followed."""

    def __init__(self, server: ThothServer) -> None:
        self.server = server
        self.http = httpx.Client(base_url=server.url, timeout=10.0, follow_redirects=False)

    def sign_in(self, key: str) -> httpx.Response:
        form = self.http.get("/ui/login")
        assert form.status_code == 200
        return self.http.post("/ui/login", data={"csrf": token_in(form.text), "key": key})

    def csrf(self) -> str:
        page = self.http.get("/ui/approvals")
        assert page.status_code == 200, page.text
        return token_in(page.text)

    def resolve(self, hold: str, decision: str = "approve", **fields: str) -> httpx.Response:
        data = {"csrf": self.csrf(), "hold": hold, "decision": decision} | fields
        return self.http.post("/ui/approvals/resolve", data={k: v for k, v in data.items() if v is not None})


def token_in(html: str) -> str:
    found = _CSRF.search(html)
    assert found, html
    return found.group(1)


@contextmanager
def console(server: ThothServer, key: str | None = None) -> Iterator[Console]:
    client = Console(server)
    try:
        if key is not None:
            signed = client.sign_in(key)
            assert (signed.status_code, signed.headers["location"]) == (303, "/ui/approvals"), signed.text
        yield client
    finally:
        client.http.close()


def hold_for(server: ThothServer, key: str | None = None, tenant: str | None = None, **args: Any) -> str:
    """A new pending hold: a call outside the approved scope, in step_up mode."""
    answer = server.enforce(
        key,
        tenant_id=tenant or server.tenant_id,
        tool_name="issue_refund",
        session_id=f"console-{uuid.uuid4()}",
        enforcement_mode="step_up",
        tool_args=args or {"amount": 2500},
    )
    assert answer["decision"] == "STEP_UP"
    token: str = answer["hold_token"]
    return token


def status_of(server: ThothServer, token: str, key: str | None = None) -> dict[str, Any]:
    with server.client(key or server.admin_key) as client:
        items: list[dict[str, Any]] = client.get("/v1/holds").json()["items"]
    [hold] = [h for h in items if h["hold_token"] == token]
    return hold


@pytest.fixture
def server(make_thoth_server: Callable[..., ThothServer]) -> ThothServer:
    return make_thoth_server(extra_args=TENANT_B)


def test_every_console_response_carries_the_security_headers_and_the_api_none(server: ThothServer) -> None:
    with console(server) as c:
        for path in ("/ui", "/ui/", "/ui/login", "/ui/approvals", "/ui/approvals/live", "/ui/nope"):
            response = c.http.get(path)
            assert response.headers["content-security-policy"].startswith("default-src 'self'"), path
            assert response.headers["x-frame-options"] == "DENY", path
            assert response.headers["referrer-policy"] == "no-referrer", path
            assert response.headers["cache-control"] == "no-store", path
        static = c.http.get("/ui/static/console.js")
        assert static.status_code == 200
        assert "frame-ancestors 'none'" in static.headers["content-security-policy"]
        assert c.http.get("/ui/nope").status_code == 404
        assert "content-security-policy" not in c.http.get("/healthz").headers


def test_sign_in_takes_only_an_admin_key_and_a_form_this_console_made(server: ThothServer) -> None:
    with console(server) as c:
        form = c.http.get("/ui/login")
        token = token_in(form.text)
        assert "httponly" in form.headers["set-cookie"].lower()
        no_token = c.http.post("/ui/login", data={"key": server.admin_key})
        assert no_token.status_code == 403
        forged = c.http.post("/ui/login", data={"key": server.admin_key, "csrf": token[:-2] + "xx"})
        assert forged.status_code == 403
        agent = c.http.post("/ui/login", data={"key": server.api_key, "csrf": token})
        assert agent.status_code == 403
        assert "agent key" in agent.text
        unknown = c.http.post("/ui/login", data={"key": "thoth_admin_nobody", "csrf": token})
        assert unknown.status_code == 401
        assert "no such key" in unknown.text
        signed = c.http.post("/ui/login", data={"key": f"  {server.admin_key} ", "csrf": token})
        assert signed.status_code == 303
        cookies = signed.headers.get_list("set-cookie")
        cookie = next(v for v in cookies if "thoth_console=" in v)
        assert server.admin_key not in cookie
        flags = {part.strip().lower() for part in cookie.split(";")[1:]}
        assert {"httponly", "samesite=strict", "path=/ui", "max-age=28800"} <= flags
        assert "secure" not in flags  # plain http here; https requests get Secure
        assert c.http.get("/ui/approvals").status_code == 200
        assert c.http.get("/ui/login").headers["location"] == "/ui/approvals"
    assert server.admin_key not in server.log()


def test_a_post_without_the_sessions_csrf_token_changes_nothing(server: ThothServer) -> None:
    token = hold_for(server)
    with console(server, server.admin_key) as c, console(server, server.admin_key) as other:
        fields = {"hold": token, "decision": "approve"}
        refusals = [
            c.http.post("/ui/approvals/resolve", data=fields),
            c.http.post("/ui/approvals/resolve", data=fields | {"csrf": "x" * 43}),
            c.http.post("/ui/approvals/resolve", data=fields | {"csrf": other.csrf()}),  # another session's
            c.http.post("/ui/approvals/resolve", json=fields | {"csrf": c.csrf()}),  # not a form
            c.http.post("/ui/logout", data={}),
        ]
        assert [r.status_code for r in refusals] == [403] * 5
        assert "nothing was changed" in refusals[0].text
        assert status_of(server, token)["status"] == "pending"
        assert c.http.get("/ui/approvals").status_code == 200  # the refused sign-out did not sign out


def test_a_console_resolution_names_the_signed_in_key_and_a_second_says_by_whom(server: ThothServer) -> None:
    token = hold_for(server)
    with console(server, server.admin_key) as c:
        name = re.search(r"Signed in as <strong>([^<]+)</strong>", c.http.get("/ui/approvals").text)
        assert name
        approved = c.resolve(token, "approve", reason="checked the invoice")
        assert (approved.status_code, approved.headers["location"]) == (303, "/ui/approvals")
        hold = status_of(server, token)
        assert (hold["status"], hold["approver"]) == ("approved", name.group(1))
        assert hold["resolution_reason"] == "checked the invoice"
        again = c.resolve(token, "deny")
        assert again.status_code == 409
        assert f"already approved by {name.group(1)} at " in again.text
        resolved = c.http.get("/ui/approvals/live").text
        assert name.group(1) in resolved
        assert "checked the invoice" in resolved


def test_bad_resolutions_get_a_page_not_a_failure(server: ThothServer) -> None:
    token = hold_for(server)
    with console(server, server.admin_key) as c:
        assert c.resolve("hold_nosuchholdanywhere", "approve").status_code == 404
        assert c.resolve("../../etc/passwd", "approve").status_code == 404
        assert c.resolve(token, "maybe").status_code == 400
        assert c.resolve(token, "approve", reason="x" * 5000).status_code == 400
        assert c.resolve(token, "deny", reason="nul \x00 byte").status_code == 400
        assert status_of(server, token)["status"] == "pending"


def test_a_tenants_admin_sees_and_resolves_only_its_tenants_holds(server: ThothServer) -> None:
    mine = hold_for(server)
    theirs = hold_for(server, B_AGENT, "tenant-b")
    with console(server, server.admin_key) as a, console(server, B_ADMIN) as b:
        page_a, page_b = a.http.get("/ui/approvals").text, b.http.get("/ui/approvals").text
        assert mine in page_a and theirs not in page_a
        assert theirs in page_b and mine not in page_b
        refused = a.resolve(theirs, "approve")
        assert refused.status_code == 404
        assert status_of(server, theirs, B_ADMIN)["status"] == "pending"
        assert b.resolve(theirs, "deny").status_code == 303
        assert status_of(server, theirs, B_ADMIN)["status"] == "denied"


def test_an_admin_key_in_the_authorization_header_reads_pages_without_a_cookie(server: ThothServer) -> None:
    token = hold_for(server)
    headers = {"Authorization": f"Bearer {server.admin_key}"}
    with httpx.Client(base_url=server.url, timeout=10.0, headers=headers) as client:
        page = client.get("/ui/approvals")
        assert page.status_code == 200
        assert token in page.text
        assert "Read-only" in page.text and 'name="csrf"' not in page.text
        assert client.get("/ui/approvals/live").status_code == 200
        posted = client.post("/ui/approvals/resolve", data={"hold": token, "decision": "approve"})
        assert posted.status_code == 303  # to the sign-in form: forms need a session and its token
    assert status_of(server, token)["status"] == "pending"
    for key, status in ((server.api_key, 403), ("thoth_admin_nobody", 401)):
        response = httpx.get(f"{server.url}/ui/approvals", headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == status


def test_a_sign_in_works_on_every_replica_and_signing_out_ends_it_on_all(
    server: ThothServer, tmp_path: Path
) -> None:
    """The cookie key lives in the store, and so does the session: no replica trusts a cookie
    another signed out."""
    replica = server.replica(tmp_path / "replica").start()
    try:
        with console(server, server.admin_key) as c:
            cookies = dict(c.http.cookies)
            with httpx.Client(base_url=replica.url, cookies=cookies, follow_redirects=False) as there:
                assert there.get("/ui/approvals").status_code == 200
                csrf = token_in(there.get("/ui/approvals").text)
                signed_out = there.post("/ui/logout", data={"csrf": csrf})
                assert (signed_out.status_code, signed_out.headers["location"]) == (303, "/ui/login")
            old = c.http.get("/ui/approvals")
            assert (old.status_code, old.headers["location"]) == (303, "/ui/login")
            assert c.http.get("/ui/approvals/live").status_code == 401
    finally:
        replica.stop()


def test_a_restart_keeps_sign_ins_but_a_key_taken_out_of_the_config_ends_them(server: ThothServer) -> None:
    with console(server, server.admin_key) as c:
        server.restart(same_port=True)
        assert c.http.get("/ui/approvals").status_code == 200
        server.admin_key = "thoth_admin_" + uuid.uuid4().hex  # the old key is no longer configured
        server.restart(same_port=True)
        assert c.http.get("/ui/approvals").status_code == 303


def test_no_input_makes_the_console_fail(server: ThothServer) -> None:
    hold_for(server)
    bad_cookies = ["", "x", "é" * 50, "gAAAAA" + "A" * 200, "=" * 3000, "\x7f\x01", '"quoted"']
    with console(server, server.admin_key) as c:
        csrf = c.csrf()
        for value in bad_cookies:
            for name in ("thoth_console", "thoth_console_login"):
                with httpx.Client(base_url=server.url, follow_redirects=False) as raw:
                    header = {"Cookie": f"{name}={value}".encode()}  # raw bytes, as a client may send
                    pages = (("GET", "/ui/approvals"), ("GET", "/ui/login"), ("POST", "/ui/login"))
                    for method, path in pages:
                        response = raw.request(method, path, headers=header, data={"key": "k", "csrf": "c"})
                        assert response.status_code < 500, (name, value, method, path)
        odd_forms: list[Any] = [
            {"csrf": csrf, "hold": "é" * 300, "decision": "approve"},
            {"csrf": csrf, "hold": "", "decision": ""},
            {"csrf": [csrf, "second"], "hold": "h" * 10_000, "decision": "deny"},
            {f"field{i}": "v" for i in range(100)},
        ]
        for form in odd_forms:
            assert c.http.post("/ui/approvals/resolve", data=form).status_code < 500
        raw_bodies = [b"%zz=%%%&csrf=\xff\xfe", b"a" * 100_000, b"csrf=" + csrf.encode() + b"&hold=%00"]
        for body in raw_bodies:
            headers = {"content-type": "application/x-www-form-urlencoded"}
            for path in ("/ui/approvals/resolve", "/ui/login", "/ui/logout"):
                assert c.http.post(path, content=body, headers=headers).status_code < 500, (path, body[:20])
        for path in ("/ui/%00", "/ui/approvals/live?x=%ff", "/ui/static/../console.py", "/ui/" + "a" * 5000):
            assert c.http.get(path).status_code < 500, path
    assert "Traceback" not in server.log()
