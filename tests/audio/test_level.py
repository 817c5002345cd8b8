"""RMS levels in dBFS and the 0..1 UI meter."""

from __future__ import annotations

import numpy as np
import pytest

from audio.frames import FRAME_SAMPLES, SAMPLE_RATE, SILENCE
from audio.level import FLOOR_DBFS, meter, rms_dbfs

FULL_SCALE_SINE_DBFS = -3.0103  # 20 * log10(1 / sqrt(2))


def sine_frame(amplitude: float, hz: float = 1000.0) -> bytes:
    t = np.arange(FRAME_SAMPLES) / SAMPLE_RATE
    return np.round(np.sin(2 * np.pi * hz * t) * amplitude).astype("<i2").tobytes()


def test_silence_reads_floor() -> None:
    """Digital silence and empty input read ``FLOOR_DBFS``, not -inf."""
    assert rms_dbfs(SILENCE) == FLOOR_DBFS
    assert rms_dbfs(b"") == FLOOR_DBFS


def test_full_scale_sine_reads_minus_3_dbfs() -> None:
    """A full-scale sine's RMS is 3 dB below full scale."""
    assert rms_dbfs(sine_frame(32767)) == pytest.approx(FULL_SCALE_SINE_DBFS, abs=0.01)


def test_full_scale_square_reads_0_dbfs() -> None:
    """A full-scale square wave is the 0 dBFS reference."""
    square = np.tile(np.array([32767, -32768], dtype="<i2"), FRAME_SAMPLES // 2)
    assert rms_dbfs(square.tobytes()) == pytest.approx(0.0, abs=0.01)


def test_level_scales_with_amplitude() -> None:
    """A tenth of the amplitude reads 20 dB lower."""
    assert rms_dbfs(sine_frame(3276.7)) == pytest.approx(FULL_SCALE_SINE_DBFS - 20.0, abs=0.01)


def test_meter_spans_floor_to_full_scale() -> None:
    """The meter is 0 at silence, about 1 at full scale, and linear in dB between."""
    assert meter(SILENCE) == 0.0
    assert meter(sine_frame(32767)) == pytest.approx(1.0 + FULL_SCALE_SINE_DBFS / 60.0, abs=0.01)
    half = sine_frame(32767 * 10 ** ((-30.0 - FULL_SCALE_SINE_DBFS) / 20.0))
    assert meter(half) == pytest.approx(0.5, abs=0.01)


def test_meter_clamps_below_floor() -> None:
    """Anything quieter than the meter floor reads exactly 0."""
    assert meter(sine_frame(10.0)) == 0.0


def test_meter_rejects_floor_at_or_above_full_scale() -> None:
    """A non-negative meter floor is meaningless and raises ValueError."""
    with pytest.raises(ValueError, match="floor"):
        meter(SILENCE, floor_dbfs=0.0)
