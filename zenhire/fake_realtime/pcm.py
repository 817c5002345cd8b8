"""The audio of the realtime API: PCM16 little-endian at 24 kHz, sent as base64.

Pure functions and constants; the voice detector reads loudness over
`WINDOW_MS` windows.
"""

from __future__ import annotations

import base64
import binascii

import numpy as np

RATE = 24_000
WINDOW_MS = 20
WINDOW_SAMPLES = RATE * WINDOW_MS // 1000
BYTES_PER_MS = RATE * 2 // 1000
PCM_FORMAT = {"type": "audio/pcm", "rate": RATE}


def decode_pcm(audio: object) -> bytes:
    """Base64 PCM16; raise ValueError if it is not."""
    if not isinstance(audio, str):
        raise ValueError("audio must be a base64 string")
    try:
        pcm = base64.b64decode(audio, validate=True)
    except binascii.Error as exc:
        raise ValueError("audio is not valid base64") from exc
    if len(pcm) % 2:
        raise ValueError("audio must hold whole PCM16 samples")
    return pcm


def pcm_rms_windows(pcm: bytes) -> list[float]:
    """RMS of each whole 20 ms window of ``pcm`` (PCM16 little-endian)."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    whole = len(samples) - len(samples) % WINDOW_SAMPLES
    windows = samples[:whole].reshape(-1, WINDOW_SAMPLES)
    return [float(value) for value in np.sqrt(np.mean(windows**2, axis=1))]
