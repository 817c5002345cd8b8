"""The recording in segments: what reaches the store while an interview runs.

The contract (docs/architecture.md, "The recording in segments"), which a
replica taking an interview over relies on:

    sessions/<session_id>/segments/<epoch>-<seq>-<start>.pcm

``epoch`` is the writer's fencing token (`DEFAULT_EPOCH` where nothing
fences), ``seq`` counts the writer's segments from 0, ``start`` is the
segment's first sample on the interview's timeline (24 kHz samples since the
interview started). Each is zero-padded so that keys sort by epoch, then
sequence. The body is bare interleaved stereo PCM16 (L candidate, R
interviewer), no header; its length is the object's size over
`BLOCK_ALIGN`. A segment holds at most 10 s of audio.

`plan` lays a session's segments on its timeline: where two overlap, the
higher epoch wins (a replica that took over rewrites what its predecessor
may have half-written); a stretch nobody wrote (an outage, a takeover's gap)
is silence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from audio.wav import BLOCK_ALIGN
from gateway.s2s.artifacts import StoredObject, session_prefix

# Where no ownership fences writers (one replica, or none configured).
DEFAULT_EPOCH = 1
SEGMENT_SUFFIX = ".pcm"
_NAME = re.compile(r"(\d{10})-(\d{8})-(\d{12})\.pcm")


def segments_prefix(session_id: str) -> str:
    return f"{session_prefix(session_id)}segments/"


@dataclass(frozen=True, order=True)
class SegmentName:
    """Who wrote a segment (``epoch``), its place among the writer's (``seq``), and
    where it starts on the interview's timeline (``start``, in samples)."""

    epoch: int
    seq: int
    start: int

    def key(self, session_id: str) -> str:
        return (
            f"{segments_prefix(session_id)}"
            f"{self.epoch:010d}-{self.seq:08d}-{self.start:012d}{SEGMENT_SUFFIX}"
        )

    @classmethod
    def parse(cls, key: str) -> SegmentName | None:
        """The name in a segment key, or None for a key that is not one."""
        found = _NAME.fullmatch(key.rpartition("/")[2])
        if found is None:
            return None
        epoch, seq, start = (int(part) for part in found.groups())
        return cls(epoch, seq, start)


@dataclass(frozen=True)
class StoredSegment:
    name: SegmentName
    key: str
    samples: int

    @property
    def end(self) -> int:
        return self.name.start + self.samples


@dataclass(frozen=True)
class Piece:
    """Samples ``start`` to ``end`` (exclusive) of the timeline: from ``segment``,
    beginning at its sample ``offset``, or silence when ``segment`` is None."""

    start: int
    end: int
    segment: StoredSegment | None = None
    offset: int = 0

    @property
    def samples(self) -> int:
        return self.end - self.start


def stored_segments(objects: Iterable[StoredObject]) -> list[StoredSegment]:
    """The segments among a session's stored objects (other keys are ignored)."""
    found = []
    for item in objects:
        name = SegmentName.parse(item.key)
        if name is not None and item.size >= BLOCK_ALIGN:
            found.append(StoredSegment(name, item.key, item.size // BLOCK_ALIGN))
    return found


def plan(segments: Iterable[StoredSegment]) -> list[Piece]:
    """The whole timeline, from sample 0 to the last segment's end, in order."""
    covered: list[Piece] = []
    for segment in sorted(segments, key=lambda s: s.name):
        covered = _overlay(covered, Piece(segment.name.start, segment.end, segment))
    pieces: list[Piece] = []
    position = 0
    for piece in covered:
        if piece.start > position:
            pieces.append(Piece(position, piece.start))
        pieces.append(piece)
        position = piece.end
    return pieces


def _overlay(covered: list[Piece], top: Piece) -> list[Piece]:
    """``covered`` (sorted, disjoint) with ``top`` laid over it."""
    result = []
    for piece in covered:
        if piece.end <= top.start or piece.start >= top.end:
            result.append(piece)
            continue
        if piece.start < top.start:
            result.append(Piece(piece.start, top.start, piece.segment, piece.offset))
        if piece.end > top.end:
            cut = top.end - piece.start
            result.append(Piece(top.end, piece.end, piece.segment, piece.offset + cut))
    result.append(top)
    return sorted(result, key=lambda piece: piece.start)
