"""The frame loop: every candidate frame through VAD and turn-taking, in order.

`Listener.run` reads `Conversation.candidate_audio` and handles each frame
synchronously, without awaiting anything, so it keeps pace with the clock
whatever the rest of the interviewer is doing. Per frame it

- judges speech (`audio.vad`) and advances the `TurnTracker`;
- on barge-in, stops the playing prompt at once through its `Interruptible`
  (same frame, so the cut lands within the VAD's onset of speech), and
  later tells it whether to resume (false interruption) or stay cut;
- feeds the open candidate turn to the `Transcriber` (with a short pre-roll,
  since the VAD recognises speech a few frames after it starts);
- queues what the interview script waits for: a finished turn (`Heard`),
  `Silence` past a deadline, or the end of the candidate's audio.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from itertools import count
from typing import Protocol

from audio.frames import FRAME_MS
from audio.vad import VoiceActivityDetector
from gateway.interviewer import CandidateFrame, Conversation
from gateway.interviewer.local.settings import LocalInterviewerSettings
from gateway.interviewer.local.transcriber import Transcriber, Transcript
from gateway.interviewer.local.turntaking import (
    BargedIn,
    FalseInterruption,
    InterruptionConfirmed,
    Silence,
    TurnTracker,
    UtteranceEnded,
    UtteranceStarted,
)

# Audio kept from before the VAD's onset decision, for the recognizer.
PREROLL_MS = 500
PREROLL_FRAMES = PREROLL_MS // FRAME_MS


class Interruptible(Protocol):
    """A prompt being played, as the frame loop can act on it."""

    def cut(self) -> None:
        """Stop the prompt's audio now. Must not await."""
        ...

    def resolve(self, resume: bool) -> None:
        """After a cut: ``resume`` (false interruption) or stay cut."""
        ...


@dataclass(frozen=True)
class Heard:
    """A finished candidate turn; ``transcript`` resolves once decoding catches up."""

    turn_id: str
    start_ms: int
    end_ms: int
    truncated: bool
    transcript: asyncio.Future[Transcript]


@dataclass(frozen=True)
class AudioEnded:
    """The candidate's audio stream ended."""


Event = Heard | Silence | AudioEnded


class Listener:
    def __init__(
        self,
        conversation: Conversation,
        settings: LocalInterviewerSettings,
        transcriber: Transcriber,
    ) -> None:
        self._conversation = conversation
        self._transcriber = transcriber
        self._vad = VoiceActivityDetector()
        self._tracker = TurnTracker(settings)
        # Unbounded by type, bounded in practice: the script takes each turn
        # before the next can end (turns are at least end_of_turn_silence apart).
        self._events: asyncio.Queue[Event] = asyncio.Queue()
        self._preroll: deque[CandidateFrame] = deque(maxlen=PREROLL_FRAMES)
        self._prompt: Interruptible | None = None
        self._turn_id: str | None = None
        self._onset_ms = 0
        self._turn_numbers = count(1)

    def watch(self, prompt: Interruptible | None) -> None:
        """Let candidate speech interrupt ``prompt`` (None: nothing is playing)."""
        self._prompt = prompt

    def limit_answers(self, max_answer_ms: int | None) -> None:
        """Bound each candidate turn from now on (None: the settings' ``max_answer_ms``)."""
        self._tracker.limit_answers(max_answer_ms)

    async def next(self, deadline_ms: int | None) -> Event:
        """The next finished turn, or `Silence` if the candidate stays quiet past
        ``deadline_ms`` (frame time; None waits for a turn however long)."""
        self._tracker.expect_by(deadline_ms)
        try:
            return await self._events.get()
        finally:
            self._tracker.expect_by(None)

    async def run(self) -> None:
        """Handle every candidate frame until the stream ends."""
        async for frame in self._conversation.candidate_audio():
            self._on_frame(frame)
        self._events.put_nowait(AudioEnded())

    def _on_frame(self, frame: CandidateFrame) -> None:
        conversation = self._conversation
        verdict = self._vad.process(frame.pcm)
        signal = self._tracker.step(
            frame.t_ms, verdict, conversation.is_playing(), conversation.played_ms()
        )
        self._preroll.append(frame)
        match signal:
            case BargedIn(onset_ms=onset):
                if self._prompt is not None:
                    self._prompt.cut()
                if self._turn_id is None:
                    # Transcribe only once the interruption is confirmed: a
                    # false one must not flash a caption. The pre-roll keeps
                    # the audio meanwhile (confirmation takes less than it holds).
                    self._onset_ms = onset
                    return
            case UtteranceStarted(start_ms=start):
                self._open(start)
                return
            case InterruptionConfirmed():
                if self._prompt is not None:
                    self._prompt.resolve(resume=False)
                if self._turn_id is None:
                    self._open(self._onset_ms)
                    return
            case FalseInterruption():
                if self._turn_id is not None:
                    self._transcriber.discard()
                    self._turn_id = None
                if self._prompt is not None:
                    self._prompt.resolve(resume=True)
            case UtteranceEnded(start_ms=start, end_ms=end, truncated=truncated):
                assert self._turn_id is not None
                transcript = self._transcriber.close()
                self._events.put_nowait(Heard(self._turn_id, start, end, truncated, transcript))
                self._turn_id = None
            case Silence():
                self._events.put_nowait(signal)
            case None:
                pass
        if self._turn_id is not None:
            self._transcriber.feed(frame.pcm)

    def _open(self, start_ms: int) -> None:
        self._turn_id = f"c{next(self._turn_numbers)}"
        self._transcriber.open(self._turn_id)
        # The recognizer adapts to the lead-in before the words (its running
        # normalisation), so it gets the whole pre-roll, not just the speech.
        for frame in self._preroll:
            if frame.t_ms >= start_ms - PREROLL_MS:
                self._transcriber.feed(frame.pcm)
