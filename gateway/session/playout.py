"""The interviewer's playout queue: audio waiting to be heard.

The interviewer queues audio of any length; the session takes one 20 ms
frame at a time as it sends it to the candidate, in real time, and records
exactly what it sent. The queue
is bounded (`MAX_QUEUED_MS`): a producer that runs ahead waits for room.
Barge-in drops everything queued at once.
"""

from __future__ import annotations

import asyncio

from audio.frames import FRAME_BYTES, FRAME_MS, SAMPLE_BYTES

MAX_QUEUED_MS = 10_000
MAX_QUEUED_BYTES = MAX_QUEUED_MS // FRAME_MS * FRAME_BYTES


class Playout:
    def __init__(self) -> None:
        self._queued = bytearray()
        self._played_ms = 0
        # Events, not a Condition: the clock's tick wakes waiters synchronously.
        self._room = asyncio.Event()
        self._empty = asyncio.Event()
        self._empty.set()

    async def put(self, pcm: bytes) -> None:
        """Queue ``pcm`` behind what is queued, waiting while the queue is full."""
        if len(pcm) % SAMPLE_BYTES:
            raise ValueError("PCM16 audio must hold whole samples")
        view = memoryview(pcm)
        while view:
            while len(self._queued) >= MAX_QUEUED_BYTES:
                self._room.clear()
                await self._room.wait()
            room = MAX_QUEUED_BYTES - len(self._queued)
            self._queued += view[:room]
            view = view[room:]
            self._empty.clear()

    def take_frame(self) -> bytes | None:
        """The next whole frame to play, or None when less than a frame is queued."""
        if len(self._queued) < FRAME_BYTES:
            return None
        frame = bytes(self._queued[:FRAME_BYTES])
        del self._queued[:FRAME_BYTES]
        self._played_ms += FRAME_MS
        self._room.set()
        if not self._queued:
            self._empty.set()
        return frame

    def stop(self) -> int:
        """Drop everything queued; return the ms played of the current item."""
        self._queued.clear()
        self._room.set()
        self._empty.set()
        return self._played_ms

    def mark_item(self) -> None:
        self._played_ms = 0

    @property
    def played_ms(self) -> int:
        return self._played_ms

    @property
    def playing(self) -> bool:
        return len(self._queued) >= FRAME_BYTES

    def pad(self) -> None:
        """Pad a trailing partial frame with silence, so that it can be played."""
        if len(self._queued) % FRAME_BYTES:
            self._queued += bytes(FRAME_BYTES - len(self._queued) % FRAME_BYTES)

    async def drain(self) -> None:
        """Pad a trailing partial frame with silence, then wait until all is played."""
        self.pad()
        while self._queued:
            self._empty.clear()
            await self._empty.wait()
