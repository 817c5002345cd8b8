"""Every session this gateway knows: verified, consented, live or finished.

The registry starts live sessions in the service's task group, finalizes
them when they end (artifacts stored, slot freed, event queued) and, on
start-up, recovers sessions a crash left in the spool.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gateway.interviewer import InterviewerFactory, InterviewPlanContext, Outcome
from gateway.logs import bind_session
from gateway.s2s.artifacts import ArtifactStore, recording_key, transcript_key
from gateway.s2s.controlplane import Verification, event_body
from gateway.s2s.outbox import Outbox
from gateway.session.clock import Clock
from gateway.session.live import Limits, LiveSession
from gateway.session.recording import Recording, discard, recover
from gateway.session.telemetry import Finished, NullMeter, SessionMeter
from gateway.settings import Settings
from gateway.state.slots import SlotStore
from gateway.transports.transport import Transport

log = logging.getLogger("zenhire.registry")

# Finished sessions remembered for the operator console.
RECENT_MAX = 50


def iso(timestamp: float) -> str:
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class Consent:
    accepted_at: str
    text_version: str


class SessionRegistry:
    def __init__(
        self,
        settings: Settings,
        group: asyncio.TaskGroup,
        interviewers: InterviewerFactory,
        slots: SlotStore,
        outbox: Outbox,
        artifacts: ArtifactStore,
        meter: SessionMeter | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.interviewers = interviewers
        self.slots = slots
        # One clock for every live session (one timer, not one per session).
        self.clock = clock if clock is not None else Clock()
        self._group = group
        self._outbox = outbox
        self._artifacts = artifacts
        self._verified: dict[str, Verification] = {}
        self._consents: dict[str, Consent] = {}
        self._live: dict[str, LiveSession] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._finished: set[str] = set()
        self._meter = meter or NullMeter()
        # The latest finished sessions, newest last; `finished_count` counts all of them.
        self.recent: deque[Finished] = deque(maxlen=RECENT_MAX)
        self.finished_count = 0

    # -- before the interview -------------------------------------------------

    def remember(self, verification: Verification) -> None:
        self._verified[verification.session_id] = verification

    def verification(self, session_id: str) -> Verification | None:
        return self._verified.get(session_id)

    def record_consent(self, session_id: str, consent: Consent) -> None:
        self._consents.setdefault(session_id, consent)

    def consent(self, session_id: str) -> Consent | None:
        return self._consents.get(session_id)

    def is_finished(self, session_id: str) -> bool:
        return session_id in self._finished

    def live(self, session_id: str) -> LiveSession | None:
        return self._live.get(session_id)

    def live_sessions(self) -> list[LiveSession]:
        return list(self._live.values())

    # -- the interview --------------------------------------------------------

    def start(self, verification: Verification, transport: Transport) -> LiveSession:
        """Start the live interview (the caller holds its slot) attached to ``transport``."""
        session_id = verification.session_id
        context = InterviewPlanContext(
            session_id=session_id,
            persona=verification.persona,
            max_duration_sec=verification.max_duration_sec,
            wrap_up_before_end_sec=self.settings.wrap_up_sec,
        )
        consent = self._consents.get(session_id)
        started_at = iso(datetime.now(UTC).timestamp())
        meta = {
            "session_id": session_id,
            "client_id": verification.client_id,
            "candidate_ref": verification.candidate_ref,
            "persona": {
                "id": verification.persona.id,
                "role_name": verification.persona.role_name,
                "language": verification.persona.language,
            },
            "consent_mode": verification.consent_mode,
            "consent": None if consent is None else asdict(consent),
            "started_at": started_at,
            "transport": transport.kind,
        }
        recording = Recording(self.settings.spool_dir / session_id, meta)
        session = LiveSession(
            session_id,
            self.interviewers.create(context),
            recording,
            Limits(verification.max_duration_sec, self.settings.reconnect_grace_sec),
            on_end=lambda live, outcome: self._finalize(live, recording, meta, outcome),
            meter=self._meter,
            clock=self.clock,
        )
        session.attach(transport)
        self._live[session_id] = session
        self._queue_event(
            session_id, "session.started", {"started_at": started_at, "transport": transport.kind}
        )
        self._tasks[session_id] = self._group.create_task(self._run(session))
        self._meter.started(verification.client_id, transport.kind)
        return session

    async def _run(self, session: LiveSession) -> None:
        bind_session(session.session_id)
        log.info("live session started")
        try:
            await session.run()
        except Exception:
            # The edge of one session's unit of work: never take the service down.
            log.exception("live session failed to finish cleanly")

    async def _finalize(
        self, session: LiveSession, recording: Recording, meta: dict[str, Any], outcome: Outcome
    ) -> None:
        session_id = session.session_id
        ended_at = iso(datetime.now(UTC).timestamp())
        error = (
            None
            if outcome.status == "completed"
            else {"code": outcome.code, "message": outcome.message}
        )
        recording.close({"status": outcome.status, "error": error, "ended_at": ended_at})
        await self._store_and_report(
            session_id, recording.folder, meta, recording.duration_ms, outcome, ended_at
        )
        verification = self._verified.get(session_id)
        if verification is not None:
            await self.slots.release(verification.client_id, session_id)
        self._live.pop(session_id, None)
        self._tasks.pop(session_id, None)
        self._finished.add(session_id)
        self._remember_finished(session_id, meta, recording.duration_ms, outcome, ended_at)
        log.info(
            "session finished",
            extra={
                "status": outcome.status,
                "code": outcome.code,
                "duration_sec": round(recording.duration_ms / 1000, 2),
                "transport": session.transport_kind,
                "reconnects": session.reconnects,
                "frames_in": session.frames_in,
                "frames_out": session.frames_out,
            },
        )

    def _remember_finished(
        self, session_id: str, meta: dict[str, Any], duration_ms: int, outcome: Outcome, ended: str
    ) -> None:
        client_id = str(meta["client_id"])
        self.recent.append(
            Finished(
                session_id=session_id,
                client_id=client_id,
                role_name=str(meta["persona"]["role_name"]),
                status=outcome.status,
                code=outcome.code,
                message=outcome.message,
                ended_at=ended,
                duration_sec=round(duration_ms / 1000, 1),
                replica_id=self.settings.operations.replica_id,
            )
        )
        self.finished_count += 1
        self._meter.finished(session_id, client_id, outcome.status, outcome.code)

    async def _store_and_report(
        self,
        session_id: str,
        folder: Path,
        meta: dict[str, Any],
        duration_ms: int,
        outcome: Outcome,
        ended_at: str,
    ) -> None:
        keys = (recording_key(session_id), transcript_key(session_id))
        await self._artifacts.put_file(keys[0], folder / "recording.wav")
        await self._artifacts.put_file(keys[1], folder / "transcript.json")
        data: dict[str, Any] = {
            "recording_key": keys[0],
            "transcript_key": keys[1],
            "duration_sec": round(duration_ms / 1000),
            "started_at": meta["started_at"],
            "consent": meta["consent"],
        }
        if outcome.status == "completed":
            self._queue_event(session_id, "session.completed", {**data, "completed_at": ended_at})
        else:
            error = {"code": outcome.code, "message": outcome.message}
            self._queue_event(
                session_id, "session.failed", {**data, "ended_at": ended_at, "error": error}
            )
        discard(folder)

    def _queue_event(self, session_id: str, type_: str, data: dict[str, Any]) -> None:
        event_id = str(uuid.uuid4())
        occurred_at = iso(datetime.now(UTC).timestamp())
        self._outbox.enqueue(
            event_id, session_id, type_, event_body(event_id, type_, session_id, occurred_at, data)
        )

    async def shutdown(self) -> None:
        """End every live session (GATEWAY_RESTART) and wait for each to finish."""
        for session in list(self._live.values()):
            session.end(Outcome("failed", "GATEWAY_RESTART", "The interview service restarted."))
        tasks = list(self._tasks.values())
        if tasks:
            await asyncio.wait(tasks)

    async def recover_spool(self) -> None:
        """Store and report the sessions a crash left in the spool."""
        spool = self.settings.spool_dir
        if not spool.exists():
            return
        for folder in sorted(p for p in spool.iterdir() if (p / "meta.json").exists()):
            try:
                meta, duration_ms = recover(folder)
            except (OSError, ValueError):
                log.exception("could not recover a spooled session", extra={"folder": folder.name})
                continue
            outcome = Outcome("failed", "GATEWAY_RESTART", "The interview service restarted.")
            await self._store_and_report(
                meta["session_id"],
                folder,
                meta,
                duration_ms,
                outcome,
                iso(datetime.now(UTC).timestamp()),
            )
            self._finished.add(meta["session_id"])
            log.warning(
                "recovered a session left by a restart", extra={"session_id": meta["session_id"]}
            )
