"""One writer thread that batches every write into few transactions.

Requests hand it jobs; a job either returns a future (the request waits until its
write is committed: holds, resolutions, events) or is fire-and-forget (decision
log rows, which the session record already reflects in memory). Decision rows are
gathered on the event loop for up to ``DECISION_FLUSH_SECONDS`` (or
``DECISION_FLUSH_ROWS``) and handed over together: waking the writer thread for
each row would cost a transaction per decision. All jobs queued while a transaction
runs go into the next one. If a batch fails, its jobs are retried one by one so that
one bad job fails alone. Closing writes everything pending.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Mapping
from typing import Any, Final

import attrs
from sqlalchemy.engine import Connection, Engine

from thoth.server import store

log = logging.getLogger("thoth.server.writer")

MAX_JOBS_PER_TRANSACTION: Final = 512
DECISION_FLUSH_SECONDS: Final = 0.05
DECISION_FLUSH_ROWS: Final = 1000

WriteFn = Callable[[Connection], Any]


@attrs.define
class _Job:
    write: WriteFn | None  # None: only decision rows
    decision_rows: list[Mapping[str, Any]]
    future: asyncio.Future[Any] | None
    loop: asyncio.AbstractEventLoop | None


_STOP: Final = object()


class WriterClosed(RuntimeError):
    """The server is shutting down: no new writes."""


class Writer:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._queue: queue.SimpleQueue[_Job | object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="thoth-writer", daemon=True)
        self._closed = False
        self._rows: list[Mapping[str, Any]] = []  # decision rows not yet handed over (loop thread)
        self._flush_handle: asyncio.TimerHandle | None = None
        self.heads = store.ChainHeads()
        self._thread.start()

    async def submit(self, write: WriteFn) -> Any:
        """Run ``write(conn)`` in the next transaction and return its result once committed."""
        if self._closed:
            raise WriterClosed("the store is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.put(_Job(write, self._take_rows(), future, loop))  # rows first: keeps the order
        return await future

    def log_decision(self, row: Mapping[str, Any]) -> None:
        """Gather one decision row (call on the event loop); it is written within 50 ms."""
        if self._closed:
            return
        self._rows.append(row)
        if len(self._rows) >= DECISION_FLUSH_ROWS:
            self.flush_decisions()
        elif self._flush_handle is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # not on a loop (a direct caller): hand over now
                self.flush_decisions()
                return
            self._flush_handle = loop.call_later(DECISION_FLUSH_SECONDS, self.flush_decisions)

    def flush_decisions(self) -> None:
        """Hand the gathered decision rows to the writer thread."""
        rows = self._take_rows()
        if rows:
            self._queue.put(_Job(None, rows, None, None))

    def _take_rows(self) -> list[Mapping[str, Any]]:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        rows, self._rows = self._rows, []
        return rows

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self, timeout: float = 30.0) -> None:
        """Write everything queued, then stop."""
        if self._closed:
            return
        self.flush_decisions()
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join(timeout)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            jobs: list[_Job] = []
            item: _Job | object = first
            while True:
                if item is _STOP:
                    stopping = True
                elif isinstance(item, _Job):
                    jobs.append(item)
                if len(jobs) >= MAX_JOBS_PER_TRANSACTION:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if jobs:
                self._write(jobs)

    def _write(self, jobs: list[_Job]) -> None:
        try:
            results = self._transaction(jobs)
        except Exception:
            self.heads.forget()  # the cache may hold heads of rolled-back events
            if len(jobs) == 1:
                log.exception("write failed")
                self._fail(jobs[0])
                return
            for job in jobs:
                self._write([job])
            return
        for job, result in zip(jobs, results, strict=True):
            _settle(job, result, None)

    def _transaction(self, jobs: list[_Job]) -> list[Any]:
        results: list[Any] = []
        with self._engine.begin() as conn:
            rows = [row for job in jobs for row in job.decision_rows]
            store.insert_decisions(conn, rows)
            for job in jobs:
                results.append(job.write(conn) if job.write is not None else None)
        return results

    def _fail(self, job: _Job) -> None:
        _settle(job, None, RuntimeError("the store could not write"))


def _settle(job: _Job, result: Any, error: BaseException | None) -> None:
    if job.future is None or job.loop is None:
        return
    with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits any more
        job.loop.call_soon_threadsafe(_resolve, job.future, result, error)


def _resolve(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
