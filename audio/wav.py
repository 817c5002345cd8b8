"""Crash-tolerant stereo recording: an incremental WAV writer and its repair.

The file is canonical RIFF/WAVE: a 44-byte header (``fmt`` chunk of PCM, then
``data``) followed by interleaved little-endian PCM16, left channel first.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import BinaryIO, NamedTuple, Self

import numpy as np

from audio.frames import SAMPLE_BYTES, SAMPLE_RATE, to_samples

CHANNELS = 2
BLOCK_ALIGN = CHANNELS * SAMPLE_BYTES  # bytes per stereo sample frame
HEADER_BYTES = 44
# How much audio may sit behind a stale header: a crash loses at most this
# much to a naive reader (and nothing that reached the OS, after repair()).
HEADER_REFRESH_MS = 1000
HEADER_REFRESH_FRAMES = SAMPLE_RATE * HEADER_REFRESH_MS // 1000
# RIFF sizes are unsigned 32-bit; the RIFF size field counts 36 header bytes too.
MAX_DATA_BYTES = 0xFFFFFFFF - (HEADER_BYTES - 8)

_HEADER = struct.Struct("<4sI4s4sIHHIIHH4sI")
_PCM_FORMAT = 1
_FMT_CHUNK_BYTES = 16
_RIFF_SIZE_OFFSET = 4
_DATA_SIZE_OFFSET = 40


class WavFormatError(ValueError):
    """The file is not a canonical 44-byte-header PCM WAV this module can repair."""


class _Header(NamedTuple):
    """The canonical header's fields, in file order."""

    riff: bytes
    riff_bytes: int
    wave: bytes
    fmt: bytes
    fmt_bytes: int
    audio_format: int
    channels: int
    rate: int
    byte_rate: int
    block_align: int
    bits: int
    data: bytes
    data_bytes: int

    @classmethod
    def canonical(
        cls, data_bytes: int, channels: int = CHANNELS, rate: int = SAMPLE_RATE
    ) -> _Header:
        block_align = channels * SAMPLE_BYTES
        return cls(
            b"RIFF",
            HEADER_BYTES - 8 + data_bytes,
            b"WAVE",
            b"fmt ",
            _FMT_CHUNK_BYTES,
            _PCM_FORMAT,
            channels,
            rate,
            rate * block_align,
            block_align,
            SAMPLE_BYTES * 8,
            b"data",
            data_bytes,
        )

    def is_canonical_pcm(self) -> bool:
        """Whether this is a PCM header this module can size (any rate and channels)."""
        return (
            (self.riff, self.wave, self.fmt, self.data) == (b"RIFF", b"WAVE", b"fmt ", b"data")
            and self.fmt_bytes == _FMT_CHUNK_BYTES
            and self.audio_format == _PCM_FORMAT
            and self.rate > 0
            and self.channels > 0
            and self.block_align == self.channels * self.bits // 8 > 0
        )


class PcmFormat(NamedTuple):
    """What a canonical PCM header says about the audio after it."""

    channels: int
    rate: int
    block_align: int  # bytes per sample frame (all channels)


def pcm_format(head: bytes) -> PcmFormat:
    """The format in a canonical 44-byte PCM header; raise WavFormatError otherwise."""
    if len(head) < HEADER_BYTES:
        raise WavFormatError("shorter than a WAV header")
    header = _Header._make(_HEADER.unpack(head[:HEADER_BYTES]))
    if not header.is_canonical_pcm():
        raise WavFormatError("not a canonical PCM WAV header")
    return PcmFormat(header.channels, header.rate, header.block_align)


def pcm16_header(data_bytes: int, channels: int, rate: int = SAMPLE_RATE) -> bytes:
    """The canonical 44-byte header of ``data_bytes`` of PCM16 in ``channels`` channels."""
    if not 0 <= data_bytes <= MAX_DATA_BYTES:
        raise ValueError(f"data size out of the WAV range: {data_bytes}")
    return _HEADER.pack(*_Header.canonical(data_bytes, channels, rate))


def _write_sizes(file: BinaryIO, data_bytes: int) -> None:
    """Patch both size fields in place; the file position is restored to the end."""
    file.seek(_RIFF_SIZE_OFFSET)
    file.write(struct.pack("<I", HEADER_BYTES - 8 + data_bytes))
    file.seek(_DATA_SIZE_OFFSET)
    file.write(struct.pack("<I", data_bytes))
    file.seek(0, os.SEEK_END)
    file.flush()


class StereoWavWriter:
    """Append-only 24 kHz stereo PCM16 WAV file, playable even after a crash.

    Opening creates (or truncates) ``path`` and writes a header for zero
    samples. Every ``HEADER_REFRESH_MS`` of audio, and on :meth:`close`, the
    header sizes are rewritten and the file is flushed to the OS, so a process
    crash leaves a valid file missing at most that much at its end.
    Memory use is constant: each write goes straight to the file.

    Usable as a context manager; :meth:`close` is idempotent.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._file: BinaryIO = open(self.path, "wb")  # noqa: SIM115 - closed by close()
        self._frames = 0
        self._frames_at_header = 0
        self._file.write(_HEADER.pack(*_Header.canonical(0)))
        self._file.flush()

    @property
    def frames_written(self) -> int:
        """Stereo sample frames written so far (samples per channel, not 20 ms frames)."""
        return self._frames

    @property
    def duration_ms(self) -> int:
        """Length of the audio written so far, in whole milliseconds."""
        return self._frames * 1000 // SAMPLE_RATE

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has run."""
        return self._file.closed

    def write(self, left: bytes, right: bytes) -> None:
        """Append ``left`` and ``right`` (mono PCM16, equal length) as one stereo span.

        Raises ValueError if the lengths differ or are not whole samples, if the
        writer is closed, or if the file would outgrow the 4 GiB RIFF limit.
        """
        if len(left) != len(right):
            raise ValueError(f"channel lengths differ: {len(left)} != {len(right)} bytes")
        if len(left) % SAMPLE_BYTES:
            raise ValueError(f"PCM16 needs whole samples, got {len(left)} bytes")
        if self.closed:
            raise ValueError("write to a closed StereoWavWriter")
        count = len(left) // SAMPLE_BYTES
        if (self._frames + count) * BLOCK_ALIGN > MAX_DATA_BYTES:
            raise ValueError("recording would exceed the WAV size limit")
        stereo = np.empty((count, CHANNELS), dtype="<i2")
        stereo[:, 0] = to_samples(left)
        stereo[:, 1] = to_samples(right)
        self._file.write(stereo.tobytes())
        self._frames += count
        if self._frames - self._frames_at_header >= HEADER_REFRESH_FRAMES:
            self._refresh_header()

    def flush(self) -> None:
        """Hand every sample written so far to the OS, so another reader sees it."""
        self._file.flush()

    def close(self) -> None:
        """Write the final header and close the file; later calls do nothing."""
        if self.closed:
            return
        try:
            self._refresh_header()
        finally:
            self._file.close()

    def _refresh_header(self) -> None:
        _write_sizes(self._file, self._frames * BLOCK_ALIGN)
        self._frames_at_header = self._frames

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def repair(path: str | os.PathLike[str]) -> int:
    """Make the header of a canonical PCM WAV match the file's real length.

    Meant for a recording whose writer never closed (crash, kill). A trailing
    partial sample frame is truncated. Returns the audio duration in whole
    milliseconds. Raises WavFormatError if the file does not start with a
    canonical 44-byte PCM header, or holds more data than RIFF can describe.
    """
    with open(path, "r+b") as file:
        head = file.read(HEADER_BYTES)
        if len(head) < HEADER_BYTES:
            raise WavFormatError(f"{path}: shorter than a WAV header")
        header = _Header._make(_HEADER.unpack(head))
        if not header.is_canonical_pcm():
            raise WavFormatError(f"{path}: not a canonical PCM WAV header")
        data_bytes = file.seek(0, os.SEEK_END) - HEADER_BYTES
        data_bytes -= data_bytes % header.block_align
        if data_bytes > MAX_DATA_BYTES:
            raise WavFormatError(f"{path}: data exceeds the WAV size limit")
        file.truncate(HEADER_BYTES + data_bytes)
        _write_sizes(file, data_bytes)
        return data_bytes // header.block_align * 1000 // header.rate
