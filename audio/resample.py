"""Sample-rate conversion of mono PCM16 at the edges (Opus 48 kHz, 16 kHz upstreams)."""

from __future__ import annotations

import numpy as np
import soxr

from audio.frames import SAMPLE_BYTES, to_samples

# "HQ" is soxr's 20-bit-precision preset: transparent for 16-bit speech, with a
# few milliseconds of filter delay, which suits live streaming.
QUALITY = "HQ"


def _check_pcm(pcm: bytes) -> None:
    if len(pcm) % SAMPLE_BYTES:
        raise ValueError(f"PCM16 needs whole samples, got {len(pcm)} bytes")


def _check_rate(rate: int) -> None:
    if rate <= 0:
        raise ValueError(f"sample rate must be positive, got {rate}")


class Resampler:
    """Streaming mono PCM16 converter from ``from_rate`` to ``to_rate``.

    Feed chunks of any whole-sample size to :meth:`process`; each call returns
    whatever output is ready (possibly nothing, while soxr fills its filter).
    :meth:`flush` drains the filter at the end of a stream and readies the
    resampler for a new one. Across a stream, total output length is the input
    length scaled by ``to_rate / from_rate`` within a sample or two.

    soxr works in blocks, so output arrives in bursts (with 20 ms input
    chunks, typically nothing, then two chunks' worth); callers that need
    fixed frames reframe it (:func:`audio.frames.split_frames`). Buffering is
    bounded by soxr's block and filter length (tens of milliseconds); nothing
    is ever dropped. Equal rates pass bytes through unchanged.
    """

    def __init__(self, from_rate: int, to_rate: int) -> None:
        _check_rate(from_rate)
        _check_rate(to_rate)
        self.from_rate = from_rate
        self.to_rate = to_rate
        self._stream = (
            None
            if from_rate == to_rate
            else soxr.ResampleStream(from_rate, to_rate, 1, dtype="int16", quality=QUALITY)
        )

    def process(self, pcm: bytes) -> bytes:
        """Convert the next chunk of the stream; raise ValueError on a partial sample."""
        _check_pcm(pcm)
        if self._stream is None:
            return pcm
        return self._run(pcm, last=False)

    def flush(self) -> bytes:
        """Return the output still held in the filter and reset for a fresh stream."""
        if self._stream is None:
            return b""
        tail = self._run(b"", last=True)
        self._stream.clear()
        return tail

    def _run(self, pcm: bytes, *, last: bool) -> bytes:
        assert self._stream is not None
        out = self._stream.resample_chunk(to_samples(pcm), last=last)
        return np.asarray(out, dtype="<i2").tobytes()


def resample(pcm: bytes, from_rate: int, to_rate: int) -> bytes:
    """Convert a whole mono PCM16 clip; its length scales by ``to_rate / from_rate``."""
    _check_rate(from_rate)
    _check_rate(to_rate)
    _check_pcm(pcm)
    if from_rate == to_rate or not pcm:
        return pcm
    out = soxr.resample(to_samples(pcm), from_rate, to_rate, quality=QUALITY)
    return np.asarray(out, dtype="<i2").tobytes()
