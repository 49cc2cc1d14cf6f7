"""The hosted OpenAI or Anthropic HTTP API, played behind httpx2.MockTransport: the one thing the
OpenAI and Anthropic suites cannot run here. Their own support modules build the response bodies."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx2


class ScriptedModel:
    """Plays the hosted API: answers each request with the next scripted body, records requests."""

    def __init__(self, *bodies: dict[str, Any]) -> None:
        self._bodies = list(bodies)
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        with self._lock:
            self.requests.append(json.loads(request.content))
            return httpx2.Response(200, json=self._bodies.pop(0))

    def sync_client(self) -> httpx2.Client:
        return httpx2.Client(transport=httpx2.MockTransport(self))

    def async_client(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(transport=httpx2.MockTransport(self))
