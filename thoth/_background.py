"""Work off every call's path: shadow checks in ``observe`` mode, tool inventories at start.

The governed call never waits for it. One daemon thread per process (started on first use,
kept by the :class:`~thoth._runtime.Runtime`, stopped by ``thoth.close()``), one bounded
queue; what does not fit is counted as dropped, never queued without bound. Each kind of
work has its own counts (``queued``, ``done``, ``failed``, ``dropped``, ``pending``).
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from typing import Final

__all__ = ["Background"]

logger = logging.getLogger("thoth.background")

_MAX_QUEUED: Final = 1000
_COUNTS: Final = ("queued", "done", "failed", "dropped")


class Background:
    """A bounded queue of jobs and the one thread that runs them, in order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: collections.deque[tuple[str, Callable[[], object]]] = collections.deque()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._in_flight = 0
        self._counts: dict[str, dict[str, int]] = {}

    def submit(self, kind: str, job: Callable[[], object]) -> bool:
        """Queue ``job`` (a callable that should not raise; if it does, it is counted as failed).
        False when the queue is full: the job is dropped and counted."""
        with self._lock:
            counts = self._counts_of(kind)
            if len(self._jobs) >= _MAX_QUEUED:
                counts["dropped"] += 1
                return False
            self._jobs.append((kind, job))
            counts["queued"] += 1
            if self._thread is None:
                self._stopping = False
                self._thread = threading.Thread(target=self._run, name="thoth-background", daemon=True)
                self._thread.start()
        self._wake.set()
        return True

    def _counts_of(self, kind: str) -> dict[str, int]:
        counts = self._counts.get(kind)
        if counts is None:
            counts = self._counts[kind] = dict.fromkeys(_COUNTS, 0)
        return counts

    def _run(self) -> None:
        while True:
            self._wake.wait(1.0)
            self._wake.clear()
            while True:
                with self._lock:
                    if not self._jobs:
                        break
                    kind, job = self._jobs.popleft()
                    self._in_flight += 1
                outcome = "done"
                try:
                    job()
                except Exception as exc:  # noqa: BLE001 - one bad job must not stop the others
                    outcome = "failed"
                    logger.warning("thoth: background %s failed: %s", kind, type(exc).__name__)
                with self._lock:
                    self._in_flight -= 1
                    self._counts_of(kind)[outcome] += 1
            with self._lock:
                if self._stopping and not self._jobs:
                    self._thread = None
                    return

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every queued job has run (for tests and orderly shutdowns)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if not self._jobs and not self._in_flight:
                    return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)

    def close(self, timeout: float) -> bool:
        """Run what is queued (within ``timeout``), then stop the thread; it restarts on the next
        job. What is still queued at the deadline is counted as dropped. True when nothing was left."""
        done = self.wait_idle(timeout)
        with self._lock:
            self._stopping = True
            left = len(self._jobs)
            for kind, _job in self._jobs:
                self._counts_of(kind)["dropped"] += 1
            self._jobs.clear()
            thread = self._thread
        self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(max(0.0, min(timeout, 1.0)))
        return done and not left

    def stats(self, kind: str) -> dict[str, int]:
        """The counts of one kind of job, with how many of them are still queued."""
        with self._lock:
            pending = sum(1 for queued_kind, _job in self._jobs if queued_kind == kind)
            return {**self._counts.get(kind, dict.fromkeys(_COUNTS, 0)), "pending": pending}
