"""Resampling keeps duration and pitch, streaming and one-shot alike."""

from __future__ import annotations

import numpy as np
import pytest

from audio.frames import FRAME_MS
from audio.resample import Resampler, resample
from zenhire.loopback.speech import synthesize

RATE_PAIRS = [(48_000, 24_000), (24_000, 48_000), (22_050, 24_000), (24_000, 16_000)]
TONE_HZ = 440.0
LENGTH_SLACK = 3  # samples


def tone(rate: int, seconds: float = 1.0, hz: float = TONE_HZ) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    return (np.sin(2 * np.pi * hz * t) * 12_000).astype("<i2").tobytes()


def peak_hz(pcm: bytes, rate: int) -> float:
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size), n=4 * x.size))
    return float(np.fft.rfftfreq(4 * x.size, 1.0 / rate)[np.argmax(spectrum)])


def stream(resampler: Resampler, pcm: bytes, rate: int) -> bytes:
    chunk = rate * FRAME_MS // 1000 * 2
    parts = [resampler.process(pcm[i : i + chunk]) for i in range(0, len(pcm), chunk)]
    return b"".join(parts) + resampler.flush()


@pytest.mark.parametrize(("from_rate", "to_rate"), RATE_PAIRS)
def test_stream_keeps_length(from_rate: int, to_rate: int) -> None:
    """Streaming 20 ms chunks yields the rescaled sample count, within a few samples."""
    out = stream(Resampler(from_rate, to_rate), tone(from_rate), from_rate)
    assert abs(len(out) // 2 - to_rate) <= LENGTH_SLACK


@pytest.mark.parametrize(("from_rate", "to_rate"), RATE_PAIRS)
def test_stream_keeps_frequency(from_rate: int, to_rate: int) -> None:
    """A 440 Hz tone is still 440 Hz after conversion."""
    out = stream(Resampler(from_rate, to_rate), tone(from_rate), from_rate)
    assert peak_hz(out, to_rate) == pytest.approx(TONE_HZ, abs=1.0)


@pytest.mark.parametrize(("from_rate", "to_rate"), RATE_PAIRS)
def test_one_shot_keeps_length_and_frequency(from_rate: int, to_rate: int) -> None:
    """``resample`` scales a clip's length and keeps its pitch."""
    out = resample(tone(from_rate), from_rate, to_rate)
    assert abs(len(out) // 2 - to_rate) <= LENGTH_SLACK
    assert peak_hz(out, to_rate) == pytest.approx(TONE_HZ, abs=1.0)


def test_round_trip_preserves_waveform() -> None:
    """24 kHz -> 48 kHz -> 24 kHz returns the same waveform, aligned, to within 40 dB."""
    original = tone(24_000)
    back = stream(
        Resampler(48_000, 24_000), stream(Resampler(24_000, 48_000), original, 24_000), 48_000
    )
    a = np.frombuffer(original, dtype="<i2").astype(np.float64)
    b = np.frombuffer(back, dtype="<i2").astype(np.float64)
    n = min(a.size, b.size)
    assert abs(a.size - b.size) <= LENGTH_SLACK
    inner = slice(100, n - 100)  # the filters ring at the clip's hard edges
    error = a[inner] - b[inner]
    snr_db = 10 * np.log10(np.sum(a[inner] ** 2) / np.sum(error**2))
    assert snr_db > 40.0


def test_speech_matches_sox() -> None:
    """eSpeak output converted 22.05 -> 24 kHz by us matches SoX's own conversion."""
    text = "Tell me about a project you are proud of."
    ours = np.frombuffer(resample(synthesize(text, 22_050), 22_050, 24_000), dtype="<i2")
    theirs = np.frombuffer(synthesize(text, 24_000), dtype="<i2")
    assert abs(ours.size - theirs.size) <= LENGTH_SLACK
    n = min(ours.size, theirs.size)
    correlation = np.corrcoef(ours[:n].astype(np.float64), theirs[:n].astype(np.float64))[0, 1]
    assert correlation > 0.99


def test_flush_readies_a_fresh_stream() -> None:
    """After ``flush`` a resampler converts a new stream like a new one (to rounding)."""
    pcm = tone(48_000, seconds=0.5)
    reused = Resampler(48_000, 24_000)
    stream(reused, tone(48_000, seconds=0.3, hz=1000.0), 48_000)
    again = np.frombuffer(stream(reused, pcm, 48_000), dtype="<i2").astype(np.int32)
    fresh = np.frombuffer(stream(Resampler(48_000, 24_000), pcm, 48_000), dtype="<i2")
    assert again.size == fresh.size
    assert np.max(np.abs(again - fresh)) <= 2


def test_equal_rates_pass_through() -> None:
    """Same input and output rate returns the bytes unchanged, with nothing held back."""
    pcm = tone(24_000, seconds=0.1)
    resampler = Resampler(24_000, 24_000)
    assert resampler.process(pcm) == pcm
    assert resampler.flush() == b""
    assert resample(pcm, 24_000, 24_000) == pcm


def test_partial_sample_is_rejected() -> None:
    """An odd byte count is not PCM16 and raises ValueError."""
    with pytest.raises(ValueError, match="whole samples"):
        Resampler(48_000, 24_000).process(b"\x00\x01\x02")
    with pytest.raises(ValueError, match="whole samples"):
        resample(b"\x00", 48_000, 24_000)


def test_nonpositive_rate_is_rejected() -> None:
    """A zero or negative rate raises ValueError."""
    with pytest.raises(ValueError, match="positive"):
        Resampler(0, 24_000)
