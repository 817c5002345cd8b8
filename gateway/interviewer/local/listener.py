"""The frame loop: every candidate frame through VAD and turn-taking, in order.

`Listener.run` reads `Conversation.candidate_audio` and handles each frame
synchronously, without awaiting anything, so it keeps pace with the clock
whatever the rest of the interviewer is doing. Per frame it

- judges speech (Silero VAD when installed, else `audio.vad`) and advances
  the `TurnTracker`, which hears the turn's audio through the gateway's
  end-of-turn judge and reads the recognizer's partial words;
- on barge-in, pauses the playing prompt at once through its `Interruptible`
  (same frame), and later tells it whether to resume (a backchannel, a
  false interruption) or stay cut;
- drops a prompt that starts while the candidate holds the floor (they
  resumed their answer after the turn had ended, before the reply reached
  them): the reply is cut before it is heard and the interviewer listens on;
- feeds the open candidate turn to the `Transcriber` (with a short pre-roll,
  since the VAD recognises speech a few frames after it starts);
- queues what the interview script waits for: a finished turn (`Heard`,
  with its `ReplyTiming` begun), `Silence` past a deadline, or the end of
  the candidate's audio.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from itertools import count
from typing import Protocol

from audio.frames import FRAME_MS
from audio.vad import VadResult
from gateway.interviewer import CandidateFrame, Conversation
from gateway.interviewer.local.judge import TurnJudge
from gateway.interviewer.local.settings import LocalInterviewerSettings
from gateway.interviewer.local.timing import ReplyTiming, now
from gateway.interviewer.local.transcriber import Transcriber, Transcript
from gateway.interviewer.local.turntaking import (
    BargedIn,
    FalseInterruption,
    Floor,
    InterruptionConfirmed,
    Silence,
    TurnTracker,
    UtteranceEnded,
    UtteranceStarted,
)

# Audio kept from before the VAD's onset decision, for the recognizer.
PREROLL_MS = 500
# When each recent frame was handled, for `ReplyTiming`: enough to reach back
# from a turn's end to its silence onset (the model's patience, and more).
HANDLED_FRAMES = 256


class Detector(Protocol):
    """Voice activity on one stream's 20 ms frames (`audio.vad`, `audio.silero`)."""

    def process(self, pcm: bytes, room: bool = True) -> VadResult:
        """Judge a frame; ``room``: the candidate is not talking (the room's sound)."""
        ...


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
    """A finished candidate turn; ``transcript`` resolves once decoding catches up.

    ``truncated``: it ran past the answer limit; ``thinking``: it asked for time;
    ``timing``: the way to the reply so far, for the interview to complete.
    """

    turn_id: str
    start_ms: int
    end_ms: int
    truncated: bool
    transcript: asyncio.Future[Transcript]
    thinking: bool = False
    timing: ReplyTiming | None = None


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
        vad: Detector,
        judge: TurnJudge | None = None,
        language: str = "en",
    ) -> None:
        self._conversation = conversation
        self._settings = settings
        self._transcriber = transcriber
        self._vad = vad
        self._tracker = TurnTracker(
            settings, judge, transcriber.partial, language, transcriber.lag_ms
        )
        # Unbounded by type, bounded in practice: the script takes each turn
        # before the next can end (turns are at least end_of_turn_silence apart).
        self._events: asyncio.Queue[Event] = asyncio.Queue()
        # A barge-in is known ``interruption_speech_ms`` after its onset.
        preroll_frames = (PREROLL_MS + settings.interruption_speech_ms) // FRAME_MS + 1
        self._preroll: deque[CandidateFrame] = deque(maxlen=preroll_frames)
        self._prompt: Interruptible | None = None
        self._cut: Interruptible | None = None  # the prompt paused by a barge-in
        self._turn_id: str | None = None
        self._barge_turn = False  # the open turn was opened by a barge-in
        self._turn_numbers = count(1)
        self._handled: deque[tuple[int, float]] = deque(maxlen=HANDLED_FRAMES)

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
        try:
            async for frame in self._conversation.candidate_audio():
                self._on_frame(frame)
        finally:
            self._tracker.close()
        self._events.put_nowait(AudioEnded())

    def _on_frame(self, frame: CandidateFrame) -> None:
        conversation = self._conversation
        self._handled.append((frame.t_ms, now()))
        verdict = self._vad.process(frame.pcm, room=self._tracker.floor is Floor.QUIET)
        signal = self._tracker.step(
            frame.t_ms, verdict, conversation.is_playing(), conversation.played_ms(), frame.pcm
        )
        self._preroll.append(frame)
        match signal:
            case BargedIn(onset_ms=onset):
                self._cut = self._prompt
                if self._cut is not None:
                    self._cut.cut()
                if self._turn_id is None:
                    # Transcribed from the onset, for the backchannel's words; no
                    # partial caption until the interruption is as good as real.
                    self._open(onset, self._settings.false_interruption_ms + PREROLL_MS)
                    self._barge_turn = True
                    return
            case UtteranceStarted(start_ms=start):
                self._open(start)
                return
            case InterruptionConfirmed():
                self._resolve(resume=False)
                self._barge_turn = False
            case FalseInterruption():
                if self._barge_turn and self._turn_id is not None:
                    self._transcriber.discard()
                    self._turn_id = None
                self._barge_turn = False
                self._resolve(resume=True)
            case UtteranceEnded(start_ms=start, end_ms=end, truncated=truncated, thinking=thinking):
                assert self._turn_id is not None
                transcript = self._transcriber.close()
                timing = self._timing(self._turn_id, signal)
                self._events.put_nowait(
                    Heard(self._turn_id, start, end, truncated, transcript, thinking, timing)
                )
                self._turn_id = None
            case Silence():
                self._events.put_nowait(signal)
            case None:
                self._drop_unheard_prompt()
        if self._turn_id is not None:
            self._transcriber.feed(frame.pcm, speech=verdict.is_speech)

    def _timing(self, turn_id: str, ended: UtteranceEnded) -> ReplyTiming:
        decided = now()
        onset = next((at for t_ms, at in self._handled if t_ms >= ended.end_ms), decided)
        return ReplyTiming(
            turn_id,
            ended.ended_by,
            silence_onset=onset,
            judge_asked=ended.judge_asked,
            judge_answered=ended.judge_answered,
            decided=decided,
            judge_asks=ended.judge_asks,
            probability=ended.probability,
            cue=None if ended.cue is None else ended.cue.value,
            words_lag_ms=ended.words_lag_ms,
        )

    def _resolve(self, resume: bool) -> None:
        if self._cut is not None:
            self._cut.resolve(resume)
            self._cut = None

    def _drop_unheard_prompt(self) -> None:
        """A prompt that starts while the candidate has the floor is not heard at all."""
        prompt = self._prompt
        if (
            prompt is None
            or prompt is self._cut
            or self._tracker.floor is not Floor.SPEAKING
            or not self._conversation.is_playing()
            or self._conversation.played_ms() >= self._settings.echo_warmup_ms
        ):
            return
        prompt.cut()
        prompt.resolve(resume=False)
        self._prompt = None

    def _open(self, start_ms: int, captions_after_ms: int = 0) -> None:
        self._turn_id = f"c{next(self._turn_numbers)}"
        self._transcriber.open(self._turn_id, captions_after_ms)
        # The recognizer adapts to the lead-in before the words (its running
        # normalisation), so it gets the whole pre-roll, not just the speech.
        for frame in self._preroll:
            if frame.t_ms >= start_ms - PREROLL_MS:
                self._transcriber.feed(frame.pcm)
