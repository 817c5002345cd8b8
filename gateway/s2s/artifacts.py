"""Where finished recordings and transcripts are kept.

`ArtifactStore` is the seam (a local directory by default; S3 in
production, `gateway.s2s.s3`). Keys look like
``sessions/<session_id>/recording.wav``; the recording's segments, while an
interview runs, live under ``sessions/<session_id>/segments/``
(`gateway.session.segments`). Each store names itself (``kind``: ``local``,
``s3``) in deletion receipts.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from gateway.errors import ArtifactNotFound, GatewayError

READ_CHUNK_BYTES = 64 * 1024


def session_prefix(session_id: str) -> str:
    """The folder of every key kept for one session (with its trailing slash)."""
    return f"sessions/{session_id}/"


def recording_key(session_id: str) -> str:
    return f"sessions/{session_id}/recording.wav"


def transcript_key(session_id: str) -> str:
    return f"sessions/{session_id}/transcript.json"


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int


class ArtifactStore(Protocol):
    @property
    def kind(self) -> str:
        """Where this store keeps artifacts, as a deletion receipt names it."""
        ...

    async def put_file(self, key: str, source: Path) -> None:
        """Store the file at ``source`` under ``key`` (replacing any older one)."""
        ...

    async def put_bytes(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` (replacing any older one)."""
        ...

    async def size(self, key: str) -> int:
        """Byte size of an artifact; raise `ArtifactNotFound` if absent."""
        ...

    async def list(self, prefix: str) -> list[StoredObject]:
        """Every object whose key starts with ``prefix`` (a folder, ending in ``/``)."""
        ...

    def read(self, key: str, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes ``start`` to ``end`` inclusive, in chunks."""
        ...

    async def delete(self, key: str) -> bool:
        """Remove an artifact; False if there was none. Idempotent."""
        ...


class LocalArtifactStore:
    kind = "local"

    def __init__(self, root: Path) -> None:
        self._root = root.resolve()
        self._root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        path = (self._root / key).resolve()
        if not path.is_relative_to(self._root):
            raise GatewayError(f"artifact key escapes the store: {key!r}")
        return path

    async def put_file(self, key: str, source: Path) -> None:
        target = self._path(key)

        def copy() -> None:
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(target.suffix + ".partial")
            shutil.copyfile(source, partial)
            os.replace(partial, target)

        await asyncio.to_thread(copy)

    async def put_bytes(self, key: str, data: bytes) -> None:
        target = self._path(key)

        def write() -> None:
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(target.suffix + ".partial")
            partial.write_bytes(data)
            os.replace(partial, target)

        await asyncio.to_thread(write)

    async def list(self, prefix: str) -> list[StoredObject]:
        folder = self._path(prefix)

        def walk() -> list[StoredObject]:
            if not folder.is_dir():
                return []
            return sorted(
                (
                    StoredObject(path.relative_to(self._root).as_posix(), path.stat().st_size)
                    for path in folder.rglob("*")
                    if path.is_file() and not path.name.endswith(".partial")
                ),
                key=lambda found: found.key,
            )

        return await asyncio.to_thread(walk)

    async def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            raise ArtifactNotFound(key) from None

    async def read(self, key: str, start: int, end: int) -> AsyncIterator[bytes]:
        path = self._path(key)
        try:
            handle = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError:
            raise ArtifactNotFound(key) from None
        try:
            handle.seek(start)
            remaining = end - start + 1
            while remaining > 0:
                chunk = await asyncio.to_thread(handle.read, min(READ_CHUNK_BYTES, remaining))
                if not chunk:
                    break
                remaining -= len(chunk)
                yield chunk
        finally:
            handle.close()

    async def delete(self, key: str) -> bool:
        path = self._path(key)

        def remove() -> bool:
            try:
                path.unlink()
            except FileNotFoundError:
                return False
            # The session's folder goes with its last artifact.
            with contextlib.suppress(OSError):
                path.parent.rmdir()
            return True

        return await asyncio.to_thread(remove)
