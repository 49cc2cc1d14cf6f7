"""The billing agent's routine before the demo's session: a recorded history to learn from.

`make demo` runs these sessions first (through the SDK, against the same enforcer), so the store
it ends with has what the audit tools need: a baseline of the agent's usual tool use for the
anomaly scores (`thoth sessions --anomalous`), and traffic, token spend included, for
`thoth policy replay` to re-decide under examples/candidate.yaml. The agent is scripted: the
token counts are what a model would report for each turn (fixed by a seeded random), recorded
with `tracer.record_llm_invocation` as the integrations record a real model's usage.
"""

from __future__ import annotations

import random

import thoth
from thoth._usage import Usage

ROUTINE_SESSIONS = 12
SCOPE = ["read_invoice", "export_report", "issue_refund"]


def read_invoice(invoice_id: str) -> str:
    return f"{invoice_id}: paid"


def export_report(rows: int, include_pii: bool = False, note: str = "") -> str:
    return f"exported {rows} rows"


def issue_refund(invoice_id: str, amount: int) -> str:
    return f"refunded {amount} on {invoice_id}"


def run_routine(url: str, api_key: str, tenant: str, seed: int = 7) -> list[str]:
    """Run the routine sessions; their ids, oldest first."""
    rng = random.Random(seed)
    sessions = []
    for index in range(ROUTINE_SESSIONS):
        session_id = f"routine-{index:02d}-{rng.getrandbits(32):08x}"
        tracer = thoth.create_tracer(
            agent_id="billing-agent",
            approved_scope=SCOPE,
            tenant_id=tenant,
            api_url=url,
            api_key=api_key,
            session_id=session_id,
            enforcement="block",
        )
        read, export, refund = (
            tracer.wrap_tool(fn.__name__, fn) for fn in (read_invoice, export_report, issue_refund)
        )

        def model_turn(tracer: thoth.Tracer = tracer) -> None:
            tracer.record_llm_invocation(_turn_usage(rng))
            # the spend reaches the enforcer before the next tool call: the same replay every run
            thoth.flush(timeout=10, api_url=url)

        for turn in range(rng.randint(2, 4)):
            model_turn()
            read(invoice_id=f"INV-{1000 + index * 10 + turn}")
        model_turn()
        export(rows=rng.randint(50, 200), include_pii=False)
        if rng.random() < 0.5:
            model_turn()
            refund(invoice_id=f"INV-{1000 + index * 10}", amount=rng.randint(20, 400))
        sessions.append(session_id)
    thoth.flush(timeout=10, api_url=url)
    return sessions


def _turn_usage(rng: random.Random) -> Usage:
    prompt, completion = rng.randint(600, 1400), rng.randint(40, 160)
    return Usage("scripted-model", prompt, completion, prompt + completion)
