"""End of turn by Smart Turn on the frame timeline: real speech, real VAD, real model.

A finished answer ends its turn soon after the candidate stops; a pause to
think inside an answer does not end it; without the model (or when it fails)
turns end on silence as before; and the verdict lands on the same frame
however long the model takes in wall-clock time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache
from pathlib import Path

import pytest

from audio.endofturn import EndOfTurnModel
from audio.frames import FRAME_MS, SILENCE, split_frames
from audio.models import SMART_TURN_FILE, ModelError
from audio.vad import VoiceActivityDetector
from gateway.interviewer.local.settings import LocalInterviewerSettings
from gateway.interviewer.local.turntaking import (
    ModelJudge,
    TurnJudge,
    TurnTracker,
    UtteranceEnded,
    UtteranceStarted,
)
from tests.audio.models import require
from zenhire.loopback.speech import synthesize

FINISHED = [
    ("I led the migration of our billing system to the cloud.", "en-us"),
    ("Yes, I enjoyed that project a lot.", "en-gb"),
    ("In code review I look for clear names and small functions.", "en-us+f3"),
]
# Answers with a pause to think after words that promise more.
PAUSED = [
    ("I led the migration of our billing system to the cloud and then um", "en-us"),
    ("Yes, I enjoyed that project a lot because", "en-gb"),
]
CONTINUATION = "the team was great."
QUICK_END_MS = 700
LEAD_IN_FRAMES = 25


@cache
def judge() -> ModelJudge:
    return ModelJudge(EndOfTurnModel(require(SMART_TURN_FILE)))


@pytest.fixture(scope="module", autouse=True)
def close_judge() -> Iterator[None]:
    yield
    judge().close()


def ms(frames: int) -> int:
    return frames * FRAME_MS


def answer(*parts: str | int, voice: str = "en-us") -> list[bytes]:
    """Silence, then each part: text spoken in ``voice``, or an int of ms of silence."""
    frames = [SILENCE] * LEAD_IN_FRAMES
    for part in parts:
        if isinstance(part, str):
            frames += split_frames(synthesize(part, voice=voice))[0]
        else:
            frames += [SILENCE] * (part // FRAME_MS)
    return frames


def ends(
    frames: list[bytes],
    judge: TurnJudge | None,
    settings: LocalInterviewerSettings | None = None,
    with_audio: bool = True,
) -> list[tuple[int, UtteranceEnded]]:
    """Each turn end, with the frame time it was signalled at."""
    tracker = TurnTracker(settings or LocalInterviewerSettings(), judge)
    vad = VoiceActivityDetector()
    found = []
    for index, frame in enumerate(frames):
        pcm = frame if with_audio else None
        signal = tracker.step(ms(index), vad.process(frame), False, 0, pcm)
        assert signal is None or isinstance(signal, UtteranceStarted | UtteranceEnded)
        if isinstance(signal, UtteranceEnded):
            found.append((ms(index), signal))
    return found


def silence_before_end(t_ms: int, ended: UtteranceEnded) -> int:
    return t_ms - (ended.end_ms - FRAME_MS)


@pytest.mark.parametrize(("text", "voice"), FINISHED, ids=[v for _, v in FINISHED])
def test_finished_answer_ends_the_turn_quickly(text: str, voice: str) -> None:
    [(t_ms, ended)] = ends(answer(text, 3500, voice=voice), judge())
    settings = LocalInterviewerSettings()
    assert not ended.truncated
    assert silence_before_end(t_ms, ended) < QUICK_END_MS
    assert silence_before_end(t_ms, ended) == (
        settings.end_of_turn_check_ms + settings.end_of_turn_budget_ms
    )


@pytest.mark.parametrize("pause_ms", [2000, 2800])
@pytest.mark.parametrize(("text", "voice"), PAUSED, ids=[v for _, v in PAUSED])
def test_pause_to_think_does_not_end_the_turn(text: str, voice: str, pause_ms: int) -> None:
    frames = answer(text, pause_ms, CONTINUATION, 3500, voice=voice)
    [(_, ended)] = ends(frames, judge())
    assert ended.end_ms > ms(len(frames)) - 3500 - 1000  # the end of the continuation


def test_unfinished_answer_ends_after_the_patience() -> None:
    """A pause the model calls unfinished, with no more speech, ends at the long timer."""
    text, voice = PAUSED[0]
    settings = LocalInterviewerSettings(end_of_turn_patience_ms=2600)
    [(t_ms, ended)] = ends(answer(text, 4000, voice=voice), judge(), settings)
    assert silence_before_end(t_ms, ended) == 2600


def test_missing_model_falls_back_to_the_silence_timer(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="zenhire.interviewer"):
        assert ModelJudge.installed(Path("/nonexistent/smart-turn.onnx")) is None
    assert "no end-of-turn model" in caplog.text
    text, voice = FINISHED[0]
    settings = LocalInterviewerSettings(end_of_turn_silence_ms=900)
    [(t_ms, ended)] = ends(answer(text, 2000, voice=voice), None, settings)
    assert silence_before_end(t_ms, ended) == 900


def test_model_off_or_no_audio_means_the_silence_timer() -> None:
    text, voice = FINISHED[0]
    frames = answer(text, 2000, voice=voice)
    off = LocalInterviewerSettings(end_of_turn_model=False)
    [(t_ms, ended)] = ends(frames, judge(), off)
    assert silence_before_end(t_ms, ended) == off.end_of_turn_silence_ms
    [(t_ms, ended)] = ends(frames, judge(), with_audio=False)
    assert silence_before_end(t_ms, ended) == off.end_of_turn_silence_ms


class SlowJudge:
    """The real model behind a worker that first sleeps far past the frame budget."""

    def __init__(self, delay_s: float) -> None:
        self._delay_s = delay_s
        self._executor = ThreadPoolExecutor(1)

    def submit(self, pcm: bytes) -> Future[float]:
        return self._executor.submit(self._score, pcm)

    def _score(self, pcm: bytes) -> float:
        time.sleep(self._delay_s)
        return judge().model.probability(pcm)

    def close(self) -> None:
        self._executor.shutdown(wait=True)


def test_verdict_lands_on_the_same_frame_however_slow_the_model() -> None:
    text, voice = FINISHED[0]
    frames = answer(text, 3500, voice=voice)
    slow = SlowJudge(0.3)
    try:
        assert ends(frames, slow) == ends(frames, judge())
    finally:
        slow.close()


class BrokenJudge:
    """A judge whose model fails: the error arrives through the future, as from onnxruntime."""

    def submit(self, pcm: bytes) -> Future[float]:
        verdict: Future[float] = Future()
        verdict.set_exception(ModelError("Smart Turn failed: test"))
        return verdict


@pytest.mark.fault(
    "end-of-turn model failing",
    injected="the turn model raises on every call",
    happened="the silence timer decides the turn",
)
def test_failing_model_falls_back_to_the_silence_timer(caplog: pytest.LogCaptureFixture) -> None:
    text, voice = FINISHED[0]
    with caplog.at_level(logging.WARNING, logger="zenhire.interviewer"):
        [(t_ms, ended)] = ends(answer(text, 2000, voice=voice), BrokenJudge())
    assert silence_before_end(t_ms, ended) == LocalInterviewerSettings().end_of_turn_silence_ms
    assert "end-of-turn model failed" in caplog.text
