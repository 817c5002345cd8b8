"""A live interview: the unit of work that ties everything together.

    transport ──receive_audio()──▶ inbox ─┐
                                          ├─ clock tick (every 20 ms) ─▶ recording (L, R)
    interviewer ──play()──▶ playout ──────┘            │
         ▲                                             ├─▶ transport (interviewer frame)
         └──────── candidate_audio() ◀─────────────────┘

The clock is the session's single source of time: each tick takes one
candidate frame (silence if none arrived) and one interviewer frame (only
while a candidate is connected to hear it) and writes both to the
recording, so the two channels stay aligned to wall-clock time and a gap
records as silence. The session implements `Conversation` for its
interviewer. It ends once (`end`), whoever asks first: the interviewer, the
candidate, the time budget, a candidate gone longer than the grace period,
an operator or a shutdown.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from audio.frames import FRAME_BYTES, FRAME_MS, SILENCE
from audio.level import meter
from gateway.events import CandidateEvent, Ended, Error, State, Timer
from gateway.interviewer import CandidateFrame, Interviewer, Outcome, Turn
from gateway.playout import Playout
from gateway.recording import Recording
from gateway.telemetry import NullMeter, SessionMeter, SessionTelemetry

log = logging.getLogger("zenhire.session")

TICK_SEC = FRAME_MS / 1000
# Candidate frames waiting for the next tick. Arrivals beyond this bound push
# out the oldest (latency stays bounded when a network burst delivers late frames).
INBOX_MAX_FRAMES = 10
# Ticks the interviewer may fall behind before its oldest frames are dropped.
INTERVIEWER_LAG_MAX_FRAMES = 100
WATCH_INTERVAL_SEC = 0.25
TIMER_INTERVAL_MS = 1000
# The console's audio meters show the loudest frame of each channel over this many ticks.
LEVEL_INTERVAL_TICKS = 5


class Phase(enum.Enum):
    LIVE = "live"
    ENDING = "ending"
    ENDED = "ended"


class Transport(Protocol):
    """One candidate connection, as a session sees it. Offers never block."""

    kind: str

    def offer_audio(self, frame: bytes) -> None: ...

    def offer_event(self, event: CandidateEvent) -> None: ...

    def close(self, code: int, reason: str) -> None: ...


@dataclass(frozen=True)
class Limits:
    max_duration_sec: int
    reconnect_grace_sec: float


class _Over(Exception):
    """Raised inside the session's task group to stop its siblings."""


class LiveSession:
    def __init__(
        self,
        session_id: str,
        interviewer: Interviewer,
        recording: Recording,
        limits: Limits,
        on_end: Callable[[LiveSession, Outcome], Awaitable[None]],
        meter: SessionMeter | None = None,
    ) -> None:
        self.session_id = session_id
        self.phase = Phase.LIVE
        self.started_at = time.time()
        self.outcome: Outcome | None = None
        self.reconnects = 0
        self.transport_kind = ""
        self._interviewer = interviewer
        self._recording = recording
        self._limits = limits
        self._on_end = on_end
        self._transport: Transport | None = None
        self._detached_since: float | None = time.monotonic()
        # Each candidate frame with its arrival time (monotonic), for the relay latency.
        self._inbox: deque[tuple[bytes, float]] = deque(maxlen=INBOX_MAX_FRAMES)
        self._for_interviewer: deque[CandidateFrame] = deque(maxlen=INTERVIEWER_LAG_MAX_FRAMES)
        self._frame_ready = asyncio.Event()
        self._playout = Playout()
        self._ticks = 0
        self._ended = asyncio.Event()
        self.frames_in = 0
        self.frames_out = 0
        self.telemetry = SessionTelemetry()
        self._meter = meter or NullMeter()
        self._unmetered_bytes = 0
        self._peaks = [0.0, 0.0]  # candidate, interviewer: loudest since the last publication

    # -- transport side -------------------------------------------------------

    def attach(self, transport: Transport) -> None:
        """Connect a candidate transport, replacing (and closing) any older one."""
        previous = self._transport
        if previous is not None and previous is not transport:
            previous.offer_event(
                Error("SUPERSEDED", "The interview continues in another window or tab.")
            )
            previous.close(4409, "superseded by a newer connection")
        if self.transport_kind:
            self.reconnects += 1
        self._transport = transport
        self.transport_kind = transport.kind
        self._detached_since = None

    def detach(self, transport: Transport) -> None:
        if self._transport is transport:
            self._transport = None
            self._detached_since = time.monotonic()

    def receive_audio(self, pcm: bytes) -> None:
        if len(pcm) != FRAME_BYTES:
            raise ValueError("candidate frames must be exactly one 20 ms frame")
        self.frames_in += 1
        self._inbox.append((pcm, time.monotonic()))

    def end(self, outcome: Outcome) -> None:
        """Ask the session to end with ``outcome``; the first request wins."""
        if self.outcome is None:
            self.outcome = outcome
            self.phase = Phase.ENDING
            self._ended.set()

    async def wait_ended(self) -> None:
        await self._ended.wait()

    @property
    def connected(self) -> bool:
        """Whether a candidate transport is attached right now."""
        return self._transport is not None

    @property
    def elapsed_ms(self) -> int:
        return self._ticks * FRAME_MS

    # -- Conversation ---------------------------------------------------------

    async def candidate_audio(self) -> AsyncIterator[CandidateFrame]:
        while True:
            while not self._for_interviewer:
                self._frame_ready.clear()
                await self._frame_ready.wait()
            yield self._for_interviewer.popleft()

    async def play(self, pcm: bytes) -> None:
        await self._playout.put(pcm)

    def stop_playback(self) -> int:
        return self._playout.stop()

    def mark_item(self) -> None:
        self._playout.mark_item()

    def played_ms(self) -> int:
        return self._playout.played_ms

    async def drain(self) -> None:
        await self._playout.drain()

    def is_playing(self) -> bool:
        return self._playout.playing

    def now_ms(self) -> int:
        return self.elapsed_ms

    def remaining_sec(self) -> int:
        return max(0, self._limits.max_duration_sec - self.elapsed_ms // 1000)

    async def send(self, event: CandidateEvent) -> None:
        if isinstance(event, State):
            self.telemetry.state = str(event.state)
        if self._transport is not None:
            self._transport.offer_event(event)

    def add_turn(self, turn: Turn) -> None:
        self._recording.add_turn(turn)

    # -- the unit of work -----------------------------------------------------

    async def run(self) -> None:
        """Hold the interview until it ends, then hand the outcome to ``on_end``."""
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._clock())
                group.create_task(self._converse())
                group.create_task(self._watch())
                group.create_task(self._stop_when_ended())
        except* _Over:
            pass
        except* Exception:
            log.exception("live session crashed")
            self.end(Outcome("failed", "INTERNAL_ERROR", "The interview stopped unexpectedly."))
        assert self.outcome is not None
        self.phase = Phase.ENDED
        self._meter.recorded(self._unmetered_bytes)
        self._unmetered_bytes = 0
        if self._transport is not None:
            self._transport.offer_event(Ended(self.outcome.code or self.outcome.status))
            self._transport.close(1000, "interview ended")
            self._transport = None
        await self._on_end(self, self.outcome)

    async def _stop_when_ended(self) -> None:
        await self._ended.wait()
        raise _Over

    async def _converse(self) -> None:
        self.end(await self._interviewer.run(self))

    async def _clock(self) -> None:
        loop = asyncio.get_running_loop()
        next_tick = loop.time()
        while True:
            # Catch up on every tick that is due, so an event-loop stall delays
            # audio but never shortens the recording's timeline.
            while next_tick <= loop.time():
                self._tick()
                next_tick += TICK_SEC
            await asyncio.sleep(next_tick - loop.time())

    def _tick(self) -> None:
        if self._inbox:
            candidate, arrived = self._inbox.popleft()
            self._meter.relayed(time.monotonic() - arrived)
        else:
            candidate = SILENCE
        transport = self._transport
        interviewer = self._playout.take_frame() if transport is not None else None
        self._recording.write(candidate, interviewer or SILENCE)
        self._unmetered_bytes += 2 * FRAME_BYTES
        self._meter_levels(candidate, interviewer)
        if interviewer is not None and transport is not None:
            transport.offer_audio(interviewer)
            self.frames_out += 1
        self._for_interviewer.append(CandidateFrame(candidate, self._ticks * FRAME_MS))
        self._frame_ready.set()
        self._ticks += 1
        if self._ticks % (TIMER_INTERVAL_MS // FRAME_MS) == 0:
            self._meter.recorded(self._unmetered_bytes)
            self._unmetered_bytes = 0
            if transport is not None:
                transport.offer_event(Timer(self.elapsed_ms // 1000, self.remaining_sec()))

    def _meter_levels(self, candidate: bytes, interviewer: bytes | None) -> None:
        if candidate is not SILENCE:
            self._peaks[0] = max(self._peaks[0], meter(candidate))
        if interviewer is not None:
            self._peaks[1] = max(self._peaks[1], meter(interviewer))
        if self._ticks % LEVEL_INTERVAL_TICKS == 0:
            self.telemetry.input_level = round(self._peaks[0], 3)
            self.telemetry.output_level = round(self._peaks[1], 3)
            self._peaks = [0.0, 0.0]

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(WATCH_INTERVAL_SEC)
            if self.elapsed_ms >= self._limits.max_duration_sec * 1000:
                self.end(
                    Outcome(
                        "failed", "SESSION_TIMEOUT", "The interview reached its maximum duration."
                    )
                )
            detached = self._detached_since
            if (
                detached is not None
                and time.monotonic() - detached > self._limits.reconnect_grace_sec
            ):
                self.end(Outcome("failed", "CANDIDATE_LEFT", "The candidate did not come back."))
