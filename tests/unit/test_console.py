"""The console's pure parts: the sign-in cookie and CSRF tokens, the view models, the templates'
escaping, the security headers, and that the wheel ships every template and asset."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from thoth.server import holds
from thoth.server.auth import Principal
from thoth.server.ui import session, views
from thoth.server.ui.console import STATIC, TEMPLATES, templates
from thoth.server.ui.headers import SECURITY_HEADERS, is_console
from thoth.server.ui.session import ConsoleKeys

ROOT = Path(__file__).resolve().parents[2]
NOW = 1_800_000_000.0
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def keys() -> ConsoleKeys:
    return ConsoleKeys.derive(session.new_master())


# -- the cookie ---------------------------------------------------------------------------------------


def test_the_stored_secret_is_256_random_bits_and_gives_the_same_keys_on_every_replica() -> None:
    master = session.new_master()
    assert len(base64.urlsafe_b64decode(master)) == 32
    assert master != session.new_master()
    one, two = ConsoleKeys.derive(master), ConsoleKeys.derive(master)
    assert one.csrf == two.csrf
    sid = session.new_nonce()
    assert session.unseal(two, session.seal(one, sid, NOW), NOW) == sid
    assert repr(one) == "ConsoleKeys()"  # neither key in a log line or a traceback


def test_a_cookie_holds_an_encrypted_session_id_and_nothing_else(keys: ConsoleKeys) -> None:
    sid = session.new_nonce()
    cookie = session.seal(keys, sid, NOW)
    assert sid not in cookie
    assert session.unseal(keys, cookie, NOW + 60) == sid


def test_a_cookie_expires_after_the_session_time(keys: ConsoleKeys) -> None:
    sid = session.new_nonce()
    cookie = session.seal(keys, sid, NOW)
    assert session.unseal(keys, cookie, NOW + session.SESSION_SECONDS - 1) == sid
    assert session.unseal(keys, cookie, NOW + session.SESSION_SECONDS + 1) is None


def test_a_tampered_forged_or_foreign_cookie_opens_nothing(keys: ConsoleKeys) -> None:
    cookie = session.seal(keys, session.new_nonce(), NOW)
    flipped = cookie[:20] + ("A" if cookie[20] != "A" else "B") + cookie[21:]
    other = ConsoleKeys.derive(session.new_master())
    for value in (flipped, cookie + "x", "", None, "gAAAA", "é" * 40, "x" * 5000, session.new_nonce()):
        assert session.unseal(keys, value, NOW) is None
    assert session.unseal(other, cookie, NOW) is None


def test_a_sealed_value_that_is_not_a_session_id_is_refused(keys: ConsoleKeys) -> None:
    cookie = keys.cookie.encrypt_at_time(b"../../etc", int(NOW)).decode()
    assert session.unseal(keys, cookie, NOW) is None


def test_the_store_names_a_session_by_a_digest_of_its_id() -> None:
    sid = session.new_nonce()
    digest = session.session_digest(sid)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert sid not in digest


# -- CSRF -------------------------------------------------------------------------------------------


def test_a_csrf_token_belongs_to_one_session_and_one_purpose(keys: ConsoleKeys) -> None:
    sid, other = session.new_nonce(), session.new_nonce()
    token = session.csrf_token(keys, session.SESSION, sid)
    assert token == session.csrf_token(keys, session.SESSION, sid)  # every form of the session
    assert session.csrf_valid(keys, session.SESSION, sid, token)
    assert not session.csrf_valid(keys, session.SESSION, other, token)
    assert not session.csrf_valid(keys, session.LOGIN, sid, token)
    assert not session.csrf_valid(ConsoleKeys.derive(session.new_master()), session.SESSION, sid, token)


@pytest.mark.parametrize("token", [None, "", "x", "é" * 43, "\udcff", "A" * 10_000])
def test_a_missing_or_malformed_csrf_token_is_refused_without_raising(
    keys: ConsoleKeys, token: str | None
) -> None:
    assert not session.csrf_valid(keys, session.SESSION, session.new_nonce(), token)


def test_only_well_formed_nonces_are_taken_from_a_cookie() -> None:
    assert session.well_formed_nonce(session.new_nonce())
    for value in (None, "", "short", "é" * 30, "a b" * 10, "x" * 65):
        assert not session.well_formed_nonce(value)


# -- views ------------------------------------------------------------------------------------------


def hold_row(**fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "hold_token": "hold_" + "a" * 32,
        "tenant_id": "acme",
        "agent_id": "agent-1",
        "session_id": "s-1",
        "user_id": "u-1",
        "tool_name": "issue_refund",
        "args_sha256": "0" * 64,
        "redacted_args": '{"amount":2500,"password":"[REDACTED]"}',
        "reason": "issue_refund is outside the approved scope",
        "rule_id": "builtin.scope",
        "status": "pending",
        "created_at": NOW - 75,
        "expires_at": NOW + 825,
        "resolved_at": None,
        "approver": None,
        "resolution_reason": None,
    }
    row.update(fields)
    return row


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(-3, "0 s"), (0, "0 s"), (59.9, "59 s"), (60, "1 min 00 s"), (754, "12 min 34 s"), (7500, "2 h 05 min")],
)
def test_durations_read_as_people_say_them(seconds: float, text: str) -> None:
    assert views.duration_text(seconds) == text


def test_a_pending_hold_shows_what_the_approver_needs() -> None:
    view = views.hold_view(hold_row(), NOW)
    assert (view.status, view.waiting, view.expires_in) == ("pending", "1 min 15 s", "13 min 45 s")
    assert json.loads(view.args) == {"amount": 2500, "password": "[REDACTED]"}
    assert view.args_note == ""
    assert view.created == "2027-01-15 07:58:45 UTC"
    assert (view.rule_id, view.reason) == ("builtin.scope", "issue_refund is outside the approved scope")


@pytest.mark.parametrize(
    ("stored", "args", "note"),
    [
        (None, "", "not recorded"),
        ("", "", "no arguments"),
        ("{}", "", "no arguments"),
        ('{"a":1', '{"a":1', "cut to 4096"),
    ],
)
def test_arguments_that_are_missing_empty_or_cut_say_so(stored: str | None, args: str, note: str) -> None:
    shown, why = views.args_text(stored)
    assert shown == args
    assert note in why


def test_a_rows_signature_ignores_the_clock_but_not_its_state() -> None:
    row = hold_row()
    now, later = views.hold_view(row, NOW), views.hold_view(row, NOW + 30)
    assert now.waiting != later.waiting
    assert now.signature == later.signature
    resolved = hold_row(status="approved", resolved_at=NOW, approver="key#1")
    assert views.hold_view(resolved, NOW).signature != now.signature


def test_the_page_lists_resolved_holds_last_resolved_first_and_says_when_more_are_pending() -> None:
    pending = [hold_row(hold_token=f"hold_{i:032d}") for i in range(views.PENDING_LIMIT + 1)]
    resolved = [
        hold_row(hold_token="hold_" + "b" * 32, status="denied", resolved_at=NOW - 50, approver="key#b"),
        hold_row(hold_token="hold_" + "c" * 32, status="approved", resolved_at=NOW - 5, approver="key#c"),
    ]
    page = views.approvals_page(pending, resolved, NOW)
    assert len(page.pending) == views.PENDING_LIMIT
    assert page.more_pending
    assert [h.approver for h in page.resolved] == ["key#c", "key#b"]
    assert [h.waiting for h in page.resolved] == ["1 min 10 s", "25 s"]


def test_an_already_resolved_hold_says_by_whom_and_when() -> None:
    approved = hold_row(status="approved", resolved_at=NOW, approver="key#abcd1234")
    assert views.already_resolved(approved, NOW) == (
        "This hold was already approved by key#abcd1234 at 2027-01-15 08:00:00 UTC."
    )
    denied = hold_row(status="denied", resolved_at=NOW, approver=None)
    assert "already denied by an approver" in views.already_resolved(denied, NOW)
    overdue = hold_row(expires_at=NOW - 1)
    assert views.already_resolved(overdue, NOW).startswith("This hold expired unresolved")


def test_the_viewer_names_its_key_and_tenants() -> None:
    assert views.viewer(Principal(None, True, "key#1"), False).scope == "all tenants"
    assert views.viewer(Principal(frozenset({"b", "a"}), True, "key#2"), False).scope == "a, b"


# -- templates --------------------------------------------------------------------------------------


def render_holds(row: dict[str, Any], csrf: str = "token") -> str:
    page = views.approvals_page([row], [], NOW)
    return templates().get_template("_holds.html").render(page=page, csrf=csrf)


def test_everything_an_agent_sent_renders_as_text() -> None:
    row = hold_row(
        tool_name=XSS,
        agent_id='"><script>alert(2)</script>',
        session_id="<svg onload=alert(3)>",
        reason="<b>bold</b>",
        redacted_args=json.dumps({"html": "</pre><img src=x onerror=alert(4)>"}),
    )
    html = render_holds(row)
    for raw in (XSS, "<script>", "<svg", "<b>", "<img"):
        assert raw not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;svg onload=alert(3)&gt;" in html


def test_a_bearer_view_is_read_only() -> None:
    assert "Approve" in render_holds(hold_row())
    html = render_holds(hold_row(), csrf="")
    assert "Approve" not in html
    assert "Read-only" in html


def test_the_templates_never_turn_escaping_off_and_run_no_inline_script_or_style() -> None:
    """What lets every /ui/ response carry CSP default-src 'self'."""
    for path in TEMPLATES.glob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert "|safe" not in text.replace(" ", ""), path.name
        assert "autoescape" not in text, path.name
        assert "Markup" not in text, path.name
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), path.name
        assert not re.search(r"<style|\sstyle=|\son[a-z]+=", text), path.name
        linked = text.replace('xmlns="http://www.w3.org/2000/svg"', "")  # a namespace, not a fetch
        assert "http://" not in linked and "https://" not in linked, path.name  # no CDN
    assert templates().autoescape is True


def test_the_static_assets_fetch_nothing_from_elsewhere() -> None:
    for path in STATIC.iterdir():
        text = path.read_text(encoding="utf-8")
        assert "https://" not in text, path.name
        assert "@import" not in text, path.name


# -- headers ----------------------------------------------------------------------------------------


def test_the_console_headers_forbid_framing_referrers_and_foreign_or_inline_code() -> None:
    csp = SECURITY_HEADERS["Content-Security-Policy"]
    assert csp.startswith("default-src 'self';")
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert SECURITY_HEADERS["X-Frame-Options"] == "DENY"
    assert SECURITY_HEADERS["Referrer-Policy"] == "no-referrer"
    assert [p for p in ("/ui", "/ui/", "/ui/approvals", "/uix", "/v1/holds", "/") if is_console(p)] == [
        "/ui",
        "/ui/",
        "/ui/approvals",
    ]


# -- the wheel --------------------------------------------------------------------------------------


def test_the_wheel_ships_every_template_and_asset(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    [wheel] = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in (TEMPLATES, STATIC):
        for path in folder.iterdir():
            assert path.relative_to(ROOT).as_posix() in names
    assert "thoth/server/migrations/versions/0004_console.py" in names


def test_a_hold_keeps_its_arguments_redacted_and_bounded() -> None:
    stored = holds.redacted_args({"to": "bob@example.com", "api_key": "k", "note": "x" * 10_000})
    assert len(stored) <= holds.REDACTED_ARGS_MAX_CHARS
    assert '"api_key":"[REDACTED]"' in stored
    assert "bob@example.com" in stored
