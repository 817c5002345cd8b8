"""What a finished interview leaves behind, stored and reported.

`Archive.store_and_report` moves a closed spool folder's recording and
transcript to the artifact store, queues the terminal S2S event
(``session.completed`` or ``session.failed``) in the outbox and removes the
folder. `Archive.recover` does the same, on start-up, for every folder a
crash left in the spool: its WAV repaired, ``failed`` with
``GATEWAY_RESTART`` — unless another replica took the interview over
meanwhile (its fencing token is newer than the folder's part): then the
folder is dropped and nothing reported. `Archive.erase` deletes whatever is kept of a finished
session (artifacts and any spool folder) and lists what it deleted.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.errors import StateStoreUnavailable
from gateway.interviewer import Outcome
from gateway.s2s.artifacts import ArtifactStore, recording_key, transcript_key
from gateway.s2s.controlplane import event_body
from gateway.s2s.outbox import Outbox
from gateway.session.identity import SessionIdentity
from gateway.session.recording import discard, recover
from gateway.state.ownership import MemoryOwnership, Ownership
from zenhire.timestamps import now_iso

log = logging.getLogger("zenhire.registry")

GATEWAY_RESTART = Outcome("failed", "GATEWAY_RESTART", "The interview service restarted.")
RECORDING_FAILED = Outcome(
    "failed", "RECORDING_FAILED", "The interview could not be recorded or stored."
)
SPOOL_STORE = "spool"


@dataclass(frozen=True)
class Erased:
    """One deleted artifact, as the deletion receipt lists it (docs/s2s.md §4)."""

    artifact: str  # recording | transcript | spool
    key: str
    store: str


class Archive:
    def __init__(
        self,
        spool_dir: Path,
        artifacts: ArtifactStore,
        outbox: Outbox,
        min_free_bytes: int = 0,
        ownership: Ownership | None = None,
    ) -> None:
        self.spool_dir = spool_dir
        self._ownership = ownership or MemoryOwnership("gateway", "")
        self._artifacts = artifacts
        self._outbox = outbox
        self._min_free_bytes = min_free_bytes

    def has_room(self) -> bool:
        """Whether the spool's disk has room for another interview (`min_free_bytes`)."""
        folder = self.spool_dir if self.spool_dir.exists() else self.spool_dir.parent
        try:
            return shutil.disk_usage(folder).free >= self._min_free_bytes
        except OSError:
            return False

    def folder(self, session_id: str) -> Path:
        return self.spool_dir / session_id

    def queue_event(self, session_id: str, type_: str, data: dict[str, Any]) -> None:
        event_id = str(uuid.uuid4())
        self._outbox.enqueue(
            event_id, session_id, type_, event_body(event_id, type_, session_id, now_iso(), data)
        )

    async def store_and_report(
        self, identity: SessionIdentity, duration_ms: int, outcome: Outcome, ended_at: str
    ) -> Outcome:
        """Store the artifacts and queue the terminal event; return the outcome reported.

        Whatever fails while storing (a full disk, the store down), a terminal
        event is queued all the same: ``failed`` with ``RECORDING_FAILED`` and
        the keys of what did reach the store, and the spool folder is kept.
        """
        session_id = identity.session_id
        folder = self.folder(session_id)
        stored: dict[str, str | None] = {"recording_key": None, "transcript_key": None}
        try:
            for field, key, name in [
                ("recording_key", recording_key(session_id), "recording.wav"),
                ("transcript_key", transcript_key(session_id), "transcript.json"),
            ]:
                await self._artifacts.put_file(key, folder / name)
                stored[field] = key
        except Exception:
            log.exception("storing the interview's artifacts failed")
            outcome = RECORDING_FAILED
        self._report(identity, stored, duration_ms, outcome, ended_at)
        # Kept only while an artifact is missing from the store: a session whose
        # recording failed but was stored all the same must not be recovered again.
        if all(stored.values()):
            discard(folder)
        return outcome

    def _report(
        self,
        identity: SessionIdentity,
        stored: dict[str, str | None],
        duration_ms: int,
        outcome: Outcome,
        ended_at: str,
    ) -> None:
        data: dict[str, Any] = {
            **stored,
            "duration_sec": round(duration_ms / 1000),
            "started_at": identity.started_at,
            "consent": identity.as_meta()["consent"],
        }
        session_id = identity.session_id
        if outcome.status == "completed":
            self.queue_event(session_id, "session.completed", {**data, "completed_at": ended_at})
        else:
            error = {"code": outcome.code, "message": outcome.message}
            self.queue_event(
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
                meta, duration_ms = recover(folder)
                identity = SessionIdentity.from_meta(meta)
            except (OSError, ValueError):
                log.exception("could not recover a spooled session", extra={"folder": folder.name})
                continue
            epoch = int(meta.get("part", {}).get("epoch", 0))
            if not await self._still_ours(identity.session_id, epoch):
                discard(folder)
                log.info(
                    "a spooled session was taken over elsewhere; dropped",
                    extra={"session_id": identity.session_id},
                )
                continue
            await self.store_and_report(identity, duration_ms, GATEWAY_RESTART, now_iso())
            recovered.append(identity)
            log.warning(
                "recovered a session left by a restart", extra={"session_id": identity.session_id}
            )
        return recovered
