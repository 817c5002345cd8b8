"""A live interview: the unit of work that ties everything together.

    transport ──receive_audio()──┬──────────────────────────────▶ candidate_audio() ─▶ interviewer
                                 └─▶ inbox ──┐
                                             ├─ clock tick (every 20 ms) ─▶ recording (L, R)
    interviewer ──play()──▶ playout ─▶ speaker ─▶ transport
                                         └─▶ heard ─┘

Audio is relayed the moment it can be: a candidate frame goes to the
interviewer on arrival, and interviewer audio goes to the candidate as
soon as it is queued, then every 20 ms from there (`_speak`, anchored at
the start of each stretch of speech, never faster than real time, and only
while a candidate is connected to hear it). The clock (`gateway.session.clock`,
shared by every session) is the recording's time: each tick writes one
candidate frame from the inbox (silence if none came) and the interviewer
frame sent since the last tick, so the two channels stay aligned to
wall-clock time and a gap records as silence. While the candidate sends
nothing at all, the ticks also give the interviewer silence, so its idea
of elapsed audio keeps pace with the recording. The session implements
`Conversation` for its interviewer. It ends once (`end`), whoever asks first: the interviewer, the
candidate, the time budget, a candidate gone longer than the grace period,
an operator or a shutdown.

Once ended, a session whose candidate is still connected on a page that
shows a rating (``rating_wanted``) and whose ending the candidate can judge
(`RATED_ENDINGS`) offers a rating: the ``ended``
event carries ``rating_window_sec`` and the connection stays open until the
candidate rates or skips (`rate`), leaves, someone ends the session again
(an operator, a shutdown), or the window passes. Only then is the outcome
handed on, so the rating reaches the transcript and the terminal event.
The clock has stopped by then: the window adds nothing to the recording.
Every (re)attach is told the interview's final captions so far (`captions`).

Across replicas (`gateway.session.keeper`): the session's keeper renews
its lease and saves its checkpoint beside the other pumps. A session taken
over from a checkpoint starts its timeline at the takeover's offset
(``timeline_ms``). It ends here without being reported when it moves on:
fenced by a newer owner (`SESSION_MOVED`) or handed off by a draining
replica (`move`, `HANDED_OFF`); the page is then told to ``reconnect``.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from audio.frames import FRAME_BYTES, FRAME_MS, FRAME_SEC, SILENCE
from audio.level import meter
from gateway.candidate.refusals import Refusal
from gateway.interviewer import (
    CandidateFrame,
    Interviewer,
    InterviewerSwitch,
    Outcome,
    PersonaQuestion,
    Position,
    Turn,
)
from gateway.session.archive import GATEWAY_RESTART, RECORDING_FAILED
from gateway.session.captions import CaptionHistory
from gateway.session.clock import Clock
from gateway.session.events import (
    CandidateEvent,
    Caption,
    Ended,
    Error,
    Rated,
    Reconnect,
    State,
    Timer,
)
from gateway.session.identity import SessionIdentity
from gateway.session.inbox import CandidateInbox
from gateway.session.keeper import SESSION_MOVED, Keeper
from gateway.session.playout import Playout
from gateway.session.rating import Rating
from gateway.session.recording import Recording
from gateway.session.telemetry import NullMeter, SessionMeter, SessionTelemetry
from gateway.transports.transport import CloseCode, Transport
from zenhire.tasks import first_to_finish

log = logging.getLogger("zenhire.session")

# Frames the interviewer may fall behind before its oldest frames are dropped.
INTERVIEWER_LAG_MAX_FRAMES = 100
# Ticks without any candidate frame after which the ticks feed the interviewer
# silence (a gap, not the jitter of frames that come a little late).
GAP_TICKS = 3
# Interviewer frames sent but not yet recorded: one or two (the speaker and
# the clock run at the same pace, in different phases).
HEARD_MAX_FRAMES = 5
WATCH_INTERVAL_SEC = 0.25
TIMER_INTERVAL_MS = 1000
# The console's audio meters show the loudest frame of each channel over this many ticks.
LEVEL_INTERVAL_TICKS = 5
# Endings after which the candidate is asked to rate the interview: the ones where
# the interview ran its course (not a shutdown, an operator or a fault on our side).
RATED_ENDINGS = frozenset({"completed", "SESSION_TIMEOUT"})
HANDED_OFF = Outcome("failed", "GATEWAY_DRAINING", "The interview moves to another replica.")
# Outcomes of a session that goes on elsewhere: nothing is reported from here.
MOVED_ON = (HANDED_OFF, SESSION_MOVED)


class Phase(enum.Enum):
    LIVE = "live"
    ENDING = "ending"
    RATING = "rating"
    ENDED = "ended"


@dataclass(frozen=True)
class Limits:
    max_duration_sec: int
    reconnect_grace_sec: float
    rating_window_sec: int = 0


class LiveSession:
    def __init__(
        self,
        identity: SessionIdentity,
        interviewer: Interviewer,
        recording: Recording,
        limits: Limits,
        on_end: Callable[[LiveSession, Outcome], Awaitable[None]],
        meter: SessionMeter | None = None,
        clock: Clock | None = None,
        *,
        keeper: Keeper | None = None,
        timeline_ms: int = 0,
        position: Position | None = None,
    ) -> None:
        self.identity = identity
        self.session_id = identity.session_id
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
        self._clock = clock if clock is not None else Clock()
        self._inbox = CandidateInbox()
        self._quiet_ticks = 0
        self._for_interviewer: deque[CandidateFrame] = deque(maxlen=INTERVIEWER_LAG_MAX_FRAMES)
        self._frame_ready = asyncio.Event()
        self._playout = Playout()
        self._heard: deque[bytes] = deque(maxlen=HEARD_MAX_FRAMES)
        self._speaker: asyncio.TimerHandle | None = None
        self._next_spoken = 0.0
        self._ticks = timeline_ms // FRAME_MS
        self.timeline_start_ms = self._ticks * FRAME_MS
        self._keeper = keeper
        self._position = position or Position()
        self._ended = asyncio.Event()
        self._rating_over = asyncio.Event()
        self.rating: Rating | None = None
        self.rated = False  # rated or skipped (``rating`` None) within the window
        self.rating_wanted = False  # the page said it shows a rating at the end
        self.captions = CaptionHistory()
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
            superseded = Refusal.SUPERSEDED
            previous.offer_event(Error(superseded.code, superseded.message))
            previous.close(CloseCode.SESSION_CLOSED, "superseded by a newer connection")
        if self.transport_kind:
            self.reconnects += 1
        self._transport = transport
        self.transport_kind = transport.kind
        self._detached_since = None
        self._speak_soon()

    def detach(self, transport: Transport) -> None:
        if self._transport is transport:
            self._transport = None
            self._detached_since = time.monotonic()
            if self.phase is Phase.RATING:
                self._rating_over.set()

    @property
    def accepting(self) -> bool:
        """Whether a connection may still join: the interview is not over."""
        return self.phase is Phase.LIVE

    def rate(self, rating: Rating | None) -> bool:
        """Record the candidate's rating (None: skipped); False outside the rating window."""
        if self.phase is not Phase.RATING or self._rating_over.is_set():
            return False
        self.rating = rating
        self.rated = True
        self._rating_over.set()
        return True

    def receive_audio(self, pcm: bytes) -> None:
        if len(pcm) != FRAME_BYTES:
            raise ValueError("candidate frames must be exactly one 20 ms frame")
        self.frames_in += 1
        waiting = self._inbox.push(pcm, time.monotonic())
        self._quiet_ticks = 0
        self._hand_over(CandidateFrame(pcm, (self._ticks + waiting) * FRAME_MS))

    def end(self, outcome: Outcome) -> None:
        """Ask the session to end with ``outcome``; the first request wins."""
        if self.outcome is None:
            self.outcome = outcome
            self.phase = Phase.ENDING
            self._ended.set()
        elif self.phase is Phase.RATING:
            self._rating_over.set()

    async def wait_ended(self) -> None:
        await self._ended.wait()

    @property
    def connected(self) -> bool:
        """Whether a candidate transport is attached right now."""
        return self._transport is not None

    @property
    def elapsed_ms(self) -> int:
        return self._ticks * FRAME_MS

    @property
    def position(self) -> Position:
        return self._position

    @property
    def lease_token(self) -> int:
        """The fencing token this replica holds the interview with (0: no keeper)."""
        return 0 if self._keeper is None else self._keeper.lease.token

    def move(self) -> None:
        """Hand the interview to another replica: end here, checkpoint, tell the page."""
        self.end(HANDED_OFF)

    # -- Conversation ---------------------------------------------------------

    async def candidate_audio(self) -> AsyncIterator[CandidateFrame]:
        while True:
            while not self._for_interviewer:
                self._frame_ready.clear()
                await self._frame_ready.wait()
            yield self._for_interviewer.popleft()

    async def play(self, pcm: bytes) -> None:
        await self._playout.put(pcm)
        self._speak_soon()

    def stop_playback(self) -> int:
        return self._playout.stop()

    def mark_item(self) -> None:
        self._playout.mark_item()

    def played_ms(self) -> int:
        return self._playout.played_ms

    async def drain(self) -> None:
        self._playout.pad()
        self._speak_soon()
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
        elif isinstance(event, Caption):
            self.captions.note(event)
        if self._transport is not None:
            self._transport.offer_event(event)

    def add_turn(self, turn: Turn) -> None:
        self._recording.add_turn(turn)
        self._checkpoint_soon()

    def ask(self, question: PersonaQuestion, t_ms: int) -> None:
        self._recording.ask(question, t_ms)
        self._checkpoint_soon()

    def note_position(self, position: Position) -> None:
        self._position = position
        self._checkpoint_soon()

    def _checkpoint_soon(self) -> None:
        if self._keeper is not None:
            self._keeper.checkpoint_soon()

    def switch_interviewer(self, switch: InterviewerSwitch) -> None:
        self._recording.switch_interviewer(switch)

    # -- the unit of work -----------------------------------------------------

    async def run(self) -> None:
        """Hold the interview until it ends, then hand the outcome to ``on_end``."""
        # Ended before it ran (an interview adopted from a dead replica, to be closed):
        # nothing to converse, only to finish.
        if self.outcome is None:
            await self._hold()
        assert self.outcome is not None
        self.phase = Phase.RATING
        if self._speaker is not None:
            self._speaker.cancel()
            self._speaker = None
        self._meter.recorded(self._unmetered_bytes)
        self._unmetered_bytes = 0
        if self.outcome is HANDED_OFF and not await self._hand_off():
            self.outcome = GATEWAY_RESTART
        if self.outcome in MOVED_ON:
            # It goes on elsewhere: no rating window, the page reconnects at once.
            self.phase = Phase.ENDED
            if self._transport is not None:
                code = self.outcome.code or ""
                self._transport.offer_event(Reconnect(code))
                self._transport.close(CloseCode.TRY_AGAIN_LATER, code)
                self._transport = None
            await self._on_end(self, self.outcome)
            return
        await self._offer_rating(self.outcome)
        self.phase = Phase.ENDED
        if self._transport is not None:
            self._transport.close(CloseCode.NORMAL, "interview ended")
            self._transport = None
        await self._on_end(self, self.outcome)

    async def _hold(self) -> None:
        pumps = [self._clock.ticking(self._tick), self._converse(), self._watch()]
        if self._keeper is not None:
            pumps.append(self._keeper.run(self))
        try:
            await first_to_finish(*pumps, self._ended.wait())
        except* OSError:
            # The spool's disk is full or failing: the interview cannot be kept.
            log.exception("the recording failed")
            self.end(RECORDING_FAILED)
        except* Exception:
            log.exception("live session crashed")
            self.end(Outcome("failed", "INTERNAL_ERROR", "The interview stopped unexpectedly."))

    async def _offer_rating(self, outcome: Outcome) -> None:
        """Tell the page the interview ended; hold the rating window if it has one."""
        transport = self._transport
        if transport is None:
            return
        reason = outcome.code or outcome.status
        rated = self.rating_wanted and reason in RATED_ENDINGS
        window = self._limits.rating_window_sec if rated else 0
        transport.offer_event(Ended(reason, rating_window_sec=window))
        if window <= 0:
            return
        try:
            async with asyncio.timeout(window):
                await self._rating_over.wait()
        except TimeoutError:
            return
        if self._transport is not None and self.rated:
            self._transport.offer_event(Rated())

    async def _hand_off(self) -> bool:
        """The final checkpoint and the lease's release, before the page reconnects."""
        return self._keeper is not None and await self._keeper.hand_off(self)

    async def _converse(self) -> None:
        self.end(await self._interviewer.run(self))

    def _hand_over(self, frame: CandidateFrame) -> None:
        self._for_interviewer.append(frame)
        self._frame_ready.set()

    def _speak_soon(self) -> None:
        """Start sending queued interviewer audio, unless it is being sent already."""
        if self._speaker is None and self.phase is Phase.LIVE and self._playout.playing:
            loop = asyncio.get_running_loop()
            self._next_spoken = max(self._next_spoken, loop.time())
            self._speaker = loop.call_at(self._next_spoken, self._speak)

    def _speak(self) -> None:
        """Send one interviewer frame, and come back in 20 ms while there is more."""
        self._speaker = None
        transport = self._transport
        frame = self._playout.take_frame() if transport is not None else None
        if transport is None or frame is None:
            return
        transport.offer_audio(frame)
        self.frames_out += 1
        self._heard.append(frame)
        loop = asyncio.get_running_loop()
        # Anchored to the first frame of this stretch; after a stall, re-anchored to now.
        self._next_spoken = max(self._next_spoken + FRAME_SEC, loop.time() - FRAME_SEC)
        self._speaker = loop.call_at(self._next_spoken, self._speak)

    def _tick(self) -> None:
        taken = self._inbox.take()
        if taken is not None:
            candidate, arrived = taken
            self._meter.relayed(time.monotonic() - arrived)
        else:
            candidate = SILENCE
            self._quiet_ticks += 1
            if self._quiet_ticks == GAP_TICKS:
                for back in range(GAP_TICKS - 1, 0, -1):
                    self._hand_over(CandidateFrame(SILENCE, (self._ticks - back) * FRAME_MS))
            if self._quiet_ticks >= GAP_TICKS:
                self._hand_over(CandidateFrame(SILENCE, self._ticks * FRAME_MS))
        interviewer = self._heard.popleft() if self._heard else None
        self._recording.write(candidate, interviewer or SILENCE)
        self._unmetered_bytes += 2 * FRAME_BYTES
        self._meter_levels(candidate, interviewer)
        self._ticks += 1
        if self._ticks % (TIMER_INTERVAL_MS // FRAME_MS) == 0:
            self._meter.recorded(self._unmetered_bytes)
            self._unmetered_bytes = 0
            if self._transport is not None:
                self._transport.offer_event(Timer(self.elapsed_ms // 1000, self.remaining_sec()))

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
