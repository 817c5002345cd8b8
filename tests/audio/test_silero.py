"""Silero VAD on 20 ms frames: speech is found, silence and steady noise are not."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from audio.frames import FRAME_BYTES, FRAME_MS, SAMPLE_RATE, SILENCE, split_frames
from audio.models import SILERO_VAD_FILE, SMART_TURN_FILE, ModelError
from audio.silero import SileroModel, SileroSettings, SileroVad
from audio.vad import VadResult
from tests.audio.models import require
from zenhire.bench.noise import NOISES, frame_truth, mix, speak
from zenhire.loopback.speech import synthesize

VOICED_DBFS = -30.0
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
    results = run([SILENCE] * 25 + speech + [SILENCE] * 50)
    voiced = [r for r in results if r.level_dbfs > VOICED_DBFS]
    assert len(voiced) > 30
    assert sum(r.speaking for r in voiced) >= 0.9 * len(voiced)
    assert sum(r.started for r in results) == sum(r.ended for r in results) == 1
    assert not any(r.speaking for r in results[:25])


def test_speaking_starts_within_barge_in_budget() -> None:
    """``speaking`` turns on within 100 ms of the first voiced frame."""
    speech, _ = split_frames(synthesize(SENTENCES[0][0]))
    results = run([SILENCE] * 25 + speech)
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


def test_a_room_of_voices_is_not_the_candidate() -> None:
    """Under babble Silero hears speech everywhere; the foreground gate keeps only the
    voice that stands out of the room, so the answer's end is heard."""
    frames, first, last = with_room("babble")
    ungated = SileroVad(model(), SileroSettings(foreground_db=0.0))
    plain = [ungated.process(frame) for frame in frames]
    after = slice(last + 25, len(frames))  # the room alone, past the hangover
    assert np.mean([r.is_speech for r in plain[after]]) > 0.8  # the problem
    gated = run(frames)
    assert np.mean([r.is_speech for r in gated[after]]) < 0.1
    assert not gated[-1].speaking
    assert np.mean([r.speaking for r in gated[first:last]]) > 0.8  # the answer is kept


@pytest.mark.parametrize("noise", ["fan", "none"])
def test_the_gate_changes_nothing_in_a_room_without_voices(noise: str) -> None:
    if noise == "none":
        frames = [SILENCE] * 50 + split_frames(synthesize(SENTENCES[1][0]))[0] + [SILENCE] * 50
    else:
        frames, _, _ = with_room(noise)
    ungated = SileroVad(model(), SileroSettings(foreground_db=0.0))
    assert [ungated.process(f).is_speech for f in frames] == [r.is_speech for r in run(frames)]
