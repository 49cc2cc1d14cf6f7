"""respx routes that speak openapi/thoth.yaml and check both directions against it.

Every request the SDK sends is validated against the spec, and so is every
canned response (unless a test marks it ``conforms=False`` on purpose, to see
the SDK fail closed on nonsense). Violations are collected and the fixture
fails the test at teardown.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import respx
import yaml
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

SPEC_PATH = Path(__file__).resolve().parent.parent / "openapi" / "thoth.yaml"
BASE_URL = "http://127.0.0.1:8787"
_spec: OpenAPI | None = None


def spec() -> OpenAPI:
    """The contract as our SDK must speak it: the server accepts extension fields from released
    clients (``x-thoth-extensible``), but our own requests may carry none."""
    global _spec
    if _spec is None:
        document = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
        for schema in document["components"]["schemas"].values():
            if schema.get("x-thoth-extensible"):
                schema["additionalProperties"] = False
                schema.pop("maxProperties", None)
        _spec = OpenAPI.from_dict(document)
    return _spec


def _mock_request(request: httpx.Request) -> MockRequest:
    return MockRequest(
        BASE_URL,
        request.method.lower(),
        request.url.path,
        args=dict(request.url.params),
        headers=dict(request.headers),
        data=request.content or None,
        content_type=request.headers.get("content-type", "application/json"),
    )


def validate_request(request: httpx.Request) -> None:
    spec().validate_request(_mock_request(request))


def validate_response(request: httpx.Request, response: httpx.Response) -> None:
    spec().validate_response(
        _mock_request(request),
        MockResponse(
            response.content,
            status_code=response.status_code,
            headers=dict(response.headers),
            content_type=response.headers.get("content-type", "application/json"),
        ),
    )


@dataclass
class Reply:
    """A canned answer: JSON body, raw bytes, or an exception to raise instead."""

    status: int = 200
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    raises: Exception | None = None
    conforms: bool = True
    delay: float = 0.0
    gate: threading.Event | None = None  # hold the answer until the test opens it (at most 10 s)

    def build(self, request: httpx.Request) -> httpx.Response:
        if self.raises is not None:
            raise self.raises
        if self.delay:
            threading.Event().wait(self.delay)
        if self.gate is not None:
            self.gate.wait(10.0)
        if self.content is not None:
            return httpx.Response(self.status, content=self.content, headers=self.headers, request=request)
        return httpx.Response(self.status, json=self.json, headers=self.headers, request=request)


EXPLANATION: dict[str, Any] = {
    "violation_id": "vio_1",
    "tool_name": "delete_everything",
    "decision": "BLOCK",
    "decision_reason_code": "POLICY_BLOCK",
    "matched_rule_ids": ["no-deletes"],
    "what_happened": "The call to delete_everything was blocked.",
    "why_it_was_blocked": "Policy rule no-deletes (POLICY_BLOCK): deleting is never automated.",
    "what_to_do_next": "Change or remove policy rule no-deletes, or run the agent without this call.",
    "business_impact": "The agent's task could not use delete_everything.",
    "severity": "high",
    "approvers": [],
    "policy_version": "sha256:abc",
    "source": "stored",
}


def allow(**extra: Any) -> Reply:
    return Reply(json={"decision": "ALLOW", **extra})


def error(
    status: int, code: str = "error", message: str = "failed", *, conforms: bool = True, **headers: str
) -> Reply:
    """An error in the spec's Error shape. ``conforms=False`` for statuses only a proxy would send."""
    return Reply(status, json={"code": code, "message": message}, headers=headers, conforms=conforms)


class _Script:
    """Replies in order; the last one repeats."""

    def __init__(self, default: Reply) -> None:
        self._replies: list[Reply] = [default]
        self._lock = threading.Lock()

    def set(self, replies: Iterable[Reply]) -> None:
        with self._lock:
            self._replies = list(replies)

    def next(self) -> Reply:
        with self._lock:
            return self._replies.pop(0) if len(self._replies) > 1 else self._replies[0]


class ContractAPI:
    """A respx-mocked Thoth API at BASE_URL that validates traffic against the spec."""

    def __init__(self, router: respx.MockRouter) -> None:
        self.requests: list[httpx.Request] = []
        self.events: list[dict[str, Any]] = []
        self.batches: list[list[dict[str, Any]]] = []
        self.violations: list[str] = []
        self._enforce = _Script(allow())
        self._hold = _Script(
            Reply(json={"hold_token": "hold_token_0001", "resolved": False, "resolution": None})
        )
        self._ingest = _Script(Reply(200, json={"accepted": 1, "duplicates": 0, "chain_breaks": 0}))
        self._explain = _Script(Reply(json=EXPLANATION))
        self._inventory = _Script(Reply(json={"stored": 1}))
        self._lock = threading.Lock()
        router.post(f"{BASE_URL}/v1/explain").mock(side_effect=self._handler(self._explain))
        router.post(url__regex=rf"{BASE_URL}/[^/]+/thoth/tool-inventory$").mock(
            side_effect=self._handler(self._inventory)
        )
        router.post(f"{BASE_URL}/v1/enforce").mock(side_effect=self._handler(self._enforce))
        router.get(url__regex=rf"{BASE_URL}/v1/enforce/hold/[^/]+$").mock(
            side_effect=self._handler(self._hold)
        )
        router.post(f"{BASE_URL}/v1/events/batch").mock(side_effect=self._handler(self._ingest, events=True))

    def on_enforce(self, *replies: Reply) -> None:
        self._enforce.set(replies)

    def on_hold(self, *replies: Reply) -> None:
        self._hold.set(replies)

    def on_ingest(self, *replies: Reply) -> None:
        self._ingest.set(replies)

    def on_explain(self, *replies: Reply) -> None:
        self._explain.set(replies)

    def on_inventory(self, *replies: Reply) -> None:
        self._inventory.set(replies)

    def calls(self, path_prefix: str) -> list[httpx.Request]:
        with self._lock:
            return [r for r in self.requests if r.url.path.startswith(path_prefix)]

    def enforce_bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.calls("/v1/enforce") if r.method == "POST"]

    def _handler(self, script: _Script, *, events: bool = False) -> Callable[[httpx.Request], httpx.Response]:
        """The route's side effect. Whatever a check raises is recorded as a violation (the
        fixture fails the test at teardown), never raised: raised here, it would reach the SDK
        as a transport error, which the SDK fails closed on, and a test expecting a refusal
        would pass with the violation unseen."""

        def handle(request: httpx.Request) -> httpx.Response:
            with self._lock:
                self.requests.append(request)
            try:
                validate_request(request)
            except Exception as exc:  # noqa: BLE001 - recorded, not raised (see above)
                with self._lock:
                    self.violations.append(f"request {request.method} {request.url.path}: {exc}")
            reply = script.next()
            response = reply.build(request)
            if events and 200 <= response.status_code < 300:
                batch = json.loads(request.content)
                with self._lock:
                    self.batches.append(batch)
                    self.events.extend(batch)
            if reply.conforms:
                try:
                    validate_response(request, response)
                except Exception as exc:  # noqa: BLE001 - recorded, not raised (see above)
                    with self._lock:
                        self.violations.append(f"canned response {response.status_code}: {exc}")
            return response

        return handle
