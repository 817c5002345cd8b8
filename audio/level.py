"""Loudness of PCM16 audio: RMS in dBFS, and a 0..1 meter value for the UI."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from audio.frames import to_samples

FULL_SCALE = 32768.0
# Digital silence has no finite level; report this instead of -inf.
FLOOR_DBFS = -100.0
# The meter's zero: quieter than any usable microphone signal.
METER_FLOOR_DBFS = -60.0


def samples_dbfs(samples: npt.NDArray[np.integer] | npt.NDArray[np.floating]) -> float:
    """RMS level of PCM16-scaled samples in dBFS, clamped below at ``FLOOR_DBFS``.

    0 dBFS is the RMS of a full-scale square wave, so a full-scale sine reads
    about -3.01 dBFS. An empty array reads ``FLOOR_DBFS``.
    """
    if samples.size == 0:
        return FLOOR_DBFS
    x = samples.astype(np.float64)
    mean_square = float(np.dot(x, x)) / x.size
    if mean_square <= 0.0:
        return FLOOR_DBFS
    return max(FLOOR_DBFS, 10.0 * math.log10(mean_square / FULL_SCALE**2))


def rms_dbfs(pcm: bytes) -> float:
    """RMS level of mono or interleaved PCM16 bytes in dBFS (see :func:`samples_dbfs`)."""
    return samples_dbfs(to_samples(pcm))


def meter(pcm: bytes, floor_dbfs: float = METER_FLOOR_DBFS) -> float:
    """Level mapped linearly in dB onto 0..1: ``floor_dbfs`` and below is 0, 0 dBFS is 1."""
    if floor_dbfs >= 0.0:
        raise ValueError(f"meter floor must be below 0 dBFS, got {floor_dbfs}")
    position = (rms_dbfs(pcm) - floor_dbfs) / -floor_dbfs
    return min(1.0, max(0.0, position))
