"""A session's segments, assembled into one stereo WAV on the interview's timeline.

At completion the store holds the segments every writer left (one epoch per
owner; `gateway.session.segments`). `assemble` lays them out with
`segments.plan`, writes a canonical WAV to a local file (silence for every
gap, the higher epoch wherever two overlap) reading each piece with one
ranged GET, and returns its duration. Memory stays at one chunk: the file
is then stored as one object, which the S2S endpoints serve with Range.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import BinaryIO

from audio.frames import SAMPLE_RATE
from audio.wav import BLOCK_ALIGN, pcm16_header
from gateway.errors import ArtifactStoreUnavailable
from gateway.s2s.artifacts import READ_CHUNK_BYTES, ArtifactStore
from gateway.session.segments import Piece, plan, segments_prefix, stored_segments

CHANNELS = 2
SILENCE_CHUNK = bytes(READ_CHUNK_BYTES)


async def assemble(store: ArtifactStore, session_id: str, target: Path) -> int:
    """Write the session's recording to ``target``; return its duration in ms."""
    pieces = plan(stored_segments(await store.list(segments_prefix(session_id))))
    samples = pieces[-1].end if pieces else 0
    handle = await asyncio.to_thread(target.open, "wb")
    try:
        await asyncio.to_thread(handle.write, pcm16_header(samples * BLOCK_ALIGN, CHANNELS))
        for piece in pieces:
            await _write_piece(store, piece, handle)
    finally:
        await asyncio.to_thread(handle.close)
    return samples * 1000 // SAMPLE_RATE


async def delete_segments(store: ArtifactStore, session_id: str) -> int:
    """Remove the session's segments; how many there were."""
    found = await store.list(segments_prefix(session_id))
    for item in found:
        await store.delete(item.key)
    return len(found)


async def _write_piece(store: ArtifactStore, piece: Piece, handle: BinaryIO) -> None:
    if piece.segment is None:
        remaining = piece.samples * BLOCK_ALIGN
        while remaining > 0:
            chunk = SILENCE_CHUNK[: min(remaining, len(SILENCE_CHUNK))]
            await asyncio.to_thread(handle.write, chunk)
            remaining -= len(chunk)
        return
    first = piece.offset * BLOCK_ALIGN
    wanted = piece.samples * BLOCK_ALIGN
    got = 0
    async for chunk in store.read(piece.segment.key, first, first + wanted - 1):
        await asyncio.to_thread(handle.write, chunk)
        got += len(chunk)
    if got != wanted:
        # A segment shorter than listed (replaced meanwhile): the WAV would lie about its size.
        raise ArtifactStoreUnavailable(f"{piece.segment.key}: read {got} of {wanted} bytes")
