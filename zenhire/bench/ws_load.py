"""Simulated candidates on the WebSocket transport: marked speech out, marks in.

Each candidate sends its hello, waits for ``live``, then sends a 20 ms
frame every 20 ms (its own phase, as real candidates are not in step),
each marked with its number and index and time-stamped just before the
send. It reads the mark of every interviewer frame and time-stamps it; it
decodes nothing and parses only text events.
"""

from __future__ import annotations

import asyncio
import json
import random
import time

import websockets
from websockets.asyncio.client import ClientConnection

from audio.frames import FRAME_SEC
from zenhire.bench.markers import CANDIDATE_MAGIC, INTERVIEWER_MAGIC, mark, read_mark
from zenhire.bench.stats import CandidateStamps
from zenhire.tasks import TaskGroup

LIVE_TIMEOUT_SEC = 30.0
# Frames a stalled sender may send back to back to catch up (the gateway allows 100).
MAX_CATCH_UP_SEC = 0.5


class WebSocketCandidate:
    def __init__(
        self, url: str, ticket: str | None, stamps: CandidateStamps, frames: list[bytes]
    ) -> None:
        self.url = url
        self.ticket = ticket
        self.stamps = stamps
        self._frames = frames
        self._live = asyncio.Event()
        self.ended = False

    async def run(self, stop: asyncio.Event) -> None:
        """Connect, stream until ``stop`` is set, then end the interview."""
        async with websockets.connect(
            self.url, max_size=1 << 20, max_queue=None, compression=None
        ) as socket:
            if self.ticket is not None:
                await socket.send(json.dumps({"type": "hello", "ticket": self.ticket}))
            else:
                self._live.set()  # a bare echo has no protocol
            async with TaskGroup() as group:
                reader = group.create_task(self._read(socket))
                async with asyncio.timeout(LIVE_TIMEOUT_SEC):
                    await self._live.wait()
                self.stamps.live_at = time.monotonic()
                await self._stream(socket, stop)
                if self.ticket is not None:
                    await socket.send(json.dumps({"type": "end"}))
                reader.cancel()

    async def wait_live(self) -> None:
        await self._live.wait()

    async def _stream(self, socket: ClientConnection, stop: asyncio.Event) -> None:
        frames, stamps, number = self._frames, self.stamps, self.stamps.number
        await asyncio.sleep(random.uniform(0, FRAME_SEC))
        started = time.monotonic()
        index = 0
        while not stop.is_set() and index < stamps.max_frames:
            frame = mark(frames[index % len(frames)], CANDIDATE_MAGIC, number, index)
            stamps.sent[index] = time.monotonic()
            await socket.send(frame)
            index += 1
            late = time.monotonic() - (started + index * FRAME_SEC)
            if late > MAX_CATCH_UP_SEC:
                # This process stalled (a loaded machine): go on from now, as a page
                # whose microphone thread stalled does, rather than send the backlog in
                # one burst that the gateway rightly closes as a flood.
                started += late
            await asyncio.sleep(max(0.0, started + index * FRAME_SEC - time.monotonic()))

    async def _read(self, socket: ClientConnection) -> None:
        stamps = self.stamps
        heard, arrivals = stamps.heard, stamps.arrivals
        try:
            async for message in socket:
                now = time.monotonic()
                if isinstance(message, bytes):
                    arrivals.append(now)
                    found = read_mark(message)
                    if found is None:
                        continue
                    if found.magic == INTERVIEWER_MAGIC and found.index < len(heard):
                        heard[found.index] = now
                    elif found.magic == CANDIDATE_MAGIC and found.index < len(heard):
                        heard[found.index] = now  # an echo
                    continue
                kind = json.loads(message).get("type")
                if kind == "live":
                    self._live.set()
                elif kind == "ended":
                    self.ended = True
        except websockets.ConnectionClosed:
            pass
