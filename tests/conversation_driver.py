"""A working `Conversation` for interviewer tests: a scripted candidate on a paced clock.

`ConversationDriver` plays the live session's part. Its clock ticks every
``tick_sec`` of wall time (faster than real time if asked) and each tick does
what the session's tick does, in the same order: the candidate's next 20 ms
frame goes to the interviewer (``t_ms`` advancing 20 ms a tick) and one 20 ms
frame of queued interviewer audio is "heard" (the real `Playout`, so the
paced, bounded, barge-in-aware behaviour is the gateway's own).

The candidate is a `ScriptedCandidate`: clips of synthesized speech, each
cued to an interviewer prompt, spoken either once the prompt is over (an
answer) or once part of it was heard (a barge-in). Everything the interviewer
does is recorded with frame time and wall time for the tests to inspect.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from audio.frames import FRAME_MS, SILENCE, split_frames
from audio.level import rms_dbfs
from gateway.interviewer import (
    CandidateFrame,
    Interviewer,
    InterviewerSwitch,
    Outcome,
    PersonaQuestion,
    Position,
    Turn,
)
from gateway.session.events import CandidateEvent, Caption
from gateway.session.playout import Playout
from zenhire.tasks import TaskGroup

# 4x real time: an interview minute takes 15 s.
DEFAULT_TICK_SEC = 0.005
# Candidate frames the interviewer may fall behind by (as in the session).
LAG_MAX_FRAMES = 100
# Frames quieter than this are the silence around a synthesized clip.
SPEECH_FLOOR_DBFS = -50.0


@dataclass(frozen=True)
class Cue:
    """Say ``pcm`` in reaction to interviewer prompt number ``prompt`` (1 = greeting).

    With ``after_heard_ms`` the candidate barges in once that much of the
    prompt was played; otherwise they answer ``reply_after_ms`` after it ends.
    """

    prompt: int
    pcm: bytes
    after_heard_ms: int | None = None


@dataclass(frozen=True)
class Said:
    """A cue the candidate spoke: its clip started at ``start_ms``, speech at ``onset_ms``."""

    cue: Cue
    start_ms: int
    onset_ms: int


@dataclass(frozen=True)
class Sent:
    t_ms: int
    wall: float
    event: CandidateEvent


@dataclass(frozen=True)
class Queued:
    """A `play()` call: ``prompt`` is the interviewer caption count at the time."""

    t_ms: int
    wall: float
    prompt: int
    nbytes: int


@dataclass(frozen=True)
class Stopped:
    t_ms: int
    played_ms: int


class ScriptedCandidate:
    def __init__(self, cues: list[Cue], reply_after_ms: int = 400) -> None:
        self._cues = deque(cues)
        self._reply_after_ms = reply_after_ms
        self._speaking: deque[bytes] = deque()
        self.said: list[Said] = []

    def frame(self, driver: ConversationDriver) -> bytes:
        """The candidate's frame for this tick, given what they hear."""
        if not self._speaking and self._cues and self._cued(self._cues[0], driver):
            cue = self._cues.popleft()
            frames, tail = split_frames(cue.pcm)
            if tail:
                frames.append(tail + bytes(len(SILENCE) - len(tail)))
            self._speaking.extend(frames)
            loud = [i for i, f in enumerate(frames) if rms_dbfs(f) > SPEECH_FLOOR_DBFS]
            onset = driver.t_ms + FRAME_MS * (loud[0] if loud else 0)
            self.said.append(Said(cue, driver.t_ms, onset))
        return self._speaking.popleft() if self._speaking else SILENCE

    def _cued(self, cue: Cue, driver: ConversationDriver) -> bool:
        if cue.prompt != driver.prompts:
            return False
        if cue.after_heard_ms is not None:
            return driver.is_playing() and driver.played_ms() >= cue.after_heard_ms
        return driver.heard_prompt and driver.idle_ms >= self._reply_after_ms


@dataclass
class ConversationDriver:
    """Implements `gateway.interviewer.Conversation` (see the module docstring)."""

    candidate: ScriptedCandidate
    tick_sec: float = DEFAULT_TICK_SEC
    max_duration_sec: int = 3600
    t_ms: int = 0
    prompts: int = 0
    heard_prompt: bool = False
    idle_ms: int = 0
    sent: list[Sent] = field(default_factory=list)
    turns: list[Turn] = field(default_factory=list)
    asked: list[tuple[PersonaQuestion, int]] = field(default_factory=list)
    switches: list[InterviewerSwitch] = field(default_factory=list)
    positions: list[Position] = field(default_factory=list)
    heard: list[tuple[int, bytes]] = field(default_factory=list)
    queued: list[Queued] = field(default_factory=list)
    stops: list[Stopped] = field(default_factory=list)
    marks: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._playout = Playout()
        self._frames: deque[CandidateFrame] = deque(maxlen=LAG_MAX_FRAMES)
        self._frame_ready = asyncio.Event()

    async def run(self, interviewer: Interviewer) -> Outcome:
        """Run ``interviewer`` against the clock until it returns."""
        async with TaskGroup() as group:
            clock = group.create_task(self._clock())
            try:
                outcome = await interviewer.run(self)
            finally:
                clock.cancel()
        return outcome

    async def _clock(self) -> None:
        loop = asyncio.get_running_loop()
        next_tick = loop.time()
        while True:
            while next_tick <= loop.time():
                self._tick()
                next_tick += self.tick_sec
            await asyncio.sleep(next_tick - loop.time())

    def _tick(self) -> None:
        pcm = self.candidate.frame(self)
        frame = self._playout.take_frame()
        if frame is not None:
            self.heard.append((self.t_ms, frame))
            self.heard_prompt = True
            self.idle_ms = 0
        else:
            self.idle_ms += FRAME_MS
        self._frames.append(CandidateFrame(pcm, self.t_ms))
        self._frame_ready.set()
        self.t_ms += FRAME_MS

    # -- Conversation ---------------------------------------------------------

    async def candidate_audio(self) -> AsyncIterator[CandidateFrame]:
        while True:
            while not self._frames:
                self._frame_ready.clear()
                await self._frame_ready.wait()
            yield self._frames.popleft()

    async def play(self, pcm: bytes) -> None:
        self.queued.append(Queued(self.t_ms, time.monotonic(), self.prompts, len(pcm)))
        await self._playout.put(pcm)

    def stop_playback(self) -> int:
        played = self._playout.stop()
        self.stops.append(Stopped(self.t_ms, played))
        return played

    def mark_item(self) -> None:
        self.marks.append(self.t_ms)
        self._playout.mark_item()

    def played_ms(self) -> int:
        return self._playout.played_ms

    async def drain(self) -> None:
        await self._playout.drain()

    def is_playing(self) -> bool:
        return self._playout.playing

    def now_ms(self) -> int:
        return self.t_ms

    def remaining_sec(self) -> int:
        return max(0, self.max_duration_sec - self.t_ms // 1000)

    async def send(self, event: CandidateEvent) -> None:
        self.sent.append(Sent(self.t_ms, time.monotonic(), event))
        if isinstance(event, Caption) and event.speaker == "interviewer":
            self.prompts += 1
            self.heard_prompt = False

    def add_turn(self, turn: Turn) -> None:
        self.turns.append(turn)

    def ask(self, question: PersonaQuestion, t_ms: int) -> None:
        self.asked.append((question, t_ms))

    def switch_interviewer(self, switch: InterviewerSwitch) -> None:
        self.switches.append(switch)

    def note_position(self, position: Position) -> None:
        self.positions.append(position)

    # -- for assertions ---------------------------------------------------------

    def captions(self, speaker: str, final: bool | None = None) -> list[Caption]:
        return [
            s.event
            for s in self.sent
            if isinstance(s.event, Caption)
            and s.event.speaker == speaker
            and (final is None or s.event.final == final)
        ]
