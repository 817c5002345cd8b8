"""End of turn by Smart Turn on the frame timeline: real speech, real VAD, real model.

A finished answer ends its turn soon after the candidate stops; a pause to
think inside an answer does not end it; without the model (or when it fails)
turns end on silence as before; and the verdict lands on the same frame
at the first frame after the model answers, without the frame loop ever
waiting for it.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future
from functools import cache
from pathlib import Path

import pytest

from audio.endofturn import EndOfTurnModel
from audio.frames import FRAME_MS, SILENCE, split_frames
from audio.models import SMART_TURN_FILE, ModelError
from audio.vad import VoiceActivityDetector
from gateway.interviewer.local.judge import InlineJudge, ModelJudge, TurnJudge
from gateway.interviewer.local.settings import LocalInterviewerSettings
from gateway.interviewer.local.turntaking import (
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
def model() -> EndOfTurnModel:
    return EndOfTurnModel(require(SMART_TURN_FILE))


def judge() -> InlineJudge:
    """The real model, its verdict in by the frame that asks (frames here are replayed
    as fast as the loop runs, not at 20 ms apart)."""
    return InlineJudge(model())


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


class HeldJudge:
    """The real model, its verdicts held back until the test releases them."""

    def __init__(self) -> None:
        self.held: list[tuple[Future[float], bytes]] = []

    def submit(self, pcm: bytes) -> Future[float]:
        verdict: Future[float] = Future()
        self.held.append((verdict, pcm))
        return verdict

    def release(self) -> None:
        for verdict, pcm in self.held:
            if not verdict.cancelled():
                verdict.set_result(model().probability(pcm))
        self.held.clear()


LATE_MS = 600


def test_a_late_verdict_is_taken_when_it_arrives_and_no_frame_waits_for_it() -> None:
    """Only this thread releases the verdicts: a tracker that waited would never return."""
    text, voice = FINISHED[0]
    frames = answer(text, 3500, voice=voice)
    [(on_time_ms, on_time)] = ends(frames, judge())
    late = HeldJudge()
    tracker = TurnTracker(LocalInterviewerSettings(), late)
    vad = VoiceActivityDetector()
    found = []
    for index, frame in enumerate(frames):
        if ms(index) == on_time_ms + LATE_MS:
            late.release()
        signal = tracker.step(ms(index), vad.process(frame), False, 0, frame)
        if isinstance(signal, UtteranceEnded):
            found.append((ms(index), signal))
    assert found == [(on_time_ms + LATE_MS, on_time)]


def test_closing_the_shared_judge_cancels_queued_verdicts() -> None:
    """At shutdown the gateway's judge does not score what no interview waits for."""
    shared = ModelJudge(model())
    speech = b"".join(answer(FINISHED[0][0]))
    verdicts = [shared.submit(speech) for _ in range(20)]
    started = time.monotonic()
    shared.close()
    assert sum(v.cancelled() for v in verdicts) >= len(verdicts) - 1
    # At most the one verdict already running was waited for.
    assert time.monotonic() - started < 10


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
