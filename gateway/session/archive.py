"""What a finished interview leaves behind, stored and reported.

`Archive.store_and_report` moves a closed spool folder's recording and
transcript to the artifact store, queues the terminal S2S event
(``session.completed`` or ``session.failed``) in the outbox and removes the
folder. `Archive.recover` does the same, on start-up, for every folder a
crash left in the spool: its WAV repaired, ``failed`` with
``GATEWAY_RESTART`` — unless another replica took the interview over
meanwhile (its fencing token is newer than the folder's part): then the
folder is dropped and nothing reported. `Archive.erase` deletes whatever is
kept of a finished session (artifacts, segments and any spool folder) and
lists what it deleted.

With a `SegmentShipper` (the recording shipped in segments while it runs),
the stored recording is the one assembled from the store's segments
(`gateway.session.assembly`), once the session's last segments are in:
so it covers the interview whichever replicas wrote it. The segments are
removed once the recording is stored.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.errors import ArtifactStoreUnavailable, StateStoreUnavailable
from gateway.interviewer import Outcome
from gateway.s2s.artifacts import ArtifactStore, recording_key, transcript_key
from gateway.s2s.controlplane import event_body
from gateway.s2s.outbox import EventOutbox
from gateway.session.assembly import assemble, delete_segments
from gateway.session.identity import SessionIdentity
from gateway.session.recording import discard, recover
from gateway.session.segments import DEFAULT_EPOCH, segments_prefix
from gateway.session.shipper import SegmentShipper
from gateway.state.ownership import MemoryOwnership, Ownership
from zenhire.timestamps import now_iso

log = logging.getLogger("zenhire.registry")

GATEWAY_RESTART = Outcome("failed", "GATEWAY_RESTART", "The interview service restarted.")
RECORDING_FAILED = Outcome(
    "failed", "RECORDING_FAILED", "The interview could not be recorded or stored."
)
SPOOL_STORE = "spool"
ASSEMBLED_FILE = "assembled.wav"
# How long a finished session waits for its last segments to reach the store
# (its slot is held meanwhile); past it the session is RECORDING_FAILED and
# its spool folder is kept.
SEGMENT_FLUSH_SEC = 60.0


@dataclass(frozen=True)
class Erased:
    """One deleted artifact, as the deletion receipt lists it (docs/s2s.md §4)."""

    artifact: str  # recording | transcript | segments | spool
    key: str
    store: str


class Archive:
    def __init__(
        self,
        spool_dir: Path,
        artifacts: ArtifactStore,
        outbox: EventOutbox,
        min_free_bytes: int = 0,
        shipper: SegmentShipper | None = None,
        ownership: Ownership | None = None,
    ) -> None:
        self.spool_dir = spool_dir
        self._ownership = ownership or MemoryOwnership("gateway", "")
        self._artifacts = artifacts
        self._outbox = outbox
        self._min_free_bytes = min_free_bytes
        self.shipper = shipper

    def has_room(self) -> bool:
        """Whether the spool's disk has room for another interview (`min_free_bytes`)."""
        # The spool's folder (or, before its first interview, its nearest existing parent).
        folder = next(
            (path for path in (self.spool_dir, *self.spool_dir.parents) if path.exists()),
            self.spool_dir,
        )
        try:
            return shutil.disk_usage(folder).free >= self._min_free_bytes
        except OSError:
            return False

    def folder(self, session_id: str) -> Path:
        return self.spool_dir / session_id

    async def queue_event(self, session_id: str, type_: str, data: dict[str, Any]) -> bool:
        """Queue an S2S event; whether it is on disk (`Outbox.enqueue`)."""
        event_id = str(uuid.uuid4())
        return await self._outbox.enqueue(
            event_id, session_id, type_, event_body(event_id, type_, session_id, now_iso(), data)
        )

    async def store_and_report(
        self,
        identity: SessionIdentity,
        duration_ms: int,
        outcome: Outcome,
        ended_at: str,
        rating: dict[str, Any] | None = None,
        *,
        from_segments: bool = True,
    ) -> Outcome:
        """Store the artifacts and queue the terminal event; return the outcome reported.

        Whatever fails while storing (a full disk, the store down), a terminal
        event is queued all the same: ``failed`` with ``RECORDING_FAILED`` and
        the keys of what did reach the store, and the spool folder is kept.
        So it is while the event is only held in memory (the outbox's disk is
        full): a crash then loses the event, but not the folder that reports
        the session again on the next start (the control plane keeps the
        first terminal event it gets).

        ``from_segments=False`` stores the spool's WAV even when segments are shipped
        (a recovered session: the spool holds what never reached the store).
        """
        session_id = identity.session_id
        folder = self.folder(session_id)
        stored: dict[str, str | None] = {"recording_key": None, "transcript_key": None}
        try:
            recording, duration_ms = await self._recording(folder, duration_ms, from_segments)
            for field, key, source in [
                ("recording_key", recording_key(session_id), recording),
                ("transcript_key", transcript_key(session_id), folder / "transcript.json"),
            ]:
                await self._artifacts.put_file(key, source)
                stored[field] = key
            if self.shipper is not None:
                await delete_segments(self._artifacts, session_id)
        except Exception:
            log.exception("storing the interview's artifacts failed")
            outcome = RECORDING_FAILED
        saved = await self._report(identity, stored, duration_ms, outcome, ended_at, rating)
        # Kept only while an artifact is missing from the store (or the event from the
        # outbox's disk): a session whose recording failed but was stored all the same
        # must not be recovered again.
        if all(stored.values()) and saved:
            await asyncio.to_thread(discard, folder)
        return outcome

    async def let_go(self, folder: Path) -> None:
        """Drop the spool folder of an interview that goes on elsewhere, once its segments
        are in the store (the next owner's recording is assembled from them).

        Segments that could not be shipped keep the folder: the next start finds
        it, sees the interview was taken over, and drops it then.
        """
        if self.shipper is not None and not await self.shipper.flush(
            folder.name, SEGMENT_FLUSH_SEC
        ):
            log.warning("a moved interview's last segments did not reach the store; kept")
            return
        await asyncio.to_thread(discard, folder)

    async def _recording(
        self, folder: Path, duration_ms: int, from_segments: bool
    ) -> tuple[Path, int]:
        """The file to store as the session's recording and its duration: the spool's
        WAV, or the one assembled from the store's segments when the recording is
        shipped in them (its duration is then the whole timeline's, whoever wrote it)."""
        if self.shipper is None or not from_segments:
            return folder / "recording.wav", duration_ms
        session_id = folder.name
        if not await self.shipper.flush(session_id, SEGMENT_FLUSH_SEC):
            raise ArtifactStoreUnavailable("the recording's last segments did not reach the store")
        assembled = folder / ASSEMBLED_FILE
        return assembled, await assemble(self._artifacts, session_id, assembled)

    async def _report(
        self,
        identity: SessionIdentity,
        stored: dict[str, str | None],
        duration_ms: int,
        outcome: Outcome,
        ended_at: str,
        rating: dict[str, Any] | None,
    ) -> bool:
        data: dict[str, Any] = {
            **stored,
            "duration_sec": round(duration_ms / 1000),
            "started_at": identity.started_at,
            "consent": identity.as_meta()["consent"],
        }
        if rating is not None:
            data["rating"] = rating
        session_id = identity.session_id
        if outcome.status == "completed":
            return await self.queue_event(
                session_id, "session.completed", {**data, "completed_at": ended_at}
            )
        error = {"code": outcome.code, "message": outcome.message}
        return await self.queue_event(
            session_id, "session.failed", {**data, "ended_at": ended_at, "error": error}
        )

    async def erase(self, session_id: str) -> list[Erased]:
        """Delete the session's artifacts and spool folder; what was there. Idempotent."""
        erased = []
        for artifact, key in (
            ("recording", recording_key(session_id)),
            ("transcript", transcript_key(session_id)),
        ):
            if await self._artifacts.delete(key):
                erased.append(Erased(artifact, key, self._artifacts.kind))
        if await delete_segments(self._artifacts, session_id):
            erased.append(Erased("segments", segments_prefix(session_id), self._artifacts.kind))
        folder = self.folder(session_id)
        if folder.exists():
            await asyncio.to_thread(discard, folder)
            erased.append(Erased("spool", f"spool/{session_id}", SPOOL_STORE))
        return erased

    async def _still_ours(self, session_id: str, epoch: int) -> bool:
        """False if a newer owner has the session (the crash left an older part)."""
        try:
            return await self._ownership.finish(session_id, epoch)
        except StateStoreUnavailable:
            log.warning("could not check a spooled session's owner; reporting it")
            return True

    async def recover(self) -> list[SessionIdentity]:
        """Store and report the sessions a crash left in the spool; return who they were."""
        if not self.spool_dir.exists():
            return []
        recovered = []
        for folder in sorted(p for p in self.spool_dir.iterdir() if (p / "meta.json").exists()):
            try:
                meta, duration_ms = await asyncio.to_thread(recover, folder)
                identity = SessionIdentity.from_meta(meta)
            except (OSError, ValueError):
                log.exception("could not recover a spooled session", extra={"folder": folder.name})
                continue
            epoch = int(meta.get("part", {}).get("epoch", DEFAULT_EPOCH))
            if not await self._still_ours(identity.session_id, epoch):
                discard(folder)
                log.info(
                    "a spooled session was taken over elsewhere; dropped",
                    extra={"session_id": identity.session_id},
                )
                continue
            await self.store_and_report(
                identity, duration_ms, GATEWAY_RESTART, now_iso(), from_segments=False
            )
            recovered.append(identity)
            log.warning(
                "recovered a session left by a restart", extra={"session_id": identity.session_id}
            )
        return recovered
