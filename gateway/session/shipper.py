"""Ships the recording's segments to the artifact store while interviews run.

A live recording seals a segment every few seconds (`Recording`) and hands
the shipper a `PendingSegment`: where its bytes lie in the session's spool
WAV, never the bytes themselves. The shipper uploads pending segments in
order of sealing with a few workers; when the store fails, the segment goes
back to the head of the queue and the workers pause on a jittered backoff
(`SHIP_RETRIES`, capped so the store's return is noticed within seconds).

So an outage costs no memory and loses nothing: the audio waits in the spool
(this replica's own folder, `Settings.spool_dir`), bounded by the spool's
disk like the recording itself (`ZENHIRE_MIN_FREE_DISK_MB` keeps new
interviews off a full disk), and a pending segment is a few dozen bytes. A
session's folder outlives its pending segments: `flush` waits for them
before the archive assembles the recording and removes the folder.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from gateway.errors import ArtifactStoreUnavailable
from gateway.s2s.artifacts import ArtifactStore
from gateway.session.segments import SegmentName
from zenhire.backoff import Backoff
from zenhire.tasks import TaskGroup

log = logging.getLogger("zenhire.segments")

UPLOAD_WORKERS = 4
# Never gives up while the audio is on disk; `attempts`/`total_sec` are not consulted.
SHIP_RETRIES = Backoff(attempts=1, total_sec=0.0, base_sec=0.25, cap_sec=3.0)


@dataclass(frozen=True)
class PendingSegment:
    """A sealed segment: ``nbytes`` of stereo PCM16 at byte ``offset`` of ``source``."""

    session_id: str
    name: SegmentName
    source: Path
    offset: int
    nbytes: int

    @property
    def key(self) -> str:
        return self.name.key(self.session_id)


class SegmentSink(Protocol):
    def ship(self, segment: PendingSegment) -> None:
        """Take a sealed segment for upload; never blocks, never raises."""
        ...


class SegmentShipper:
    def __init__(
        self, store: ArtifactStore, retry: Backoff = SHIP_RETRIES, workers: int = UPLOAD_WORKERS
    ) -> None:
        self._store = store
        self._retry = retry
        self._workers = workers
        self._queue: deque[PendingSegment] = deque()
        self._queued = asyncio.Event()
        self._outstanding: dict[str, int] = {}
        self._drained: dict[str, asyncio.Event] = {}
        self._failures = 0
        self.uploaded = 0

    @property
    def pending(self) -> int:
        """Segments sealed but not yet in the store (queued or being uploaded)."""
        return sum(self._outstanding.values())

    def ship(self, segment: PendingSegment) -> None:
        self._queue.append(segment)
        sid = segment.session_id
        self._outstanding[sid] = self._outstanding.get(sid, 0) + 1
        self._queued.set()

    async def flush(self, session_id: str, timeout_sec: float) -> bool:
        """Wait until every segment of the session is stored; False if time ran out."""
        if session_id not in self._outstanding:
            return True
        drained = self._drained.setdefault(session_id, asyncio.Event())
        try:
            await asyncio.wait_for(drained.wait(), timeout_sec)
        except TimeoutError:
            return False
        return True

    async def run(self) -> None:
        async with TaskGroup() as group:
            for _ in range(self._workers):
                group.create_task(self._work())

    async def _work(self) -> None:
        while True:
            segment = await self._take()
            try:
                await self._upload(segment)
            except ArtifactStoreUnavailable:
                self._queue.appendleft(segment)
                self._failures += 1
                if self._failures == 1:
                    log.warning("the artifact store is unavailable; segments wait in the spool")
                await asyncio.sleep(self._retry.delay(self._failures))
                continue
            except OSError:
                # The spool folder is gone (the session was erased): nothing left to send.
                log.exception("a segment's audio could not be read", extra={"key": segment.key})
            else:
                if self._failures:
                    log.info("the artifact store is back", extra={"pending": self.pending - 1})
                self._failures = 0
                self.uploaded += 1
            self._done(segment)

    async def _take(self) -> PendingSegment:
        while not self._queue:
            self._queued.clear()
            await self._queued.wait()
        return self._queue.popleft()

    async def _upload(self, segment: PendingSegment) -> None:
        data = await asyncio.to_thread(_read, segment.source, segment.offset, segment.nbytes)
        await self._store.put_bytes(segment.key, data)

    def _done(self, segment: PendingSegment) -> None:
        sid = segment.session_id
        left = self._outstanding.get(sid, 0) - 1
        if left > 0:
            self._outstanding[sid] = left
            return
        self._outstanding.pop(sid, None)
        drained = self._drained.pop(sid, None)
        if drained is not None:
            drained.set()


def _read(path: Path, offset: int, nbytes: int) -> bytes:
    with path.open("rb") as handle:
        handle.seek(offset)
        data = handle.read(nbytes)
    if len(data) != nbytes:
        raise OSError(f"{path.name}: {len(data)} of {nbytes} bytes at {offset}")
    return data
