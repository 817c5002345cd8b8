"""A stretch of a recording as a WAV file of its own, read in byte ranges.

A `Clip` is planned from a canonical PCM16 recording's header and size, a
time span in milliseconds and the source channels to keep. It is a virtual
file: a fresh 44-byte header followed by the kept channels' samples of that
span. `Clip.read_plan` maps any inclusive byte range of the virtual file to
the header bytes it covers and the source bytes to read; a `ChannelPicker`
turns those source bytes, in chunks of any size, into exactly the clip's bytes.

Bounds past the end of the recording are clipped to it (a span that starts
past the end is an empty clip, still a valid WAV); a span whose end comes
before its start is a `ValueError`. A span is cut on sample frames:
``from_ms`` and ``to_ms`` become ``ms * rate // 1000`` frames, so at 24 kHz the
clip holds exactly ``to_ms - from_ms`` milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from audio.frames import SAMPLE_BYTES
from audio.wav import HEADER_BYTES, WavFormatError, pcm16_header, pcm_format


@dataclass(frozen=True)
class SourceRead:
    """What to read from the recording for one byte range of a clip."""

    header: bytes  # the clip header's bytes inside the range
    first: int  # inclusive source byte range; first > last when the range holds no samples
    last: int
    skip: int  # clip bytes to drop before the range's first sample byte
    length: int  # sample bytes of the clip in the range


@dataclass(frozen=True)
class Clip:
    rate: int
    source_channels: int
    keep: tuple[int, ...]  # indices of the source channels in the clip, in order
    first_frame: int  # of the source
    frames: int

    @classmethod
    def plan(
        cls,
        source_head: bytes,
        source_size: int,
        from_ms: int,
        to_ms: int | None,
        keep: Sequence[int] | None = None,
    ) -> Clip:
        """The clip of ``[from_ms, to_ms)`` (``None``: to the end) of a recording.

        ``source_head`` is the recording's first 44 bytes and ``source_size``
        its byte size; ``keep`` (default: every channel) the channels to keep.
        Raise WavFormatError for a header that is not canonical PCM16 and
        ValueError for negative or inverted bounds or an unknown channel.
        """
        source = pcm_format(source_head)
        if source.block_align != source.channels * SAMPLE_BYTES:
            raise WavFormatError("not 16-bit PCM")
        if from_ms < 0 or (to_ms is not None and to_ms < from_ms):
            raise ValueError(f"bad clip bounds: {from_ms}..{to_ms} ms")
        kept = tuple(range(source.channels)) if keep is None else tuple(keep)
        if not kept or any(not 0 <= index < source.channels for index in kept):
            raise ValueError(f"no such channels in a {source.channels}-channel recording: {kept}")
        total = max(0, source_size - HEADER_BYTES) // source.block_align
        first = min(total, from_ms * source.rate // 1000)
        end = total if to_ms is None else min(total, to_ms * source.rate // 1000)
        return cls(source.rate, source.channels, kept, first, end - first)

    @property
    def block_align(self) -> int:
        """Bytes per sample frame of the clip."""
        return len(self.keep) * SAMPLE_BYTES

    @property
    def duration_ms(self) -> int:
        return self.frames * 1000 // self.rate

    @property
    def size(self) -> int:
        """Byte size of the clip as a WAV file."""
        return HEADER_BYTES + self.frames * self.block_align

    @property
    def header(self) -> bytes:
        return pcm16_header(self.frames * self.block_align, len(self.keep), self.rate)

    def read_plan(self, start: int, end: int) -> SourceRead:
        """How to produce bytes ``start`` to ``end`` (inclusive) of the clip file."""
        if not 0 <= start <= end < self.size:
            raise ValueError(f"range {start}-{end} outside a clip of {self.size} bytes")
        header = self.header[start : end + 1]
        data_start, data_end = max(start, HEADER_BYTES) - HEADER_BYTES, end - HEADER_BYTES
        if data_end < data_start:
            return SourceRead(header, 0, -1, 0, 0)
        first_frame = data_start // self.block_align
        last_frame = data_end // self.block_align
        source_align = self.source_channels * SAMPLE_BYTES
        return SourceRead(
            header=header,
            first=HEADER_BYTES + (self.first_frame + first_frame) * source_align,
            last=HEADER_BYTES + (self.first_frame + last_frame + 1) * source_align - 1,
            skip=data_start - first_frame * self.block_align,
            length=data_end - data_start + 1,
        )

    def picker(self, read: SourceRead) -> ChannelPicker:
        return ChannelPicker(self.source_channels, self.keep, read.skip, read.length)


class ChannelPicker:
    """Source sample frames in, the kept channels' bytes out, trimmed to one range.

    Chunks may split a sample frame anywhere: at most one partial frame
    (under 8 bytes for stereo) is carried to the next `feed`. Output stops
    after ``length`` bytes; the first ``skip`` bytes are dropped.
    """

    def __init__(self, source_channels: int, keep: Sequence[int], skip: int, length: int) -> None:
        self._channels = source_channels
        self._keep = list(keep)
        self._identity = self._keep == list(range(source_channels))
        self._align = source_channels * SAMPLE_BYTES
        self._carry = b""
        self._skip = skip
        self._remaining = length

    @property
    def done(self) -> bool:
        return self._remaining == 0

    def feed(self, chunk: bytes) -> bytes:
        data = self._carry + chunk
        whole = len(data) - len(data) % self._align
        self._carry = data[whole:]
        picked = data[:whole]
        if not self._identity and picked:
            frames = np.frombuffer(picked, dtype="<i2").reshape(-1, self._channels)
            picked = np.ascontiguousarray(frames[:, self._keep]).tobytes()
        if self._skip:
            dropped = min(self._skip, len(picked))
            picked, self._skip = picked[dropped:], self._skip - dropped
        picked = picked[: self._remaining]
        self._remaining -= len(picked)
        return picked
