"""Voice activity: real (synthesized) speech is found quickly; silence and noise are not."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest

from audio.frames import FRAME_BYTES, FRAME_MS, SAMPLE_RATE, SILENCE, split_frames
from audio.level import rms_dbfs
from audio.vad import VadResult, VadSettings, VoiceActivityDetector
from zenhire.loopback.speech import synthesize

LEAD_IN_MS = 500
# Frames this loud in clean synthesized speech are vowels and voiced consonants;
# the quieter aspirations and plosives before them are noise-like by design.
VOICED_DBFS = -30.0
BARGE_IN_MS = 100
SENTENCES = [
    ("Hello, thank you for joining this interview today.", "en-us"),
    ("Could you tell me about a project you are proud of?", "en-us+f3"),
    ("Tell me about a time you disagreed with your manager.", "en-gb"),
]


def frames_of(pcm: bytes) -> list[bytes]:
    frames, _ = split_frames(pcm)
    return frames


def run(pcm: bytes, detector: VoiceActivityDetector | None = None) -> list[VadResult]:
    vad = detector or VoiceActivityDetector()
    return [vad.process(frame) for frame in frames_of(pcm)]


def to_pcm(x: npt.NDArray[np.float64]) -> bytes:
    return np.clip(np.round(x), -32768, 32767).astype("<i2").tobytes()


def noise(colour: str, seconds: float, dbfs: float, seed: int = 7) -> npt.NDArray[np.float64]:
    """White, pink (1/f) or brown (1/f^2) Gaussian noise at an RMS of ``dbfs``."""
    n = int(SAMPLE_RATE * seconds)
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE)
    freqs[0] = freqs[1]
    exponent = {"white": 0.0, "pink": 0.5, "brown": 1.0}[colour]
    x: npt.NDArray[np.float64] = np.fft.irfft(spectrum / freqs**exponent, n)
    rms = math.sqrt(float(np.mean(x**2)))
    return x * (32768.0 * math.pow(10.0, dbfs / 20.0) / rms)


@pytest.fixture(scope="module", params=SENTENCES, ids=[voice for _, voice in SENTENCES])
def speech(request: pytest.FixtureRequest) -> bytes:
    """A sentence after ``LEAD_IN_MS`` of digital silence, cut to whole frames."""
    text, voice = request.param
    lead_in = bytes(SAMPLE_RATE * LEAD_IN_MS // 1000 * 2)
    return b"".join(frames_of(lead_in + synthesize(text, voice=voice)))


def test_voiced_frames_are_speech(speech: bytes) -> None:
    """Most loud (voiced) frames are judged speech, and nearly all fall inside ``speaking``."""
    results = run(speech)
    voiced = [r for r in results if r.level_dbfs > VOICED_DBFS]
    assert len(voiced) > 30
    assert sum(r.is_speech for r in voiced) >= 0.8 * len(voiced)
    assert sum(r.speaking for r in voiced) >= 0.9 * len(voiced)


def test_speaking_starts_within_barge_in_budget(speech: bytes) -> None:
    """``speaking`` turns on within 100 ms of the first voiced frame, and not before it."""
    results = run(speech)
    onset = next(i for i, r in enumerate(results) if r.level_dbfs > VOICED_DBFS)
    started = next(i for i, r in enumerate(results) if r.started)
    assert onset <= started
    assert (started - onset + 1) * FRAME_MS <= BARGE_IN_MS


def test_speaking_ends_after_hangover(speech: bytes) -> None:
    """Trailing silence ends ``speaking`` once, a hangover after the last speech frame."""
    results = run(speech + SILENCE * 50)
    last_speech = max(i for i, r in enumerate(results) if r.is_speech)
    ended = [i for i, r in enumerate(results) if r.ended]
    hangover_frames = VadSettings().hangover_ms // FRAME_MS
    assert ended[-1] == last_speech + hangover_frames
    assert not results[-1].speaking


def test_silence_is_not_speech() -> None:
    """Digital silence and faint hiss are never speech."""
    hiss = to_pcm(noise("white", 2.0, -75.0))
    assert not any(r.is_speech for r in run(SILENCE * 100 + hiss))


@pytest.mark.parametrize("colour", ["white", "pink", "brown"])
@pytest.mark.parametrize("dbfs", [-35.0, -25.0])
def test_noise_is_not_speech(colour: str, dbfs: float) -> None:
    """Steady noise of any colour at a moderate level never triggers ``speaking``."""
    results = run(to_pcm(noise(colour, 4.0, dbfs)))
    assert sum(r.is_speech for r in results) <= 0.02 * len(results)
    assert not any(r.speaking for r in results)


def test_quiet_speech_in_noise_after_adaptation() -> None:
    """Speech 20 dB softer than usual, over pink noise the floor has adapted to, is found."""
    text, voice = SENTENCES[0]
    voice_pcm = np.frombuffer(synthesize(text, voice=voice), dtype="<i2") * 10.0 ** (-20.0 / 20.0)
    lead_in = 3 * SAMPLE_RATE
    background = noise("pink", 3.0 + voice_pcm.size / SAMPLE_RATE + 1.0, -50.0)
    mixed = background.copy()
    mixed[lead_in : lead_in + voice_pcm.size] += voice_pcm
    results = run(to_pcm(mixed))

    lead_frames = lead_in // (FRAME_BYTES // 2)
    assert not any(r.speaking for r in results[:lead_frames])
    clean = frames_of(to_pcm(voice_pcm))
    voiced = [lead_frames + i for i, f in enumerate(clean) if rms_dbfs(f) > VOICED_DBFS - 20.0]
    assert sum(results[i].speaking for i in voiced) >= 0.85 * len(voiced)


def test_steady_tone_stops_counting() -> None:
    """A constant hum may pass for voice at first but is adapted out within seconds."""
    t = np.arange(10 * SAMPLE_RATE) / SAMPLE_RATE
    hum = sum(np.sin(2 * np.pi * 150.0 * k * t) / k for k in range(1, 12))
    results = run(to_pcm(hum / np.max(np.abs(hum)) * 3000.0))
    last_two_seconds = results[-2000 // FRAME_MS :]
    assert not any(r.is_speech for r in last_two_seconds)


def test_reset_forgets_adaptation() -> None:
    """After ``reset`` the detector judges a stream as a fresh one would."""
    detector = VoiceActivityDetector()
    run(to_pcm(noise("pink", 3.0, -30.0)), detector)
    detector.reset()
    text, voice = SENTENCES[0]
    pcm = synthesize(text, voice=voice)
    assert run(pcm, detector) == run(pcm)


def test_wrong_frame_size_is_rejected() -> None:
    """Only whole 20 ms frames are accepted."""
    with pytest.raises(ValueError, match="960"):
        VoiceActivityDetector().process(SILENCE[:-2])


def test_settings_are_validated() -> None:
    """Out-of-range settings fail at construction, naming the field."""
    with pytest.raises(ValueError, match="start_ms"):
        VadSettings(start_ms=0)
    with pytest.raises(ValueError, match="max_flatness"):
        VadSettings(max_flatness=1.5)
