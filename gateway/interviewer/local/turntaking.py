"""Who has the floor: the candidate's turns, barge-in and silences, frame by frame.

`TurnTracker` is pure: it sees one frame's VAD verdict, the frame's time and
whether interviewer audio is playing, and answers with at most one `Signal`.
All its times are frame times (``t_ms`` on the recording's timeline), so the
same frames always give the same turns.

    QUIET ──speech, nothing playing──▶ SPEAKING ──silence ≥ end_of_turn──▶ QUIET
      │                                  │  └──longer than max_answer──▶ HOLD ──silence──▶ QUIET
      └──speech over a prompt, past ─▶ BARGED ──burst ≥ false_interruption──▶ SPEAKING
         the echo warm-up                  └──silence after a short burst ──▶ QUIET (resume)

Speech that starts while a prompt is in its echo warm-up (or while barge-in
is off) does not interrupt; it counts toward barge-in only from the first
speech frame after the warm-up.

**End of turn.** Without a `TurnJudge`, a turn ends after
``end_of_turn_silence_ms`` of silence. With one (Smart Turn, see
`ModelJudge`), each pause is judged once: after ``end_of_turn_check_ms`` of
silence the judge starts scoring the turn's audio up to that frame, and the
tracker takes the verdict ``end_of_turn_budget_ms`` later, at that frame
time, waiting for it there if it is late. Complete ends the turn (its end is
the last speech frame); incomplete keeps listening until new speech (a new
pause, a new question to the judge) or ``end_of_turn_patience_ms`` of
silence. The same pause is not asked again: the model scores the same audio
the same way, and longer trailing silence only pushes its answer towards
"complete" whatever was said. Because the verdict lands on a fixed frame,
the same frames give the same turns however fast they arrive.
"""

from __future__ import annotations

import enum
import logging
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from audio.endofturn import EndOfTurnModel
from audio.frames import FRAME_MS
from audio.models import SMART_TURN_FILE, ModelError, installed
from audio.vad import VadResult
from gateway.interviewer.local.settings import LocalInterviewerSettings

log = logging.getLogger("zenhire.interviewer")

# Speech frames past the warm-up before a barge-in (the VAD's own onset time).
BARGE_IN_ONSET_FRAMES = 3
# Audio before a turn's first speech frame that the judge hears with it.
JUDGE_LEAD_IN_MS = 500
# The judge hears at most this much of a turn (Smart Turn's window), so the
# tracker keeps this much audio, plus the lead-in.
JUDGE_WINDOW_MS = 8_000
JUDGE_RING_FRAMES = (JUDGE_WINDOW_MS + JUDGE_LEAD_IN_MS) // FRAME_MS


class TurnJudge(Protocol):
    """Scores a turn's audio with the probability that it is finished."""

    def submit(self, pcm: bytes) -> Future[float]:
        """Start scoring ``pcm`` (24 kHz PCM16, the turn so far). Must not block."""
        ...


class ModelJudge:
    """Smart Turn on one worker thread, shared by every interview of a gateway.

    onnxruntime releases the GIL while the model runs, so the event loop keeps
    going meanwhile. ``close`` is idempotent and waits for a running call.
    """

    def __init__(self, model: EndOfTurnModel, workers: int = 1) -> None:
        self.model = model
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="end-of-turn")

    @classmethod
    def installed(cls, path: Path | None = None) -> ModelJudge | None:
        """The judge on the model at ``path`` (default: the installed file), or None
        (logged) when there is no model, so turns end on silence alone."""
        path = path if path is not None else installed(SMART_TURN_FILE)
        if path is None or not path.is_file():
            log.warning("no end-of-turn model installed (scripts/install): turns end on silence")
            return None
        try:
            return cls(EndOfTurnModel(path))
        except ModelError:
            log.warning("end-of-turn model unusable: turns end on silence", exc_info=True)
            return None

    def submit(self, pcm: bytes) -> Future[float]:
        return self._executor.submit(self.model.probability, pcm)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


class Floor(enum.Enum):
    QUIET = "quiet"
    SPEAKING = "speaking"
    BARGED = "barged"
    HOLD = "hold"


@dataclass(frozen=True)
class UtteranceStarted:
    """The candidate started a turn at ``start_ms`` (an earlier frame's time)."""

    start_ms: int


@dataclass(frozen=True)
class BargedIn:
    """The candidate started talking over a prompt at ``onset_ms``: stop it now."""

    onset_ms: int


@dataclass(frozen=True)
class InterruptionConfirmed:
    """The barge-in is real speech; the interrupted prompt stays cut."""


@dataclass(frozen=True)
class FalseInterruption:
    """The barge-in was a short burst followed by silence; resume the prompt."""


@dataclass(frozen=True)
class UtteranceEnded:
    """The turn from ``start_ms`` ended at ``end_ms`` (``truncated``: at max length)."""

    start_ms: int
    end_ms: int
    truncated: bool


@dataclass(frozen=True)
class Silence:
    """The deadline passed with the candidate quiet."""

    t_ms: int


Signal = (
    UtteranceStarted
    | BargedIn
    | InterruptionConfirmed
    | FalseInterruption
    | UtteranceEnded
    | Silence
)


@dataclass(frozen=True)
class _Question:
    """The judge was asked about the pause after ``last_speech_ms``; the answer is due."""

    last_speech_ms: int
    due_ms: int
    verdict: Future[float]


class TurnTracker:
    """One candidate stream's floor; ``judge`` (optional) decides ends of turn."""

    def __init__(self, settings: LocalInterviewerSettings, judge: TurnJudge | None = None) -> None:
        self._settings = settings
        self._max_answer_ms = settings.max_answer_ms
        self._judge = judge if settings.end_of_turn_model else None
        self._audio: deque[tuple[int, bytes]] = deque(maxlen=JUDGE_RING_FRAMES)
        self._question: _Question | None = None
        self._judged_ms: int | None = None  # the pause whose verdict was "not finished"
        self.floor = Floor.QUIET
        self._deadline_ms: int | None = None
        self._episode_start: int | None = None  # first speech frame of this VAD episode
        self._eligible_start: int | None = None  # first speech frame past the warm-up
        self._eligible_frames = 0
        self._start_ms = 0
        self._burst_start_ms = 0
        self._last_speech_ms = 0

    def limit_answers(self, max_answer_ms: int | None) -> None:
        """Cut turns off after ``max_answer_ms`` from now on (None: the settings' limit)."""
        self._max_answer_ms = (
            self._settings.max_answer_ms if max_answer_ms is None else max_answer_ms
        )

    def expect_by(self, deadline_ms: int | None) -> None:
        """Signal `Silence` at the first quiet frame at or after ``deadline_ms``."""
        self._deadline_ms = deadline_ms

    def step(
        self, t_ms: int, vad: VadResult, playing: bool, played_ms: int, pcm: bytes | None = None
    ) -> Signal | None:
        """Advance by the frame at ``t_ms``; ``played_ms`` is what was heard of the prompt.

        ``pcm`` is the frame's audio, for the judge; without it turns end on silence.
        """
        if pcm is not None:
            self._audio.append((t_ms, pcm))
        self._track_episode(t_ms, vad, playing, played_ms)
        if vad.is_speech and self.floor in (Floor.SPEAKING, Floor.BARGED):
            self._last_speech_ms = t_ms
        match self.floor:
            case Floor.QUIET:
                return self._quiet(t_ms, vad, playing)
            case Floor.SPEAKING:
                return self._speaking(t_ms, vad, playing)
            case Floor.BARGED:
                return self._barged(vad)
            case Floor.HOLD:
                if not vad.speaking:
                    self.floor = Floor.QUIET
                return None

    def _track_episode(self, t_ms: int, vad: VadResult, playing: bool, played_ms: int) -> None:
        if not vad.speaking and not vad.is_speech:
            self._episode_start = self._eligible_start = None
            self._eligible_frames = 0
            return
        if vad.is_speech and self._episode_start is None:
            self._episode_start = t_ms
        warm = playing and played_ms >= self._settings.echo_warmup_ms
        if vad.is_speech and warm and self._settings.barge_in:
            self._eligible_frames += 1
            if self._eligible_start is None:
                self._eligible_start = t_ms

    def _quiet(self, t_ms: int, vad: VadResult, playing: bool) -> Signal | None:
        if not vad.speaking:
            if self._deadline_ms is not None and t_ms >= self._deadline_ms:
                self._deadline_ms = None
                return Silence(t_ms)
            return None
        if playing:
            return self._maybe_barge_in(t_ms)
        self._deadline_ms = None
        self._open(t_ms if self._episode_start is None else self._episode_start, t_ms)
        self.floor = Floor.SPEAKING
        return UtteranceStarted(self._start_ms)

    def _speaking(self, t_ms: int, vad: VadResult, playing: bool) -> Signal | None:
        if playing:
            barged = self._maybe_barge_in(t_ms, keep_start=True)
            if barged is not None:
                return barged
        if t_ms + FRAME_MS - self._start_ms >= self._max_answer_ms:
            self.floor = Floor.HOLD if vad.speaking else Floor.QUIET
            self._question = None
            return UtteranceEnded(self._start_ms, t_ms + FRAME_MS, truncated=True)
        if self._judging(t_ms):
            finished = self._judge_pause(t_ms)
            limit = self._settings.end_of_turn_patience_ms
        else:
            finished = False
            limit = self._settings.end_of_turn_silence_ms
        if finished or t_ms - self._last_speech_ms >= limit:
            self.floor = Floor.QUIET
            self._question = None
            return UtteranceEnded(self._start_ms, self._last_speech_ms + FRAME_MS, truncated=False)
        return None

    def _judging(self, t_ms: int) -> bool:
        return self._judge is not None and bool(self._audio) and self._audio[-1][0] == t_ms

    def _judge_pause(self, t_ms: int) -> bool:
        """Ask about this pause once it is long enough; True once the judge says finished."""
        assert self._judge is not None
        s = self._settings
        question = self._question
        if question is not None and question.last_speech_ms != self._last_speech_ms:
            question.verdict.cancel()  # speech resumed: that pause is over
            question = self._question = None
        silence = t_ms - self._last_speech_ms
        if question is None:
            if silence < s.end_of_turn_check_ms or self._judged_ms == self._last_speech_ms:
                return False
            verdict = self._judge.submit(self._turn_audio())
            question = self._question = _Question(
                self._last_speech_ms, t_ms + s.end_of_turn_budget_ms, verdict
            )
        if t_ms < question.due_ms:
            return False
        self._question = None
        self._judged_ms = question.last_speech_ms
        try:
            probability = question.verdict.result()
        except ModelError:
            log.warning("end-of-turn model failed: turns end on silence", exc_info=True)
            self._judge = None
            return False
        return probability >= s.end_of_turn_threshold

    def _turn_audio(self) -> bytes:
        since = self._start_ms - JUDGE_LEAD_IN_MS
        return b"".join(pcm for t_ms, pcm in self._audio if t_ms >= since)

    def _barged(self, vad: VadResult) -> Signal | None:
        burst_ms = self._last_speech_ms + FRAME_MS - self._burst_start_ms
        if burst_ms >= self._settings.false_interruption_ms:
            self.floor = Floor.SPEAKING
            return InterruptionConfirmed()
        if not vad.speaking:
            self.floor = Floor.QUIET
            return FalseInterruption()
        return None

    def _maybe_barge_in(self, t_ms: int, keep_start: bool = False) -> Signal | None:
        if self._eligible_frames < BARGE_IN_ONSET_FRAMES or self._eligible_start is None:
            return None
        onset = self._eligible_start
        self._burst_start_ms = onset
        self._open(self._start_ms if keep_start else onset, t_ms)
        self._deadline_ms = None
        self.floor = Floor.BARGED
        return BargedIn(onset)

    def _open(self, start_ms: int, t_ms: int) -> None:
        self._start_ms = start_ms
        self._last_speech_ms = t_ms
        self._question = None
        self._judged_ms = None
