"""Silero VAD on 20 ms frames: speech is found, silence and steady noise are not."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from audio.frames import FRAME_BYTES, FRAME_MS, SAMPLE_RATE, SILENCE, split_frames
from audio.models import SILERO_VAD_FILE, SMART_TURN_FILE, ModelError
from audio.silero import SileroModel, SileroSettings, SileroVad
from audio.vad import VadResult
from gateway.interviewer.local.settings import LocalInterviewerSettings
from gateway.interviewer.local.turntaking import (
    Floor,
    InterruptionConfirmed,
    TurnTracker,
    UtteranceEnded,
)
from tests.audio.models import require
from zenhire.bench.noise import NOISES, frame_truth, mix, speak, to_pcm
from zenhire.bench.vad import as_the_interviewer_hears as interviewer_hears
from zenhire.loopback.speech import synthesize

VOICED_DBFS = -30.0
# Before any speech, the stream's first second: Silero hears none in it.
LEAD_IN_FRAMES = SileroSettings().background_min_ms // FRAME_MS + 5
SENTENCES = [
    ("Hello, thank you for joining this interview today.", "en-us"),
    ("Could you tell me about a project you are proud of?", "en-us+f3"),
    ("Tell me about a time you disagreed with your manager.", "en-gb"),
]


@cache
def model() -> SileroModel:
    return SileroModel(require(SILERO_VAD_FILE))


def run(frames: list[bytes]) -> list[VadResult]:
    vad = SileroVad(model())
    return [vad.process(frame) for frame in frames]


def noise_frames(colour_exponent: float, seconds: float, dbfs: float) -> list[bytes]:
    n = int(SAMPLE_RATE * seconds)
    spectrum = np.fft.rfft(np.random.default_rng(3).standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE)
    freqs[0] = freqs[1]
    x = np.fft.irfft(spectrum / freqs**colour_exponent, n)
    x *= 32768.0 * 10.0 ** (dbfs / 20.0) / np.sqrt(np.mean(x**2))
    frames, _ = split_frames(np.clip(np.round(x), -32768, 32767).astype("<i2").tobytes())
    return frames


@pytest.mark.parametrize(("text", "voice"), SENTENCES, ids=[v for _, v in SENTENCES])
def test_voiced_frames_are_speech(text: str, voice: str) -> None:
    speech, _ = split_frames(synthesize(text, voice=voice))
    results = run([SILENCE] * LEAD_IN_FRAMES + speech + [SILENCE] * 50)
    voiced = [r for r in results if r.level_dbfs > VOICED_DBFS]
    assert len(voiced) > 30
    assert sum(r.speaking for r in voiced) >= 0.9 * len(voiced)
    assert sum(r.started for r in results) == sum(r.ended for r in results) == 1
    assert not any(r.speaking for r in results[:LEAD_IN_FRAMES])


def test_speaking_starts_within_barge_in_budget() -> None:
    """``speaking`` turns on within 100 ms of the first voiced frame."""
    speech, _ = split_frames(synthesize(SENTENCES[0][0]))
    results = run([SILENCE] * LEAD_IN_FRAMES + speech)
    onset = next(i for i, r in enumerate(results) if r.level_dbfs > VOICED_DBFS)
    started = next(i for i, r in enumerate(results) if r.started)
    assert 0 <= (started - onset + 1) * FRAME_MS <= 100


@pytest.mark.parametrize("exponent", [0.0, 1.0], ids=["white", "brown"])
def test_steady_noise_is_not_speech(exponent: float) -> None:
    results = run(noise_frames(exponent, 5.0, -30.0))
    assert not any(r.speaking for r in results)


def test_frames_of_another_size_are_refused() -> None:
    with pytest.raises(ValueError):
        SileroVad(model()).process(bytes(FRAME_BYTES - 2))


def test_another_model_is_refused() -> None:
    with pytest.raises(ModelError):
        SileroModel(require(SMART_TURN_FILE))


def with_room(noise: str, answer: str = SENTENCES[1][0]) -> tuple[list[bytes], int, int]:
    """2 s of the room, an answer 10 dB above it, 3 s of the room; the answer's frames."""
    clean = speak(answer, "en-us")
    lead, tail = np.zeros(2 * SAMPLE_RATE), np.zeros(3 * SAMPLE_RATE)
    track = np.concatenate([lead, clean, tail])
    track = track[: track.size - track.size % (FRAME_BYTES // 2)]
    room = NOISES[noise](track.size, 7)
    frames, _ = split_frames(mix(track, frame_truth(track), room, 10.0))
    first = lead.size * 1000 // SAMPLE_RATE // FRAME_MS
    return frames, first, first + clean.size * 1000 // SAMPLE_RATE // FRAME_MS


def as_the_interviewer_hears(
    frames: list[bytes], settings: SileroSettings | None = None
) -> tuple[list[VadResult], list[int]]:
    """Silero (``settings``) on ``frames`` as the local interviewer drives it
    (`zenhire.bench.vad.as_the_interviewer_hears`)."""
    return interviewer_hears(SileroVad(model(), settings), frames)


UNGATED = SileroSettings(foreground_db=0.0)


def test_a_room_of_voices_is_not_the_candidate() -> None:
    """Under babble Silero hears speech everywhere; the foreground gate keeps only the
    voice that stands out of the room, so the answer's end is heard."""
    frames, first, last = with_room("babble")
    plain, plain_ends = as_the_interviewer_hears(frames, UNGATED)
    after = slice(last + 25, len(frames))  # the room alone, past the hangover
    assert np.mean([r.is_speech for r in plain[after]]) > 0.8  # the problem
    assert plain_ends == []
    gated, ends = as_the_interviewer_hears(frames)
    assert np.mean([r.is_speech for r in gated[after]]) < 0.1
    assert np.mean([r.speaking for r in gated[first:last]]) > 0.8  # the answer is kept
    [end] = ends
    assert last < end < last + 100  # the silence timer's 1.2 s, and the hangover


def test_nothing_is_speech_before_the_room_was_heard() -> None:
    frames, _, _ = with_room("babble")
    results, _ = as_the_interviewer_hears(frames)
    heard_frames = SileroSettings().background_min_ms // FRAME_MS - 1
    assert not any(r.is_speech for r in results[:heard_frames])


# One long answer without a full stop: a fluent candidate talking for half a minute.
LONG_ANSWER = (
    "I have spent six years building payment systems in Python and Go, last year I led"
    " the migration of our ledger to a new database, in code review I look for clear"
    " names and small functions, and I keep learning by reading source code and by"
    " teaching my team"
)


@pytest.mark.parametrize("noise", ["none", "fan"])
def test_the_gate_changes_nothing_in_a_room_without_voices(noise: str) -> None:
    """In a quiet room or by a fan, even a long fluent answer is judged as without the
    gate: the room is learnt only while the candidate is silent."""
    speech = split_frames(synthesize(LONG_ANSWER))[0]
    frames = [SILENCE] * 100 + speech + [SILENCE] * 100
    if noise == "fan":
        room = NOISES["fan"](len(frames) * FRAME_BYTES // 2, 7) * 10 ** (-40 / 20)
        mixed = np.frombuffer(b"".join(frames), dtype="<i2") + room
        frames = split_frames(np.clip(mixed, -32768, 32767).astype("<i2").tobytes())[0]
    plain, plain_ends = as_the_interviewer_hears(frames, UNGATED)
    gated, ends = as_the_interviewer_hears(frames)
    assert [r.is_speech for r in plain] == [r.is_speech for r in gated]
    assert len(ends) == len(plain_ends) == 1


def test_a_long_answer_in_a_room_of_voices_ends_once_at_its_end() -> None:
    frames, _, last = with_room("babble", LONG_ANSWER)
    _, ends = as_the_interviewer_hears(frames)
    [end] = ends
    assert last < end < last + 100


@pytest.mark.parametrize("gap_frames", [0, 10])
def test_a_room_of_voices_from_the_start_does_not_interrupt_the_greeting(gap_frames: int) -> None:
    """Babble from the stream's first audio (after a gap of digital silence, which is
    no room at all): the greeting plays on, and the answer after it ends its turn."""
    frames, _, last = with_room("babble")
    room_only = frames[: 2 * 1000 // FRAME_MS]
    frames = [SILENCE] * gap_frames + room_only * 3 + frames
    greeting = range(gap_frames + 15, gap_frames + 15 + 5 * 1000 // FRAME_MS)
    vad = SileroVad(model())
    tracker = TurnTracker(LocalInterviewerSettings(end_of_turn_model=False))
    signals = []
    for index, frame in enumerate(frames):
        playing = index in greeting
        played_ms = (index - greeting.start) * FRAME_MS if playing else 0
        result = vad.process(frame, room=tracker.floor is Floor.QUIET)
        signal = tracker.step(index * FRAME_MS, result, playing, played_ms)
        if signal is not None:
            signals.append((index, signal))
    assert not any(isinstance(s, InterruptionConfirmed) for _, s in signals)
    answer_end = gap_frames + 3 * len(room_only) + last
    assert [i for i, s in signals if isinstance(s, UtteranceEnded)][-1:] == [
        i for i, s in signals if isinstance(s, UtteranceEnded) and answer_end < i < answer_end + 100
    ]


def test_a_moment_without_voices_does_not_end_a_room_of_voices() -> None:
    """Silero's verdicts on babble lapse for a moment (after a reset of its state, or
    a lull): the room stays one of voices, so the babble after it is not a turn."""
    babble, first, _ = with_room("babble")
    room = babble[:first]  # the room alone, before the answer
    samples = np.frombuffer(b"".join(room), dtype="<i2").astype(np.float64)
    fan = NOISES["fan"](FRAME_BYTES // 2 * 20, 3)
    fan *= np.sqrt(np.mean(samples**2) / np.mean(fan**2))  # as loud as the room
    frames = room + split_frames(to_pcm(fan))[0] + room + room
    gated, _ = as_the_interviewer_hears(frames)
    assert np.mean([r.is_speech for r in gated[-100:]]) < 0.1
