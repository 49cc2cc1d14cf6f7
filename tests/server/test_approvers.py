"""Named approvers and the hold's own page, on a real ``thoth serve`` (SQLite and PostgreSQL):
a key configured as ``NAME=KEY`` resolves as NAME in the API, the poll, the console and
``thoth holds list``; ``--public-url`` gives a STEP_UP an ``approval_url`` naming the hold by its
ref (never its token), and that page signs an approver in and lets them resolve it."""

from __future__ import annotations

import hashlib
import urllib.parse
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import ThothServer, free_port
from tests.server.test_cli import as_user, thoth
from tests.server.test_console_http import B_ADMIN, TENANT_B, console, hold_for, status_of, token_in

pytestmark = pytest.mark.e2e

ALICE = "alice@acme.com"
ALICE_KEY = "thoth_admin_alice_0123456789abcdef"
PUBLIC = "https://thoth.example.com/"


@pytest.fixture
def server(make_thoth_server: Callable[..., ThothServer]) -> ThothServer:
    named = ["--admin-key", f"{ALICE}=acme-corp:{ALICE_KEY}", "--public-url", PUBLIC]
    return make_thoth_server(extra_args=[*TENANT_B, *named])


def step_up(server: ThothServer, **body: Any) -> dict[str, Any]:
    answer = server.enforce(
        tool_name="issue_refund",
        session_id=f"approvers-{uuid.uuid4()}",
        enforcement_mode="step_up",
        tool_args={"amount": 2500},
        **body,
    )
    assert answer["decision"] == "STEP_UP"
    return answer


def resolve(server: ThothServer, key: str, token: str, **body: Any) -> dict[str, Any]:
    with server.client(key) as client:
        response = client.post(f"/v1/enforce/hold/{token}/resolve", json={"resolution": "ALLOW", **body})
    assert response.status_code == 200, response.text
    hold: dict[str, Any] = response.json()
    return hold


def test_a_named_key_resolves_as_its_name_whatever_approver_it_claims(server: ThothServer) -> None:
    token = step_up(server)["hold_token"]
    hold = resolve(server, ALICE_KEY, token, approver="mallory", reason="invoice checked")
    assert (hold["status"], hold["approver"]) == ("approved", ALICE)
    with server.client() as agent:  # the agent polling its own hold learns who approved it
        poll = agent.get(f"/v1/enforce/hold/{token}").json()
    assert (poll["resolution"], poll["approver"]) == ("ALLOW", ALICE)
    assert poll["reason"] == f"approved by {ALICE}: invoice checked"
    listed = thoth("holds", "list", "--status", "approved", env=as_user(server, server.admin_key))
    assert listed.returncode == 0, listed.stderr
    [line] = [line for line in listed.stdout.splitlines() if line.startswith(token)]
    assert f"  by {ALICE} at " in line
    assert line.endswith(": invoice checked")
    assert ALICE_KEY not in server.log()


def test_an_unnamed_key_still_records_the_approver_it_names_or_its_fingerprint(server: ThothServer) -> None:
    claimed = resolve(server, server.admin_key, step_up(server)["hold_token"], approver="carol")
    assert claimed["approver"] == "carol"
    unclaimed = resolve(server, server.admin_key, step_up(server)["hold_token"])
    assert unclaimed["approver"].startswith("key#")
    with server.client() as agent:
        poll = agent.get(f"/v1/enforce/hold/{claimed['hold_token']}").json()
    assert poll["approver"] == "carol"


def test_a_step_up_answer_links_the_holds_page_by_its_ref_never_its_token(server: ThothServer) -> None:
    answer = step_up(server)
    token, ref = answer["hold_token"], answer["hold_ref"]
    assert ref == hashlib.sha256(token.encode()).hexdigest()[:20]
    assert answer["approval_url"] == f"https://thoth.example.com/ui/holds/{ref}"
    [listed] = [h for h in server.holds("pending") if h["hold_token"] == token]
    assert listed["hold_ref"] == ref


def test_the_approval_url_signs_the_approver_in_and_resolves_the_hold_there(server: ThothServer) -> None:
    ref = step_up(server)["hold_ref"]
    page = f"/ui/holds/{ref}"
    with console(server) as c:
        first = c.http.get(page)
        assert (first.status_code, first.headers["location"]) == (
            303,
            "/ui/login?" + urllib.parse.urlencode({"next": page}),
        )
        form = c.http.get(first.headers["location"])
        assert f'name="next" value="{page}"' in form.text
        signed = c.http.post("/ui/login", data={"csrf": token_in(form.text), "key": ALICE_KEY, "next": page})
        assert (signed.status_code, signed.headers["location"]) == (303, page)
        pending = c.http.get(page)
        assert pending.status_code == 200
        assert f'name="back" value="{ref}"' in pending.text
        assert "issue_refund" in pending.text
        token = hold_token_in(pending.text)
        done = c.http.post(
            "/ui/approvals/resolve",
            data={
                "csrf": token_in(pending.text),
                "hold": token,
                "decision": "deny",
                "back": ref,
                "reason": "no",
            },
        )
        assert (done.status_code, done.headers["location"]) == (303, page)
        resolved = c.http.get(page).text
        assert f"Denied by {ALICE} at " in resolved
        assert "Approve</button>" not in resolved
    assert status_of(server, token)["approver"] == ALICE


def hold_token_in(html: str) -> str:
    marker = 'name="hold" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def test_a_holds_page_is_only_for_its_tenant_and_a_sign_in_only_returns_to_the_console(
    server: ThothServer,
) -> None:
    ref = step_up(server)["hold_ref"]
    with console(server, B_ADMIN) as b:
        assert b.http.get(f"/ui/holds/{ref}").status_code == 404
        assert b.http.get("/ui/holds/not-a-ref").status_code == 404
        assert b.http.get(f"/ui/holds/{'0' * 20}").status_code == 404
    for wanted in ("//evil.example/ui/", "https://evil.example/", "/ui/../x", "/elsewhere", "/ui/login"):
        with console(server) as c:
            form = c.http.get("/ui/login", params={"next": wanted})
            assert 'name="next"' not in form.text, wanted
            signed = c.http.post(
                "/ui/login", data={"csrf": token_in(form.text), "key": ALICE_KEY, "next": wanted}
            )
            assert signed.headers["location"] == "/ui/approvals", wanted


def test_a_console_resolution_is_recorded_under_the_keys_name(server: ThothServer) -> None:
    token = hold_for(server)
    with console(server, ALICE_KEY) as c:
        assert f"Signed in as <strong>{ALICE}</strong>" in c.http.get("/ui/approvals").text
        assert c.resolve(token, "approve").status_code == 303
        assert ALICE in c.http.get("/ui/approvals/live").text
    assert status_of(server, token)["approver"] == ALICE


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--public-url", "ftp://thoth.example.com"], "--public-url must be the http:// or https:// address"),
        (["--public-url", "https://thoth.example.com/?x=1"], "no query or fragment"),
        (["--admin-key", "insecure-dev=s3cr3t-admin-key"], "a key cannot be named insecure-dev"),
        (
            ["--admin-key", "alice=s3cr3t-admin-key", "--api-key", "bob=s3cr3t-admin-key"],
            "given twice with different names ('bob', 'alice'): give it one name",
        ),
    ],
)
def test_a_bad_public_url_or_key_name_fails_at_start_in_one_line(
    args: list[str], message: str, tmp_path: Any
) -> None:
    run = thoth(
        "serve",
        "--port",
        str(free_port()),
        "--db",
        f"sqlite:///{tmp_path / 'x.db'}",
        "--api-key",
        "k" * 20,
        *args,
        timeout=30,
    )
    assert run.returncode == 2
    [line] = run.stderr.strip().splitlines()
    assert message in line
    assert "s3cr3t" not in run.stderr
    assert not (tmp_path / "x.db").exists()
