"""Blocking file work, off the event loop, in order.

A recording's writes and the outbox's SQLite commits take as long as the
disk wants (a neighbour's fsyncs, a stalled device); run on the event loop,
one slow write would stall every interview of the replica. `DiskWork` runs
one owner's jobs on a writer thread (`writer_thread`: one worker, so jobs
run in the order given; several owners may share it, as every recording of
the spool shares one):

- `submit` queues a job and returns at once. At most ``max_queued`` jobs
  wait: one more means the disk has stalled for longer than the owner can
  hold in memory, and raises `DiskBacklog` (an `OSError`, as a full disk
  would) instead of letting memory grow. Once a submitted job fails, later
  submitted jobs are skipped (a recording must not go on past a hole) and
  the failure is raised by the next `submit` and by `close`.
- `call` runs a job after everything queued and returns its result.
- `close` runs a last job, always (even after a failure: it closes files).

Without a thread, every job runs at once on the caller's thread, as the
gateway did before: a diagnostic (``ZENHIRE_DISK_IO=inline``) so that a
benchmark measures both paths in one run.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
Job = Callable[[], object]


class DiskBacklog(OSError):
    """More writes wait for the disk than their owner may hold."""


def writer_thread(name: str) -> ThreadPoolExecutor:
    """A thread that runs its jobs one at a time, in order (its owner shuts it down)."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)


class DiskWork:
    def __init__(self, name: str, thread: ThreadPoolExecutor | None, *, max_queued: int) -> None:
        self._name = name
        self._max_queued = max_queued
        self._thread = thread
        self._queued: deque[Future[None]] = deque()
        # Set on the worker thread, read on the loop's (an attribute swap is atomic).
        self._failure: Exception | None = None

    @property
    def queued(self) -> int:
        """Submitted jobs not finished yet."""
        while self._queued and self._queued[0].done():
            self._queued.popleft()
        return len(self._queued)

    def submit(self, job: Job) -> None:
        """Queue ``job``; raise an earlier job's failure, or `DiskBacklog` when full."""
        self._raise_failure()
        if self._thread is None:
            self._guarded(job)
            self._raise_failure()
            return
        if self.queued >= self._max_queued:
            raise DiskBacklog(f"{self._name}: {self._max_queued} writes are waiting for the disk")
        self._queued.append(self._thread.submit(self._guarded, job))

    async def call(self, job: Callable[[], T]) -> T:
        """Run ``job`` after everything queued; its result, or its exception."""
        if self._thread is None:
            return job()
        return await asyncio.wrap_future(self._thread.submit(job))

    async def close(self, last: Job) -> None:
        """Run ``last`` after everything queued; raise the first failure."""
        await self.call(last)
        self._raise_failure()

    def _guarded(self, job: Job) -> None:
        if self._failure is not None:
            return
        try:
            job()
        except Exception as exc:
            self._failure = exc

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure
