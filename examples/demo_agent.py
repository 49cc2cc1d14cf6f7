"""A scripted billing agent (no LLM) governed by Thoth.

Run by examples/run_demo.py, which starts the enforcer and sets THOTH_API_URL,
THOTH_API_KEY, THOTH_TENANT_ID and THOTH_DEMO_SESSION_ID. It shows an allowed call,
a blocked call, a modified call and a call held until a human approves it.
"""

from __future__ import annotations

import os
import sys

import thoth
from thoth import ThothPolicyViolation


class ReadInvoice:
    name = "read_invoice"

    def run(self, invoice_id: str) -> str:
        return f"{invoice_id}: 3 items, total 2500.00 EUR, paid"


class DeleteCustomer:
    name = "delete_customer"

    def run(self, customer_id: str) -> str:
        raise AssertionError("the enforcer must never let this run")


class ExportReport:
    name = "export_report"

    def run(self, rows: int, include_pii: bool, note: str = "") -> str:
        return f"exported {rows} rows (include_pii={include_pii}, note={note!r})"


class IssueRefund:
    name = "issue_refund"

    def run(self, invoice_id: str, amount: int) -> str:
        return f"refunded {amount} on {invoice_id}"


class BillingAgent:
    """Any object with a ``.tools`` list whose tools have ``.name`` and ``.run``."""

    def __init__(self) -> None:
        self.tools = [ReadInvoice(), DeleteCustomer(), ExportReport(), IssueRefund()]

    def tool(self, name: str) -> object:
        return next(t for t in self.tools if t.name == name)

    def run(self) -> int:
        step("1. read an invoice (in scope)")
        print("   ->", self.tool("read_invoice").run(invoice_id="INV-1001"))

        step("2. delete the customer (a policy rule forbids it)")
        try:
            self.tool("delete_customer").run(customer_id="CUST-42")
            return fail("the delete was not blocked")
        except ThothPolicyViolation as violation:
            print(f"   -> blocked: {violation.reason} (violation {violation.violation_id})")

        step("3. export a report with personal data (the enforcer rewrites the arguments)")
        result = self.tool("export_report").run(
            rows=500, include_pii=True, note="quarterly numbers for the board, with customer names"
        )
        print("   ->", result)
        if "include_pii=False" not in result:
            return fail("the export was not modified")

        step("4. refund 2500 (held for an approver: Approve in the console, or `thoth holds approve`)")
        print("   -> waiting for a human ...", flush=True)
        try:
            print("   ->", self.tool("issue_refund").run(invoice_id="INV-1001", amount=2500))
        except ThothPolicyViolation as violation:  # the approver said no: the refund never ran
            print(f"   -> denied: {violation.reason} ({violation.reason_code})")
        return 0


def step(text: str) -> None:
    print(f"\n{text}", flush=True)


def fail(text: str) -> int:
    print(f"DEMO FAILED: {text}", file=sys.stderr)
    return 1


def main() -> int:
    agent = thoth.instrument(
        BillingAgent(),
        agent_id="billing-agent",
        approved_scope=["read_invoice", "export_report", "issue_refund"],
        tenant_id=os.environ["THOTH_TENANT_ID"],
        user_id="alice@acme.com",
        enforcement="progressive",
        api_url=os.environ["THOTH_API_URL"],
        api_key=os.environ["THOTH_API_KEY"],
        session_id=os.environ.get("THOTH_DEMO_SESSION_ID"),
        step_up_poll_interval_seconds=0.25,
        step_up_timeout_minutes=2,
    )
    try:
        return agent.run()
    finally:
        thoth.flush(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
