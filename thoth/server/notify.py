"""Tell a human about a new hold: a JSON POST (Slack-compatible ``text``) with retries."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import httpx

from thoth.server.slack.messages import mrkdwn_escape

log = logging.getLogger("thoth.server.notify")


def hold_message(hold: Mapping[str, Any]) -> dict[str, Any]:
    """The webhook's body: a Slack-compatible ``text`` in which everything the agent named is
    escaped (no ``<!channel>``, link or line break of its making reaches the chat), and the hold."""

    def named(field: str) -> str:
        return mrkdwn_escape(str(hold[field]), limit=256, one_line=True)

    text = (
        f"Thoth: agent {named('agent_id')} wants to run {named('tool_name')} "
        f"(tenant {named('tenant_id')}, session {named('session_id')}): "
        f"{mrkdwn_escape(str(hold['reason']), limit=1000, one_line=True)}. "
        f"Approve: thoth holds approve {hold['hold_token']}  Deny: thoth holds deny {hold['hold_token']}"
    )
    return {"text": text, "hold": dict(hold)}


class Notifier:
    """Posts to one webhook; a failed post is retried with backoff, then logged and dropped."""

    def __init__(self, url: str | None, attempts: int = 4, backoff_seconds: float = 0.5) -> None:
        self.url = url
        self._attempts = attempts
        self._backoff = backoff_seconds
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[bool]] = set()

    def hold_created(self, hold: Mapping[str, Any]) -> None:
        if not self.url:
            return
        task = asyncio.get_running_loop().create_task(self._post(hold_message(hold)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _post(self, message: dict[str, Any]) -> bool:
        assert self.url is not None
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(5.0, connect=2.0))
        for attempt in range(1, self._attempts + 1):
            try:
                response = await self._client.post(self.url, json=message)
                if response.status_code < 300:
                    return True
                problem = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                problem = type(exc).__name__
            log.warning("hold notification failed (attempt %d of %d): %s", attempt, self._attempts, problem)
            if attempt < self._attempts:
                await asyncio.sleep(self._backoff * 2 ** (attempt - 1))
        return False

    async def aclose(self) -> None:
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=5.0)
        if self._client is not None:
            await self._client.aclose()
