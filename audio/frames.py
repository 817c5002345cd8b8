"""The internal audio frame: 20 ms of mono signed 16-bit PCM at 24 kHz."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 24_000
FRAME_MS = 20
FRAME_SEC = FRAME_MS / 1000
FRAMES_PER_SEC = 1000 // FRAME_MS  # 50
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000  # 480
SAMPLE_BYTES = 2
FRAME_BYTES = FRAME_SAMPLES * SAMPLE_BYTES  # 960
SILENCE = bytes(FRAME_BYTES)

Samples = npt.NDArray[np.int16]


def to_samples(pcm: bytes) -> Samples:
    """View little-endian PCM16 bytes as int16 samples (no copy)."""
    return np.frombuffer(pcm, dtype="<i2")


def split_frames(pcm: bytes) -> tuple[list[bytes], bytes]:
    """Cut ``pcm`` into whole frames; return them and the leftover tail."""
    whole = len(pcm) - len(pcm) % FRAME_BYTES
    frames = [pcm[i : i + FRAME_BYTES] for i in range(0, whole, FRAME_BYTES)]
    return frames, pcm[whole:]


def ms_to_frames(ms: int) -> int:
    """Number of whole frames in ``ms`` milliseconds, rounding up."""
    return -(-ms // FRAME_MS)
