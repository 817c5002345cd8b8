"""Turn-taking on the frame timeline: real speech through the real VAD into `TurnTracker`."""

from __future__ import annotations

from functools import cache

from audio.frames import FRAME_MS, SAMPLE_RATE, SILENCE, split_frames
from audio.vad import VoiceActivityDetector
from gateway.interviewer.local.settings import LocalInterviewerSettings
from gateway.interviewer.local.turntaking import (
    BargedIn,
    Signal,
    Silence,
    TurnTracker,
    UtteranceEnded,
    UtteranceStarted,
)
from zenhire.loopback.speech import synthesize

LONG_ANSWER = "I have worked as a software engineer for five years, mostly on web services."
LEAD_IN_FRAMES = 10
TAIL_FRAMES = 100  # 2 s of silence


@cache
def frames() -> list[bytes]:
    """Silence, a few seconds of speech, two seconds of silence."""
    speech, _ = split_frames(synthesize(LONG_ANSWER, SAMPLE_RATE))
    return [SILENCE] * LEAD_IN_FRAMES + speech + [SILENCE] * TAIL_FRAMES


def run(
    settings: LocalInterviewerSettings,
    playing: bool = False,
    deadline_ms: int | None = None,
    answer_limit_ms: int | None = None,
) -> list[tuple[int, Signal]]:
    """Every signal, with its frame time, for `frames()` (``playing``: over a long prompt)."""
    tracker = TurnTracker(settings)
    tracker.expect_by(deadline_ms)
    tracker.limit_answers(answer_limit_ms)
    vad = VoiceActivityDetector()
    signals = []
    for index, frame in enumerate(frames()):
        t_ms = index * FRAME_MS
        signal = tracker.step(t_ms, vad.process(frame), playing, played_ms=t_ms + 10_000)
        if signal is not None:
            signals.append((t_ms, signal))
    return signals


def test_turn_ends_after_the_configured_silence() -> None:
    settings = LocalInterviewerSettings(end_of_turn_silence_ms=800)
    [(_, started), (t_end, ended)] = run(settings)
    assert isinstance(started, UtteranceStarted) and isinstance(ended, UtteranceEnded)
    assert not ended.truncated
    assert t_end - (ended.end_ms - FRAME_MS) == 800
    speech_ms = (len(frames()) - LEAD_IN_FRAMES - TAIL_FRAMES) * FRAME_MS
    assert started.start_ms >= LEAD_IN_FRAMES * FRAME_MS
    assert ended.end_ms <= LEAD_IN_FRAMES * FRAME_MS + speech_ms


def test_over_long_answer_ends_at_the_next_breath() -> None:
    """Past ``max_answer_ms`` the turn ends at the first pause of ``breath_ms``, on its last
    speech frame, not in the middle of a word."""
    settings = LocalInterviewerSettings(max_answer_ms=1000, breath_ms=100)
    signals = run(settings)
    started, (t_end, ended) = signals[0][1], signals[1]
    assert isinstance(started, UtteranceStarted) and isinstance(ended, UtteranceEnded)
    assert ended.truncated and ended.end_ms - started.start_ms > 1000
    assert t_end - (ended.end_ms - FRAME_MS) == 100
    assert ended.end_ms < LEAD_IN_FRAMES * FRAME_MS + 3000


def test_a_questions_own_time_limit_replaces_max_answer() -> None:
    """``limit_answers`` (a custom question's time limit) stands for ``max_answer_ms``:
    the turn ends at the next breath past it, at the latest ``breath_wait_ms`` later."""
    settings = LocalInterviewerSettings(breath_ms=5000, breath_wait_ms=400)
    signals = run(settings, answer_limit_ms=1500)
    started, ended = signals[0][1], signals[1][1]
    assert isinstance(started, UtteranceStarted) and isinstance(ended, UtteranceEnded)
    assert ended.truncated and ended.end_ms - started.start_ms == 1900


def test_over_long_answer_without_a_breath_ends_at_the_hard_limit() -> None:
    settings = LocalInterviewerSettings(max_answer_ms=1000, breath_ms=5000, breath_wait_ms=400)
    signals = run(settings)
    started, (_, ended) = signals[0][1], signals[1]
    assert isinstance(started, UtteranceStarted) and isinstance(ended, UtteranceEnded)
    assert ended.truncated and ended.end_ms - started.start_ms == 1400


def test_speech_over_a_prompt_barges_in_within_200_ms_of_onset() -> None:
    settings = LocalInterviewerSettings()
    signals = run(settings, playing=True)
    t_ms, barged = signals[0]
    assert isinstance(barged, BargedIn)
    assert settings.interruption_speech_ms - FRAME_MS <= t_ms - barged.onset_ms < 200


def test_barge_in_can_be_switched_off() -> None:
    """With ``barge_in=False`` speech over a prompt is not a turn at all."""
    assert run(LocalInterviewerSettings(barge_in=False), playing=True) == []


def test_silence_is_signalled_at_the_deadline_only_when_quiet() -> None:
    assert run(LocalInterviewerSettings(), deadline_ms=100)[0] == (100, Silence(100))
    during_speech = (LEAD_IN_FRAMES + 20) * FRAME_MS
    signals = run(LocalInterviewerSettings(), deadline_ms=during_speech)
    assert not any(isinstance(s, Silence) for _, s in signals)
