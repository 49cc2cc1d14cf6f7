"""Shadow checks: in ``observe`` mode, ask the enforcer in the background what it would decide.

The governed call never waits for them (observe adds no round trip to a call);
the enforcer records the answer as a shadow decision, which is what a team
reads before switching a rollout from observe to enforcing. One daemon thread
per process (started on first use, kept by the :class:`~thoth._runtime.Runtime`),
a bounded queue; what does not fit is counted, not queued.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from thoth.enforcer_client import EnforcerClient

__all__ = ["ShadowChecker"]

logger = logging.getLogger("thoth.shadow")

_MAX_QUEUED: Final = 1000
_Job = tuple["EnforcerClient", str, str, list[str], dict[str, Any]]


class ShadowChecker:
    """A bounded queue of shadow checks and the thread that sends them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: collections.deque[_Job] = collections.deque()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._in_flight = 0
        self.counts = {"queued": 0, "checked": 0, "dropped": 0}

    def submit(
        self,
        enforcer: EnforcerClient,
        tool_name: str,
        session_id: str,
        calls: list[str],
        args: dict[str, Any],
    ) -> None:
        with self._lock:
            if len(self._jobs) >= _MAX_QUEUED:
                self.counts["dropped"] += 1
                return
            self._jobs.append((enforcer, tool_name, session_id, calls, args))
            self.counts["queued"] += 1
            if self._thread is None:
                self._stopping = False
                self._thread = threading.Thread(target=self._run, name="thoth-shadow", daemon=True)
                self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait(1.0)
            self._wake.clear()
            while True:
                with self._lock:
                    if not self._jobs:
                        break
                    enforcer, tool_name, session_id, calls, args = self._jobs.popleft()
                    self._in_flight += 1
                decision = enforcer.check(tool_name, session_id, calls, args)  # never raises
                logger.debug("thoth: shadow decision for %s: %s", tool_name, decision.decision.value)
                with self._lock:
                    self._in_flight -= 1
                    self.counts["checked"] += 1
            with self._lock:
                if self._stopping and not self._jobs:
                    self._thread = None
                    return

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every queued shadow check was sent (for tests and orderly shutdowns)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if not self._jobs and not self._in_flight:
                    return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)

    def close(self, timeout: float) -> bool:
        """Send what is queued (within ``timeout``), then stop the thread; it restarts on the next check.
        What is still queued at the deadline is counted as dropped. True when nothing was left."""
        done = self.wait_idle(timeout)
        with self._lock:
            self._stopping = True
            left = len(self._jobs)
            self._jobs.clear()
            self.counts["dropped"] += left
            thread = self._thread
        self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(max(0.0, min(timeout, 1.0)))
        return done and not left

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {**self.counts, "pending": len(self._jobs)}
