"""Reading recordings back in tests."""

from __future__ import annotations

import io

import numpy as np
import numpy.typing as npt
import soundfile

Samples = npt.NDArray[np.float64]


def stereo_channels(wav: bytes) -> tuple[Samples, Samples, int]:
    """Left and right channels of a stereo WAV as float samples, and its rate."""
    samples, rate = soundfile.read(io.BytesIO(wav), dtype="int16")
    assert samples.ndim == 2 and samples.shape[1] == 2
    return samples[:, 0].astype(np.float64), samples[:, 1].astype(np.float64), int(rate)


def rms(samples: Samples) -> float:
    return float(np.sqrt(np.mean(samples**2))) if len(samples) else 0.0
