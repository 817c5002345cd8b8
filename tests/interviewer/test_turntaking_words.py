"""Turn-taking with the recognizer's words and sustained-speech barge-in, on the frame timeline.

Real eSpeak NG speech through the real VAD (Silero when installed, as in the
gateway) into `TurnTracker`; the end-of-turn judge is a small working one
that always answers "finished", so whatever holds a turn here is the words.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import Future
from functools import cache

import numpy as np

from audio.frames import FRAME_MS, SAMPLE_RATE, SILENCE, split_frames
from audio.models import SILERO_VAD_FILE
from audio.silero import SileroModel, SileroVad
from gateway.interviewer.local.cues import Cue
from gateway.interviewer.local.settings import LocalInterviewerSettings
from gateway.interviewer.local.timing import EndedBy
from gateway.interviewer.local.turntaking import (
    BargedIn,
    FalseInterruption,
    InterruptionConfirmed,
    Signal,
    TurnTracker,
    UtteranceEnded,
    Words,
    WordsLag,
)
from tests.audio.models import require
from zenhire.loopback.speech import synthesize

# Silero hears no speech in a stream's first second (`audio.silero`).
LEAD_IN_FRAMES = 55
SETTINGS = LocalInterviewerSettings()
PROMPT_PLAYED_MS = 5_000  # a prompt long past its echo warm-up


class Finished:
    """A judge that calls every pause finished, at once."""

    def submit(self, pcm: bytes) -> Future[float]:
        verdict: Future[float] = Future()
        verdict.set_result(1.0)
        return verdict


class Unfinished:
    """A judge that calls every pause unfinished, at once."""

    def submit(self, pcm: bytes) -> Future[float]:
        verdict: Future[float] = Future()
        verdict.set_result(0.0)
        return verdict


class Scripted:
    """A judge answering ``verdicts`` in turn, at once (the last one from then on)."""

    def __init__(self, *verdicts: float) -> None:
        self.verdicts = list(verdicts)
        self.asked = 0

    def submit(self, pcm: bytes) -> Future[float]:
        verdict: Future[float] = Future()
        verdict.set_result(self.verdicts[min(self.asked, len(self.verdicts) - 1)])
        self.asked += 1
        return verdict


@cache
def model() -> SileroModel:
    return SileroModel(require(SILERO_VAD_FILE))


def frames(text: str, tail_ms: int = 4000) -> list[bytes]:
    if text == "cough":
        rng = np.random.default_rng(1)
        n = SAMPLE_RATE * 220 // 1000
        burst = np.diff(rng.standard_normal(n + 1)) * np.exp(-np.arange(n) / (n / 3)) * 4000
        pcm = np.clip(burst, -32768, 32767).astype("<i2").tobytes()
    else:
        pcm = synthesize(text, SAMPLE_RATE)
    speech, _ = split_frames(pcm)
    return [SILENCE] * LEAD_IN_FRAMES + speech + [SILENCE] * (tail_ms // FRAME_MS)


def run(
    text: str,
    words: Words,
    playing: bool = False,
    settings: LocalInterviewerSettings = SETTINGS,
    judge: Finished | Unfinished | Scripted | None = None,
    words_lag: WordsLag | None = None,
) -> list[tuple[int, Signal]]:
    tracker = TurnTracker(settings, judge or Finished(), words, words_lag=words_lag)
    vad = SileroVad(model())
    signals = []
    for index, frame in enumerate(frames(text)):
        t_ms = index * FRAME_MS
        signal = tracker.step(t_ms, vad.process(frame), playing, PROMPT_PLAYED_MS, frame)
        if signal is not None:
            signals.append((t_ms, signal))
    return signals


def ended(signals: list[tuple[int, Signal]]) -> tuple[int, UtteranceEnded]:
    [(t_ms, end)] = [(t, s) for t, s in signals if isinstance(s, UtteranceEnded)]
    return t_ms, end


def silence_before(t_ms: int, end: UtteranceEnded) -> int:
    return t_ms - (end.end_ms - FRAME_MS)


def test_a_pause_after_and_does_not_end_the_turn() -> None:
    """The model says finished; the trailing "and" holds the turn until the patience."""
    t_ms, end = ended(run("I worked on billing for three years and", lambda: "years and"))
    assert silence_before(t_ms, end) == SETTINGS.end_of_turn_patience_ms
    assert not end.thinking
    # Asked again and again, the words held it each time.
    assert end.judge_asks == SETTINGS.end_of_turn_rechecks + 1
    assert end.cue is Cue.HOLD and end.ended_by is EndedBy.SILENCE


def test_a_pause_first_judged_unfinished_ends_at_a_later_finished_verdict() -> None:
    """The model's verdict on a pause moves with the silence after the words: asked
    again ``end_of_turn_recheck_ms`` later, a finished answer ends there, not at the
    patience."""
    judge = Scripted(0.2, 0.9)
    t_ms, end = ended(run("I worked on billing for three years.", lambda: "years", judge=judge))
    assert silence_before(t_ms, end) == (
        SETTINGS.end_of_turn_check_ms
        + SETTINGS.end_of_turn_recheck_ms
        + SETTINGS.end_of_turn_budget_ms
    )
    assert (judge.asked, end.judge_asks, end.probability) == (2, 2, 0.9)
    assert end.ended_by is EndedBy.MODEL and end.cue is Cue.NONE


def test_a_later_verdict_must_be_surer_to_end_the_turn() -> None:
    """Past the first question the model drifts towards "finished" (a pause after
    "because" too), so a second opinion ends the turn only at the recheck threshold."""
    second = (SETTINGS.end_of_turn_threshold + SETTINGS.end_of_turn_recheck_threshold) / 2
    judge = Scripted(0.2, second)
    t_ms, end = ended(run("I worked on billing for three years.", lambda: "years", judge=judge))
    assert silence_before(t_ms, end) == SETTINGS.end_of_turn_patience_ms
    assert end.ended_by is EndedBy.SILENCE


def test_without_rechecks_an_unfinished_pause_waits_for_the_patience() -> None:
    settings = dataclasses.replace(SETTINGS, end_of_turn_rechecks=0)
    judge = Scripted(0.2, 0.9)
    said = "I worked on billing for three years."
    t_ms, end = ended(run(said, lambda: "years", settings=settings, judge=judge))
    assert silence_before(t_ms, end) == SETTINGS.end_of_turn_patience_ms
    assert (judge.asked, end.judge_asks, end.probability) == (1, 1, 0.2)


def test_the_questions_on_one_pause_are_bounded() -> None:
    """A model that never calls the pause finished is asked 1 + rechecks times, then the
    patience ends the turn."""
    judge = Scripted(0.1)
    t_ms, end = ended(run("I worked on billing for three years.", lambda: "years", judge=judge))
    assert judge.asked == SETTINGS.end_of_turn_rechecks + 1
    assert silence_before(t_ms, end) == SETTINGS.end_of_turn_patience_ms


def test_without_a_trailing_conjunction_the_turn_ends_at_the_verdict() -> None:
    t_ms, end = ended(run("I worked on billing for three years.", lambda: "three years"))
    assert silence_before(t_ms, end) == SETTINGS.end_of_turn_check_ms + (
        SETTINGS.end_of_turn_budget_ms
    )


def test_let_me_think_ends_the_turn_as_a_request_for_time() -> None:
    t_ms, end = ended(run("Let me think.", lambda: "let me think"))
    assert end.thinking and not end.truncated
    assert silence_before(t_ms, end) < 700


def test_the_verdict_waits_for_a_recognizer_that_is_behind() -> None:
    """While the words are not in (None), the verdict waits, at most ``words_wait_ms``."""
    t_ms, end = ended(run("I worked on billing for three years.", lambda: None))
    due = SETTINGS.end_of_turn_check_ms + SETTINGS.end_of_turn_budget_ms
    assert silence_before(t_ms, end) == due + SETTINGS.words_wait_ms


def test_the_verdict_does_not_wait_for_a_recognizer_seconds_behind() -> None:
    """Behind by more than the wait, the words cannot come in time: the model decides."""
    said = "I worked on billing for three years."
    t_ms, end = ended(run(said, lambda: None, words_lag=lambda: 5000))
    assert silence_before(t_ms, end) == SETTINGS.end_of_turn_check_ms + (
        SETTINGS.end_of_turn_budget_ms
    )
    assert end.cue is None  # the record says the words were not in


def test_an_unfinished_verdict_does_not_wait_for_the_words() -> None:
    """Whatever the words, an unfinished pause keeps listening: the recognizer being
    behind costs nothing, and a new question follows only new speech (here: none)."""
    asked: list[int] = []

    def words() -> str | None:
        asked.append(1)
        return None

    t_ms, end = ended(run("I worked on billing for three years.", words, judge=Unfinished()))
    assert silence_before(t_ms, end) == SETTINGS.end_of_turn_patience_ms
    # Once at each verdict, once at the patience's end.
    assert len(asked) == SETTINGS.end_of_turn_rechecks + 2


def test_a_cough_over_a_prompt_does_not_stop_it() -> None:
    assert run("cough", lambda: "", playing=True) == []


def test_a_backchannel_pauses_the_prompt_then_resumes_it() -> None:
    signals = run("okay", lambda: "okay", playing=True)
    kinds = [type(s) for _, s in signals]
    assert kinds == [BargedIn, FalseInterruption]


def test_a_short_real_interruption_is_confirmed_by_its_words() -> None:
    signals = run("Wait.", lambda: "wait", playing=True)
    assert [type(s) for _, s in signals][:2] == [BargedIn, InterruptionConfirmed]


def test_a_sentence_over_a_prompt_stops_it_within_200_ms_of_onset() -> None:
    signals = run("Sorry, could you repeat the question please?", lambda: None, playing=True)
    t_ms, barged = signals[0]
    assert isinstance(barged, BargedIn)
    assert t_ms - barged.onset_ms < 200
    assert isinstance(signals[1][1], InterruptionConfirmed)
