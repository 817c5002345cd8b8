"""Candidate audio to the upstream: every 20 ms frame as ``input_audio_buffer.append``.

One pump runs for the whole interview. While no upstream session is
attached (connecting, handing over, reconnecting) frames wait in a bounded
buffer (`PENDING_MAX_MS`, oldest dropped past it) and are flushed, in order,
to the next session, so a handover loses nothing the candidate said.

The upstream counts time from the first audio it received (its
``audio_start_ms``/``audio_end_ms``); `timeline_ms` maps those to the
recording's timeline through the position of the first frame sent to it.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import AsyncIterator

from audio.frames import FRAME_MS
from gateway.interviewer import CandidateFrame
from gateway.interviewer.realtime.protocol import append_audio
from gateway.interviewer.realtime.upstream import Upstream, UpstreamLost

log = logging.getLogger("zenhire.interviewer.realtime")

PENDING_MAX_MS = 10_000


class Uplink:
    def __init__(self) -> None:
        self._upstream: Upstream | None = None
        self._pending: deque[CandidateFrame] = deque(maxlen=PENDING_MAX_MS // FRAME_MS)
        self._origin_ms: int | None = None
        self.frames_sent = 0

    def attach(self, upstream: Upstream) -> None:
        """Send frames to ``upstream`` from now on (its own timeline starts at its first frame)."""
        self._upstream = upstream
        self._origin_ms = None

    def detach(self) -> None:
        self._upstream = None

    def timeline_ms(self, upstream_ms: int, fallback_ms: int) -> int:
        """An upstream audio position on the recording's timeline."""
        return fallback_ms if self._origin_ms is None else self._origin_ms + upstream_ms

    async def run(self, frames: AsyncIterator[CandidateFrame]) -> None:
        async for frame in frames:
            self._pending.append(frame)
            upstream = self._upstream
            if upstream is None:
                continue
            try:
                while self._pending and self._upstream is upstream:
                    await self._send(upstream, self._pending[0])
                    self._pending.popleft()
            except UpstreamLost:
                # The relay reading this upstream sees the loss too and reconnects;
                # the frame stays pending for the next session.
                if self._upstream is upstream:
                    self._upstream = None

    async def _send(self, upstream: Upstream, frame: CandidateFrame) -> None:
        if self._origin_ms is None:
            self._origin_ms = frame.t_ms
        await upstream.send(append_audio(frame.pcm))
        self.frames_sent += 1
