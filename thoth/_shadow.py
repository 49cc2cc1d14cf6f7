"""Shadow checks: in ``observe`` mode, ask the enforcer in the background what it would decide.

The governed call never waits for them (observe adds no round trip to a call);
the enforcer records the answer as a shadow decision, which is what a team
reads before switching a rollout from observe to enforcing. One daemon thread
per process, a bounded queue; what does not fit is counted, not queued.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from thoth.enforcer_client import EnforcerClient

__all__ = ["stats", "submit", "wait_idle"]

logger = logging.getLogger("thoth.shadow")

_MAX_QUEUED = 1000
_Job = tuple["EnforcerClient", str, str, list[str], dict[str, Any]]


class _ShadowChecker:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: collections.deque[_Job] = collections.deque()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.counts = {"queued": 0, "checked": 0, "dropped": 0}

    def submit(self, job: _Job) -> None:
        with self._lock:
            if len(self._jobs) >= _MAX_QUEUED:
                self.counts["dropped"] += 1
                return
            self._jobs.append(job)
            self.counts["queued"] += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="thoth-shadow", daemon=True)
                self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait(1.0)
            self._wake.clear()
            while self._jobs:
                enforcer, tool_name, session_id, calls, args = self._jobs.popleft()
                decision = enforcer.check(tool_name, session_id, calls, args)  # never raises
                logger.debug("thoth: shadow decision for %s: %s", tool_name, decision.decision.value)
                with self._lock:
                    self.counts["checked"] += 1


_checker = _ShadowChecker()


def submit(
    enforcer: EnforcerClient, tool_name: str, session_id: str, calls: list[str], args: dict[str, Any]
) -> None:
    _checker.submit((enforcer, tool_name, session_id, calls, args))


def wait_idle(timeout: float) -> bool:
    """Wait until every queued shadow check was sent (for tests and orderly shutdowns)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with _checker._lock:
            if _checker.counts["checked"] >= _checker.counts["queued"]:
                return True
        time.sleep(0.01)
    return False


def stats() -> dict[str, int]:
    with _checker._lock:
        return {**_checker.counts, "pending": len(_checker._jobs)}


def _reset_after_fork() -> None:
    global _checker
    _checker = _ShadowChecker()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)
