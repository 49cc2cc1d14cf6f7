"""Shared by every framework's integration tests: options pointing at a real `thoth serve` on
127.0.0.1, the events it stored, and a reviewer that approves step-up holds while the agent loop waits.

Import it as ``tests.integrations._shared``: pytest puts each test's own folder on sys.path, and the
repository root (the parent of the ``tests`` package). Framework-free, so any suite's env can load it.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sqlite3
import threading
import time
import uuid
from typing import Any

import httpx

import thoth
from thoth.emitter import HttpEmitter

REFUSAL_MARK = "[Thoth policy]"


def new_agent_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def governed_options(
    server: Any, agent_id: str, scope: list[str], enforcement: str, **extra: Any
) -> dict[str, Any]:
    """Keyword arguments for ``thoth.instrument`` that point at the test server."""
    return dict(
        agent_id=agent_id,
        approved_scope=scope,
        tenant_id=server.tenant_id,
        api_url=server.url,
        api_key=server.api_key,
        enforcement=enforcement,
        step_up_poll_interval_seconds=0.05,
        **extra,
    )


def make_tracer(server: Any, agent_id: str, scope: list[str], enforcement: str, **extra: Any) -> thoth.Tracer:
    """A Tracer for the explicit helpers, configured like ``thoth.instrument`` with the same options."""
    return thoth.create_tracer(
        user_id="tester", **governed_options(server, agent_id, scope, enforcement, **extra)
    )


def unreachable_tracer(agent_id: str, scope: list[str], **extra: Any) -> thoth.Tracer:
    """A Tracer whose enforcer is a closed loopback port: every decision must fail closed."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return thoth.create_tracer(
        agent_id=agent_id,
        approved_scope=scope,
        tenant_id="acme-corp",
        user_id="tester",
        enforcement="block",
        api_key="thoth_test_unreachable",
        api_url=f"http://127.0.0.1:{port}",
        max_retries=0,
        decision_timeout_seconds=2.0,
        **extra,
    )


def stored_events(server: Any, agent_id: str) -> list[dict[str, Any]]:
    """Every event the server stored for ``agent_id``, in order, once this process's queue for it is sent."""
    # Flush this server's queue only: another test's queue may point at a server that is gone.
    assert HttpEmitter(server.url, server.api_key).flush(10.0), "events were not delivered"
    response = httpx.get(
        f"{server.url}/v1/events",
        params={"agent_id": agent_id, "limit": 500},
        headers={"Authorization": f"Bearer {server.admin_key}"},
        timeout=10.0,
    )
    response.raise_for_status()
    items: list[dict[str, Any]] = response.json()["items"]
    assert_joined(server, items)
    return items


def assert_joined(server: Any, stored: list[dict[str, Any]]) -> None:
    """One decision id per governed call, end to end, in every framework's loop: each tool event
    names its call's decision (``decision_id``), the events of one decision are one call's (one
    tool, one call id: the framework's, which may repeat across calls), and each call the enforcer
    decided has its decision stored under that id, for the same tool and session. Observe mode's
    shadow check is sent in the background, so its decision may not be stored yet: not checked."""
    calls: dict[str, tuple[str | None, str | None]] = {}
    decided: dict[str, tuple[str | None, str]] = {}
    for event in stored:
        if not event["event_type"].startswith("TOOL_CALL_"):
            continue
        decision_id, tool = event.get("decision_id"), event.get("tool_name")
        call = (tool, (event.get("metadata") or {}).get("call_id"))
        assert decision_id and calls.setdefault(decision_id, call) == call, (event["event_type"], call)
        if event["event_type"] == "TOOL_CALL_PRE" and event.get("enforcement_mode") != "observe":
            assert decision_id not in decided, f"two calls share the decision id {decision_id}"
            decided[decision_id] = (tool, event["session_id"])
    stored_decisions = _decisions_by_id(server, list(decided))
    for decision_id, call in decided.items():
        assert stored_decisions.get(decision_id) == call, (decision_id, call)


def _decisions_by_id(server: Any, decision_ids: list[str]) -> dict[str, tuple[str, str]]:
    """(tool, session) of the stored decisions with these ids, read from the test server's SQLite."""
    prefix = "sqlite:///"
    assert server.db_url.startswith(prefix), "the framework suites run thoth serve on SQLite"
    found: dict[str, tuple[str, str]] = {}
    with contextlib.closing(sqlite3.connect(server.db_url[len(prefix) :], timeout=10.0)) as db:
        rows = db.execute(
            "SELECT decision_id, tool_name, session_id FROM thoth_decisions "
            "WHERE kind = 'decision' AND decision_id IN (SELECT value FROM json_each(?))",
            (json.dumps(decision_ids),),
        )
        found.update({decision_id: (tool, session) for decision_id, tool, session in rows})
    return found


def events(server: Any, agent_id: str) -> list[tuple[str, str, str | None]]:
    """(event_type, tool_name, call_id) of every event the server stored for ``agent_id``, in order."""
    return [
        (e["event_type"], e.get("tool_name"), (e.get("metadata") or {}).get("call_id"))
        for e in stored_events(server, agent_id)
    ]


def by_call(recorded: list[tuple[str, str, str | None]]) -> dict[str | None, list[str]]:
    """Event types per call id, in order: parallel calls interleave, each call's own order holds."""
    out: dict[str | None, list[str]] = {}
    for kind, _tool, call_id in recorded:
        out.setdefault(call_id, []).append(kind)
    return out


class Approver:
    """Approves this agent's step-up holds from another thread while the agent loop waits on them."""

    def __init__(self, server: Any, agent_id: str, expected: int = 1, timeout: float = 30.0) -> None:
        self._server = server
        self._agent_id = agent_id
        self._expected = expected
        self._deadline = time.monotonic() + timeout
        self.approved: list[dict[str, Any]] = []
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Approver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._deadline = 0.0
        self._thread.join(5.0)

    def _run(self) -> None:
        while len(self.approved) < self._expected and time.monotonic() < self._deadline:
            for hold in self._server.holds("pending"):
                if hold.get("agent_id") == self._agent_id and hold not in self.approved:
                    self._server.approve(hold["hold_token"])
                    self.approved.append(hold)
            time.sleep(0.02)


def modify_policy(tool_name: str, to: str = "security@acme.com") -> str:
    """A server policy whose MODIFY rule rewrites the ``to`` argument of ``tool_name``."""
    return f"""
version: 1
rules:
  - id: mail-goes-to-security
    tools: [{tool_name}]
    decision: MODIFY
    modify:
      set: {{to: "{to}"}}
    reason: outgoing mail is redirected to security
"""


def recorded_tools(server: Any, agent_id: str, timeout: float = 10.0) -> dict[str, dict[str, Any]]:
    """The tool inventory ``thoth.instrument`` published for ``agent_id``, by tool name, once the
    SDK's background thread has sent it (``{}`` when nothing arrived within ``timeout``)."""
    from thoth._runtime import runtime

    runtime().background.wait_idle(timeout)
    with httpx.Client(base_url=server.url, headers={"x-api-key": server.api_key}, timeout=10) as client:
        page = client.get("/v1/tool-inventory", params={"agent_id": agent_id, "limit": 1000})
        page.raise_for_status()
    return {tool["name"]: tool for tool in page.json()["items"]}


def assert_no_default_values(recorded: dict[str, dict[str, Any]], *values: str) -> None:
    """No recorded input schema carries a ``default`` keyword or any of ``values`` (a default
    value of a tool's parameter must never leave the process)."""
    for entry in recorded.values():
        schema = json.dumps(entry["input_schema"])
        assert '"default"' not in schema
        for value in values:
            assert value not in schema


# -- the generic containers a framework's tools can sit in (issue 14, item 12) -------------------------
class ToolHolder:
    """The generic shape the old SDK accepted: any object with a ``.tools`` list or dict."""

    def __init__(self, tools: Any) -> None:
        self.tools = tools


def ping(host: str) -> str:
    """A plain function, first in a mixed list (the list is then not judged a framework's one)."""
    return f"pong {host}"


GENERIC_SHAPES = ("list", "object_tools_list", "object_tools_dict", "list_after_a_plain_function", "dict")


def generic_container(shape: str, tools: dict[str, Any]) -> Any:
    """``tools`` (policy name -> framework tool) in the generic shape called ``shape``."""
    items = list(tools.values())
    if shape == "list":
        return items
    if shape == "object_tools_list":
        return ToolHolder(items)
    if shape == "object_tools_dict":
        return ToolHolder(dict(tools))
    if shape == "list_after_a_plain_function":
        return [ping, *items]
    assert shape == "dict", shape
    return dict(tools)


def held_tools(container: Any) -> list[Any]:
    """What the container holds now, in order (the values of a dict)."""
    tools = getattr(container, "tools", container)
    return list(tools.values()) if isinstance(tools, dict) else list(tools)
