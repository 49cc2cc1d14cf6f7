"""The console in a real browser: headless Chromium (Debian's ``chromium``) driven by Playwright,
against a real `thoth serve` on 127.0.0.1, with real agents waiting on STEP_UP in threads.

Sign in; a waiting agent appears in Approvals without a reload; Approve lets its tool run and Deny
gives it ``step_up_denied``; a tool named like markup renders as text and runs nothing; a POST
without the form's CSRF token changes nothing; one tenant's admin never sees another's holds;
sign-out ends the session. Screenshots go to ``test-artifacts/console/``. The HTTP-level
checks of the same console are tests/server/test_console_http.py.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra: make install")

from playwright.sync_api import Browser, Page, expect, sync_playwright

import thoth
from tests.conftest import ThothServer
from thoth import ThothPolicyViolation

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="no /usr/bin/chromium: apt-get install -y chromium (.ci/run installs it)",
    ),
]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "console"
# As runtime-facts.md says: root, no network, nothing in the background calling hosts it cannot reach.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
B_ADMIN = "thoth_admin_tenant_b_browser_0123"
B_AGENT = "thoth_test_tenant_b_browser_0123"
XSS_TOOL = "<img src=x onerror=alert(1)>"
XSS_ARG = "<script>window.__pwned = 1</script>"
LIVE_SECONDS = 3.0  # the page polls every second; a new hold must show well within this


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThothServer]:
    extra = ["--admin-key", f"tenant-b:{B_ADMIN}", "--api-key", f"tenant-b:{B_AGENT}"]
    started = ThothServer(tmp_path_factory.mktemp("console-browser"), extra_args=extra).start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Dialogs:
    """Every alert/confirm/prompt a page opened (markup from an agent must open none)."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, dialog: Any) -> None:
        self.seen.append(dialog.message)
        dialog.dismiss()


@pytest.fixture
def open_page(browser: Browser, server: ThothServer) -> Iterator[Any]:
    """``open_page()``: a new page in its own browser context (own cookies), with its dialogs."""
    contexts = []

    def open_one() -> tuple[Page, Dialogs]:
        context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        dialogs = Dialogs()
        page.on("dialog", dialogs)
        return page, dialogs

    yield open_one
    for context in contexts:
        context.close()


def sign_in(page: Page, key: str) -> None:
    page.goto("/ui/login")
    page.fill("#key", key)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/ui/approvals$"))
    expect(page.get_by_role("heading", name="Approvals")).to_be_visible()


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


class WaitingAgent:
    """An agent in a thread whose one governed call (out of scope, step_up mode) waits on a hold."""

    def __init__(
        self,
        server: ThothServer,
        tool_name: str = "issue_refund",
        *,
        tenant: str | None = None,
        key: str | None = None,
        **args: Any,
    ) -> None:
        self.session_id = f"browser-{uuid.uuid4()}"
        self.ran: list[dict[str, Any]] = []
        self.result: Any = None
        self.error: ThothPolicyViolation | None = None
        tracer = thoth.create_tracer(
            agent_id="billing-agent",
            approved_scope=[],
            tenant_id=tenant or server.tenant_id,
            user_id="browser-test",
            enforcement="step_up",
            api_url=server.url,
            api_key=key or server.api_key,
            session_id=self.session_id,
            step_up_poll_interval_seconds=0.05,
        )
        governed = tracer.wrap_tool(tool_name, self._body)
        self.args = args or {"invoice_id": "INV-9", "amount": 2500}
        self.thread = threading.Thread(target=self._call, args=(governed,), daemon=True)
        self.thread.start()

    def _body(self, **kwargs: Any) -> str:
        self.ran.append(kwargs)
        return "done"

    def _call(self, governed: Any) -> None:
        try:
            self.result = governed(**self.args)
        except ThothPolicyViolation as exc:
            self.error = exc

    def finished(self, timeout: float = 10.0) -> bool:
        self.thread.join(timeout)
        return not self.thread.is_alive()


def pending_card(page: Page, agent: WaitingAgent) -> Any:
    return page.locator("#pending-rows article.hold", has_text=agent.session_id)


def test_a_waiting_agent_appears_without_a_reload_and_approve_runs_its_tool(
    open_page: Any, server: ThothServer
) -> None:
    page, dialogs = open_page()
    sign_in(page, server.admin_key)
    page.evaluate("window.__sameDocument = true")  # gone if the page were reloaded

    agent = WaitingAgent(server)
    card = pending_card(page, agent)
    expect(card).to_be_visible(timeout=LIVE_SECONDS * 1000)  # arrived live
    assert page.evaluate("window.__sameDocument") is True
    expect(card.locator("h3.tool")).to_have_text("issue_refund")
    expect(card.locator("pre")).to_contain_text('"amount": 2500')
    screenshot(page, "approvals-pending")

    card.locator("input[name=reason]").fill("refund checked against the invoice")
    card.get_by_role("button", name="Approve").click()

    assert agent.finished(), "the agent was not released"
    assert (agent.result, agent.ran, agent.error) == ("done", [agent.args], None)
    resolved = page.locator("#resolved-rows tr", has_text="issue_refund").first
    expect(resolved.locator(".status")).to_have_text("approved")
    [hold] = server.holds("approved", agent.session_id)
    expect(resolved.locator(".approver")).to_have_text(hold["approver"])
    assert hold["approver"] and hold["resolution_reason"] == "refund checked against the invoice"
    expect(card).to_have_count(0)
    screenshot(page, "approvals-resolved")
    assert dialogs.seen == []


def test_deny_refuses_the_call_with_step_up_denied(open_page: Any, server: ThothServer) -> None:
    page, _ = open_page()
    sign_in(page, server.admin_key)
    agent = WaitingAgent(server, "wire_transfer", amount=90_000)
    card = pending_card(page, agent)
    expect(card).to_be_visible(timeout=LIVE_SECONDS * 1000)

    card.locator("input[name=reason]").fill("not on the payee list")
    card.get_by_role("button", name="Deny").click()

    assert agent.finished(), "the agent was not released"
    assert agent.ran == [] and agent.error is not None
    assert agent.error.reason_code == "step_up_denied"
    assert "not on the payee list" in agent.error.reason
    expect(page.locator("#resolved-rows tr", has_text="wire_transfer").first.locator(".status")).to_have_text(
        "denied"
    )


def test_a_tool_named_like_markup_renders_as_text_and_runs_nothing(
    open_page: Any, server: ThothServer
) -> None:
    page, dialogs = open_page()
    sign_in(page, server.admin_key)
    agent = WaitingAgent(server, XSS_TOOL, note=XSS_ARG)
    card = pending_card(page, agent)
    expect(card).to_be_visible(timeout=LIVE_SECONDS * 1000)  # merged in by the live script
    page.reload()  # and rendered by the server's template
    expect(card).to_be_visible()

    expect(card.locator("h3.tool")).to_have_text(XSS_TOOL)
    expect(card.locator("pre")).to_contain_text(XSS_ARG)
    page.wait_for_timeout(1500)  # a live refresh or two: an injected handler would have fired by now
    assert page.locator("img[src=x]").count() == 0
    assert page.locator("main script").count() == 0
    assert page.evaluate("window.__pwned") is None
    assert dialogs.seen == []
    screenshot(page, "approvals-markup-as-text")
    server.deny(server.wait_for_hold(agent.session_id)["hold_token"])
    assert agent.finished() and agent.ran == []


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(
    open_page: Any, server: ThothServer
) -> None:
    page, _ = open_page()
    sign_in(page, server.admin_key)
    agent = WaitingAgent(server)
    expect(pending_card(page, agent)).to_be_visible(timeout=LIVE_SECONDS * 1000)
    token = server.wait_for_hold(agent.session_id)["hold_token"]

    # The signed-in page's own cookie, as a forged form on another site would send it, minus the token.
    forged = page.evaluate(
        """async (hold) => {
            const body = new URLSearchParams({hold: hold, decision: "approve"});
            const answer = await fetch("/ui/approvals/resolve", {method: "POST", body: body});
            return answer.status;
        }""",
        token,
    )

    assert forged == 403
    assert [h["hold_token"] for h in server.holds("pending", agent.session_id)] == [token]
    assert agent.thread.is_alive() and agent.ran == []
    server.deny(token)
    assert agent.finished()


def test_a_tenants_admin_sees_and_resolves_only_its_own_tenants_holds(
    open_page: Any, server: ThothServer
) -> None:
    ours = WaitingAgent(server)
    theirs = WaitingAgent(server, "tenant_b_tool", tenant="tenant-b", key=B_AGENT)
    server.wait_for_hold(
        ours.session_id
    )  # (the server fixture's admin key is tenant A's: B's is waited on below)

    page_a, _ = open_page()
    sign_in(page_a, server.admin_key)
    page_b, _ = open_page()
    sign_in(page_b, B_ADMIN)

    expect(pending_card(page_a, ours)).to_be_visible()
    expect(pending_card(page_b, theirs)).to_be_visible()
    page_a.wait_for_timeout(1500)  # live refreshes bring nothing of the other tenant either
    expect(pending_card(page_a, theirs)).to_have_count(0)
    expect(pending_card(page_b, ours)).to_have_count(0)
    assert "tenant_b_tool" not in page_a.content()
    screenshot(page_b, "approvals-tenant-b")

    pending_card(page_b, theirs).get_by_role("button", name="Approve").click()
    assert theirs.finished() and theirs.ran == [theirs.args]
    server.deny(server.wait_for_hold(ours.session_id)["hold_token"])
    assert ours.finished() and ours.ran == []


def test_sign_out_ends_the_session(open_page: Any, server: ThothServer) -> None:
    page, _ = open_page()
    sign_in(page, server.admin_key)
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#key")).to_be_visible()  # the sign-in form

    assert page.request.get("/ui/approvals/live").status == 401  # the browser's cookie no longer works
    page.goto("/ui/approvals")
    expect(page.locator("#key")).to_be_visible()


def test_sessions_violations_policies_and_analytics_in_the_browser(
    open_page: Any, server: ThothServer
) -> None:
    held = WaitingAgent(server)
    marked = WaitingAgent(server, XSS_TOOL, note=XSS_ARG)
    server.approve(server.wait_for_hold(held.session_id)["hold_token"])
    server.deny(server.wait_for_hold(marked.session_id)["hold_token"])
    assert held.finished() and marked.finished()
    page, dialogs = open_page()
    sign_in(page, server.admin_key)

    page.get_by_role("link", name="Sessions").click()
    expect(page.get_by_role("heading", name="Sessions")).to_be_visible()
    page.get_by_role("link", name=held.session_id).click()
    expect(page.get_by_role("heading", name=re.compile(held.session_id))).to_be_visible()
    timeline = page.locator("table.timeline")
    expect(timeline).to_contain_text("STEP_UP")
    expect(timeline).to_contain_text("APPROVED")
    expect(page.locator("#chain-status")).to_contain_text("Verified")
    screenshot(page, "session-timeline")

    page.get_by_role("link", name="Violations").click()
    row = page.locator("#violations tbody tr", has_text=marked.session_id)
    expect(row.locator("code").first).to_have_text(XSS_TOOL)  # shown as text
    expect(row).to_contain_text("denied by")
    row.get_by_role("link", name=re.compile(r"^[A-Za-z0-9]")).last.click()
    expect(page.get_by_role("heading", name=re.compile("^Call "))).to_be_visible()
    expect(page.locator(".args pre")).to_contain_text(XSS_ARG)
    screenshot(page, "violations-call")

    page.get_by_role("link", name="Policies").click()
    page.fill("textarea.draft", "version: 1\nrules:\n  - id: r\n    decision: MAYBE\n")
    page.get_by_role("button", name="Check").click()
    expect(page.locator("#check-result")).to_contain_text("<draft>:4:")

    page.get_by_role("link", name="Analytics").click()
    expect(page.locator("#over-time svg")).to_be_visible()
    expect(page.locator("#latency")).to_contain_text(
        re.compile(r"[1-9][0-9]* resolved")
    )  # the module shares one server
    screenshot(page, "analytics")
    assert dialogs.seen == [] and page.evaluate("window.__pwned") is None
    assert page.locator("img[src=x]").count() == 0
