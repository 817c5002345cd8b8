"""Every session this gateway knows: verified, consented, live or finished.

The registry starts live sessions in the service's task group, finalizes
them when they end (slot freed; artifacts stored and event queued by the
`Archive`) and, on start-up, has the archive recover sessions a crash left
in the spool.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from audio.frames import SAMPLE_RATE
from gateway.candidate.readiness import Readiness
from gateway.disk import writer_thread
from gateway.interviewer import InterviewerFactory, InterviewPlanContext, Outcome
from gateway.logs import bind_session
from gateway.s2s.artifacts import ArtifactStore
from gateway.s2s.controlplane import Verification
from gateway.s2s.outbox import Outbox
from gateway.session.archive import GATEWAY_RESTART, RECORDING_FAILED, Archive, Erased
from gateway.session.clock import Clock
from gateway.session.identity import Consent, SessionIdentity
from gateway.session.live import Limits, LiveSession
from gateway.session.recording import Recording, Segments
from gateway.session.segments import DEFAULT_EPOCH
from gateway.session.shipper import SegmentShipper
from gateway.session.telemetry import Finished, NullMeter, SessionMeter
from gateway.settings import Settings
from gateway.state.finished import Bounded, FinishedSessions, LocalFinished
from gateway.state.slots import SlotStore
from gateway.transports.transport import Transport
from zenhire.timestamps import now_iso

log = logging.getLogger("zenhire.registry")

# Finished sessions remembered for the operator console.
RECENT_MAX = 50
# Verified links not (yet) started, and their consents: the oldest are forgotten
# first (their candidate verifies again), so no flood of verifies grows memory.
VERIFIED_MAX = 20_000
MIB = 1024 * 1024


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
        finished: FinishedSessions | None = None,
        shipper: SegmentShipper | None = None,
    ) -> None:
        self.settings = settings
        self.interviewers = interviewers
        self.slots = slots
        # One clock for every live session (one timer, not one per session).
        self.clock = clock if clock is not None else Clock()
        self._group = group
        self._archive = Archive(
            settings.spool_dir, artifacts, outbox, settings.min_free_disk_mb * MIB, shipper
        )
        # Every recording's files are written by this one thread, off the event loop.
        self._writer = None if settings.disk_io == "inline" else writer_thread("spool")
        self._verified: Bounded[str, Verification] = Bounded(VERIFIED_MAX)
        self._consents: Bounded[str, Consent] = Bounded(VERIFIED_MAX)
        self._readiness: Bounded[str, Readiness] = Bounded(VERIFIED_MAX)
        self._live: dict[str, LiveSession] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._finished = finished if finished is not None else LocalFinished()
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

    def record_readiness(self, session_id: str, readiness: Readiness) -> None:
        """Keep the page's latest readiness result for the interview's start."""
        self._readiness[session_id] = readiness

    def readiness(self, session_id: str) -> Readiness | None:
        return self._readiness.get(session_id)

    def is_finished(self, session_id: str) -> bool:
        """Whether it finished on this replica (`finished_anywhere` asks every replica)."""
        return self._finished.seen_here(session_id)

    async def finished_anywhere(self, session_id: str) -> bool:
        return await self._finished.anywhere(session_id)

    def has_room(self) -> bool:
        """Whether this replica's disk can take another interview's recording."""
        return self._archive.has_room()

    def live(self, session_id: str) -> LiveSession | None:
        return self._live.get(session_id)

    def live_sessions(self) -> list[LiveSession]:
        return list(self._live.values())

    # -- the interview --------------------------------------------------------

    def start(self, verification: Verification, transport: Transport) -> LiveSession:
        """Start the live interview (the caller holds its slot) attached to ``transport``.

        Raise `RuntimeError` if it is live already: one live copy per session.
        """
        session_id = verification.session_id
        if session_id in self._live:
            raise RuntimeError(f"session {session_id} is live already")
        readiness = self._readiness.pop(session_id)
        identity = SessionIdentity.starting(
            verification,
            self._consents.get(session_id),
            transport.kind,
            None if readiness is None else readiness.as_meta(),
        )
        context = InterviewPlanContext(
            session_id=session_id,
            persona=verification.persona,
            max_duration_sec=verification.time_budget_sec,
            wrap_up_before_end_sec=self.settings.wrap_up_sec,
            echo="unknown" if readiness is None else readiness.echo_path,
        )
        recording = Recording(
            self._archive.folder(session_id),
            identity.as_meta(),
            self._writer,
            self._segments(session_id),
        )
        session = LiveSession(
            identity,
            self.interviewers.create(context),
            recording,
            Limits(
                verification.time_budget_sec,
                self.settings.reconnect_grace_sec,
                self.settings.rating_window_sec,
            ),
            on_end=lambda live, outcome: self._finalize(live, recording, outcome),
            meter=self._meter,
            clock=self.clock,
        )
        session.attach(transport)
        self._live[session_id] = session
        self._tasks[session_id] = self._group.create_task(self._run(session, transport.kind))
        self._meter.started(verification.client_id, transport.kind)
        return session

    def _segments(
        self, session_id: str, epoch: int = DEFAULT_EPOCH, start: int = 0
    ) -> Segments | None:
        """How the session's recording is shipped while it runs (None: at the end only):
        as writer ``epoch`` (a takeover's fencing token), from sample ``start`` of the
        interview's timeline (docs/architecture.md, "The recording in segments")."""
        shipper = self._archive.shipper
        if shipper is None:
            return None
        samples = round(self.settings.segment_sec * SAMPLE_RATE)
        return Segments(shipper, session_id, samples, epoch, start)

    async def _run(self, session: LiveSession, transport: str) -> None:
        bind_session(session.session_id)
        log.info("live session started")
        try:
            # Queued before the session runs, so it precedes the terminal event.
            await self._archive.queue_event(
                session.session_id,
                "session.started",
                {"started_at": session.identity.started_at, "transport": transport},
            )
        except Exception:
            # The control plane learns of the start from the terminal event then.
            log.exception("queuing session.started failed")
        try:
            await session.run()
        except Exception:
            # The edge of one session's unit of work: never take the service down.
            log.exception("live session failed to finish cleanly")

    async def _finalize(self, session: LiveSession, recording: Recording, outcome: Outcome) -> None:
        identity = session.identity
        session_id = identity.session_id
        # Over as of now, on every replica: no connection starts it again while it is stored.
        self._finished.add(session_id)
        await self._finished.publish(session_id)
        ended_at = now_iso()
        rating = None if session.rating is None else session.rating.as_json()
        error = (
            None
            if outcome.status == "completed"
            else {"code": outcome.code, "message": outcome.message}
        )
        try:
            await recording.close(
                {
                    "status": outcome.status,
                    "error": error,
                    "ended_at": ended_at,
                    "rating": rating,
                }
            )
        except Exception:
            log.exception("closing the recording failed")
            outcome = RECORDING_FAILED
        try:
            outcome = await self._archive.store_and_report(
                identity, recording.duration_ms, outcome, ended_at, rating
            )
        except Exception:
            # Even the outbox failed (its disk is full too): the slot is freed all the
            # same, and the spool folder is left for the next start to report.
            log.exception("reporting the interview failed")
        finally:
            self._live.pop(session_id, None)
            self._tasks.pop(session_id, None)
        try:
            await self.slots.release(identity.client_id, session_id)
        except Exception:
            log.exception("releasing the slot failed; its lease expires by itself")
        self._remember_finished(identity, recording.duration_ms, outcome, ended_at)
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
        self, identity: SessionIdentity, duration_ms: int, outcome: Outcome, ended: str
    ) -> None:
        self.recent.append(
            Finished(
                session_id=identity.session_id,
                client_id=identity.client_id,
                role_name=identity.persona.role_name,
                status=outcome.status,
                code=outcome.code,
                message=outcome.message,
                ended_at=ended,
                duration_sec=round(duration_ms / 1000, 1),
                replica_id=self.settings.operations.replica_id,
            )
        )
        self.finished_count += 1
        self._meter.finished(identity.session_id, identity.client_id, outcome.status, outcome.code)

    async def erase(self, session_id: str) -> list[Erased]:
        """Delete what is kept of a session that is not live here (the caller checks)."""
        assert session_id not in self._live, "a live interview is still recording"
        return await self._archive.erase(session_id)

    async def shutdown(self) -> None:
        """End every live session (GATEWAY_RESTART) and wait for each to finish."""
        for session in list(self._live.values()):
            session.end(GATEWAY_RESTART)
        tasks = list(self._tasks.values())
        if tasks:
            await asyncio.wait(tasks)
        if self._writer is not None:
            self._writer.shutdown(wait=False)

    async def recover_spool(self) -> None:
        """Store and report the sessions a crash left in the spool."""
        for identity in await self._archive.recover():
            self._finished.add(identity.session_id)
            await self._finished.publish(identity.session_id)
