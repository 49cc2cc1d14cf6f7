"""Drive one released Thoth client (aten-thoth 0.1.x, atensec-thoth) through its README flows.

Runs inside the client's own virtualenv as ``python -I driver.py``: it imports the client's
``thoth`` package and the standard library, nothing of ours. The job comes as JSON on stdin
(``agent_id``, ``tenant_id``, ``flows``); the enforcer's URL and key come from the environment
the README tells users to set (``THOTH_API_URL``, ``THOTH_API_KEY``, and ``THOTH_ENFORCER_URL``,
which aten-thoth 0.1.0 reads). One JSON report goes to stdout: per flow, whether the tool body
ran, with which arguments, or what refused it.

Each flow is the README's "Custom Tools (Generic)" example: an agent object with a ``.tools``
list, instrumented by ``thoth.instrument()`` in a session of its own, then one call of
``agent.tools[0].run(...)``.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import sys
import time
import uuid
from typing import Any

import thoth
from thoth import ThothPolicyViolation

SCOPE = ["read_file", "delete_records", "lookup_customer", "wire_money", "wire_money_abroad", "export_report"]


class Tool:
    """A tool whose body records the arguments it was run with."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.received: list[Any] = []

    def run(self, arg: Any) -> dict[str, Any]:
        self.received.append(arg)
        return {"ran": self.name}


class AsyncTool(Tool):
    async def run(self, arg: Any) -> dict[str, Any]:  # type: ignore[override]
        await asyncio.sleep(0)
        self.received.append(arg)
        return {"ran": self.name}


class Agent:
    def __init__(self, tools: list[Tool]) -> None:
        self.tools = tools


def run_flow(job: dict[str, Any], flow: dict[str, Any]) -> dict[str, Any]:
    session_id = f"compat-{flow['name']}-{uuid.uuid4()}"
    tool = (AsyncTool if flow.get("async") else Tool)(flow["tool"])
    agent = thoth.instrument(
        Agent([tool]),
        agent_id=job["agent_id"],
        approved_scope=SCOPE,
        tenant_id=job["tenant_id"],
        user_id="compat@example.com",
        enforcement=flow.get("enforcement", "progressive"),
        session_id=session_id,
    )
    report: dict[str, Any] = {"session_id": session_id}
    try:
        call = agent.tools[0].run(flow["arg"])
        if flow.get("async"):
            call = asyncio.run(call)
        report["outcome"] = "ran"
    except ThothPolicyViolation as exc:
        report.update(outcome="refused", reason=exc.reason, violation_id=exc.violation_id)
    except Exception as exc:  # noqa: BLE001 - the report says how the client failed
        report.update(outcome="error", error=f"{type(exc).__name__}: {exc}"[:500])
    report["received"] = tool.received
    return report


def main() -> None:
    job = json.load(sys.stdin)
    dist = next(d for d in ("atensec-thoth", "aten-thoth") if _installed(d))
    reports = {flow["name"]: run_flow(job, flow) for flow in job["flows"]}
    json.dump({"dist": dist, "version": importlib.metadata.version(dist), "flows": reports}, sys.stdout)
    sys.stdout.flush()
    # Events go out from the client's background emitter (batches every 0.25 s); its atexit hook
    # flushes the queue but not a batch its daemon thread is still sending, which an exit right
    # after the last call loses. An agent process outlives its last call by more than a second.
    time.sleep(1.0)


def _installed(dist: str) -> bool:
    try:
        importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


if __name__ == "__main__":
    main()
