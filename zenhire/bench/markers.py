"""Frame marks: who sent a 20 ms frame, and its sequence number, in its first samples.

A mark overwrites the first `MARK_BYTES` of a PCM16 frame (four samples, a
sixth of a millisecond) with a magic number, a sender number and a frame
index. It survives every lossless hop (WebSocket, base64 JSON); a lossy
codec destroys it, and the WebRTC path is matched by content instead
(`Fingerprints`).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass

from audio.frames import FRAME_BYTES

_MARK = struct.Struct("<hHI")
MARK_BYTES = _MARK.size
CANDIDATE_MAGIC = 0x5A17
INTERVIEWER_MAGIC = 0x3C29


@dataclass(frozen=True)
class Mark:
    magic: int
    sender: int
    index: int


def mark(frame: bytes, magic: int, sender: int, index: int) -> bytes:
    """``frame`` with its first samples replaced by the mark."""
    return _MARK.pack(magic, sender & 0xFFFF, index & 0xFFFFFFFF) + frame[MARK_BYTES:]


def read_mark(frame: bytes | memoryview, offset: int = 0) -> Mark | None:
    """The mark at ``offset`` in ``frame``, or None if it carries none."""
    if len(frame) < offset + MARK_BYTES:
        return None
    magic, sender, index = _MARK.unpack_from(frame, offset)
    if magic not in (CANDIDATE_MAGIC, INTERVIEWER_MAGIC):
        return None
    return Mark(magic, sender, index)


class Fingerprints:
    """Frames known by their exact content: index of each frame whose bytes are unique.

    For a lossy hop (Opus) whose decoder output is deterministic: decode the
    packets the sender will send, exactly as the receiver does, and look each
    frame the far end receives up here. Frames whose content repeats
    (silence) are left out: they cannot be told apart.
    """

    def __init__(self, frames: Iterable[bytes]) -> None:
        seen: dict[bytes, int] = {}
        repeated: set[bytes] = set()
        for index, frame in enumerate(frames):
            if len(frame) != FRAME_BYTES:
                continue
            if frame in seen:
                repeated.add(frame)
            else:
                seen[frame] = index
        self._index = {frame: i for frame, i in seen.items() if frame not in repeated}

    def __len__(self) -> int:
        return len(self._index)

    def index(self, frame: bytes) -> int | None:
        return self._index.get(frame)

    def indices(self) -> set[int]:
        return set(self._index.values())
