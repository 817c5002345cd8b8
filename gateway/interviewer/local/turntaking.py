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
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from audio.frames import FRAME_MS
from audio.vad import VadResult
from gateway.interviewer.local.settings import LocalInterviewerSettings

# Speech frames past the warm-up before a barge-in (the VAD's own onset time).
BARGE_IN_ONSET_FRAMES = 3


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


class TurnTracker:
    def __init__(self, settings: LocalInterviewerSettings) -> None:
        self._settings = settings
        self.floor = Floor.QUIET
        self._deadline_ms: int | None = None
        self._episode_start: int | None = None  # first speech frame of this VAD episode
        self._eligible_start: int | None = None  # first speech frame past the warm-up
        self._eligible_frames = 0
        self._start_ms = 0
        self._burst_start_ms = 0
        self._last_speech_ms = 0

    def expect_by(self, deadline_ms: int | None) -> None:
        """Signal `Silence` at the first quiet frame at or after ``deadline_ms``."""
        self._deadline_ms = deadline_ms

    def step(self, t_ms: int, vad: VadResult, playing: bool, played_ms: int) -> Signal | None:
        """Advance by the frame at ``t_ms``; ``played_ms`` is what was heard of the prompt."""
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
        if t_ms + FRAME_MS - self._start_ms >= self._settings.max_answer_ms:
            self.floor = Floor.HOLD if vad.speaking else Floor.QUIET
            return UtteranceEnded(self._start_ms, t_ms + FRAME_MS, truncated=True)
        if t_ms - self._last_speech_ms >= self._settings.end_of_turn_silence_ms:
            self.floor = Floor.QUIET
            return UtteranceEnded(self._start_ms, self._last_speech_ms + FRAME_MS, truncated=False)
        return None

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
