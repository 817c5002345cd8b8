"""Every session this gateway knows: verified, consented, live or finished.

The registry starts live sessions in the service's task group, finalizes
them when they end (slot freed; artifacts stored and event queued by the
`Archive`) and, on start-up, has the archive recover sessions a crash left
in the spool.

Each live session holds its `Lease` (`gateway.state.ownership`); a session
may also start from another replica's checkpoint (`Takeover`). Finalizing
asks the ownership store first (`finish`): a replica fenced by a newer
owner reports nothing and leaves the slot alone, so an interview that
changed hands is reported once, by its last owner.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from gateway.errors import StateStoreUnavailable
from gateway.interviewer import InterviewerFactory, InterviewPlanContext, Outcome
from gateway.logs import bind_session
from gateway.s2s.artifacts import ArtifactStore
from gateway.s2s.controlplane import Verification
from gateway.s2s.outbox import Outbox
from gateway.session.archive import GATEWAY_RESTART, RECORDING_FAILED, Archive, Erased
from gateway.session.checkpoint import RecordingPart, Takeover
from gateway.session.clock import Clock
from gateway.session.identity import Consent, SessionIdentity
from gateway.session.keeper import Keeper
from gateway.session.live import MOVED_ON, Limits, LiveSession
from gateway.session.recording import Recording, discard
from gateway.session.telemetry import Finished, NullMeter, SessionMeter
from gateway.settings import Settings
from gateway.state.ownership import Lease, MemoryOwnership, Ownership
from gateway.state.slots import SlotStore
from gateway.transports.transport import Transport
from zenhire.timestamps import now_iso

log = logging.getLogger("zenhire.registry")

# Finished sessions remembered for the operator console.
RECENT_MAX = 50
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
        ownership: Ownership | None = None,
    ) -> None:
        self.settings = settings
        operations = settings.operations
        self.ownership = ownership or MemoryOwnership(
            operations.replica_id, operations.internal_url
        )
        self.interviewers = interviewers
        self.slots = slots
        # One clock for every live session (one timer, not one per session).
        self.clock = clock if clock is not None else Clock()
        self._group = group
        self._archive = Archive(
            settings.spool_dir, artifacts, outbox, settings.min_free_disk_mb * MIB, self.ownership
        )
        self._verified: dict[str, Verification] = {}
        self._consents: dict[str, Consent] = {}
        self._live: dict[str, LiveSession] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._finished: set[str] = set()
        self._starting: dict[str, asyncio.Lock] = {}
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

    def has_room(self) -> bool:
        """Whether this replica's disk can take another interview's recording."""
        return self._archive.has_room()

    def live(self, session_id: str) -> LiveSession | None:
        return self._live.get(session_id)

    def live_sessions(self) -> list[LiveSession]:
        return list(self._live.values())

    # -- the interview --------------------------------------------------------

    @asynccontextmanager
    async def starting(self, session_id: str) -> AsyncIterator[None]:
        """Hold while claiming and starting ``session_id``: one start at a time per session."""
        lock = self._starting.setdefault(session_id, asyncio.Lock())
        try:
            async with lock:
                yield
        finally:
            if not lock.locked() and self._starting.get(session_id) is lock:
                del self._starting[session_id]

    def start(
        self,
        verification: Verification,
        transport: Transport,
        lease: Lease,
        takeover: Takeover | None = None,
    ) -> LiveSession:
        """Start the live interview (the caller holds its slot and ``lease``) attached to
        ``transport``, afresh or from another replica's checkpoint (``takeover``).

        Raise `RuntimeError` if it is live already: one live copy per session.
        """
        session_id = verification.session_id
        if session_id in self._live:
            raise RuntimeError(f"session {session_id} is live already")
        if takeover is None:
            identity = SessionIdentity.starting(
                verification, self._consents.get(session_id), transport.kind
            )
        else:
            identity = takeover.identity
        offset_ms = 0 if takeover is None else takeover.offset_ms
        context = InterviewPlanContext(
            session_id=session_id,
            persona=verification.persona,
            max_duration_sec=verification.time_budget_sec,
            wrap_up_before_end_sec=self.settings.wrap_up_sec,
            resume=None if takeover is None else takeover.position,
        )
        recording = Recording(
            self._archive.folder(session_id),
            identity.as_meta(),
            RecordingPart(lease.token, offset_ms),
            turns=None if takeover is None else takeover.turns,
            asked=None if takeover is None else takeover.asked,
        )
        keeper = Keeper(
            self.ownership,
            lease,
            verification,
            identity,
            recording,
            self.settings.operations.checkpoint_interval_sec,
        )
        session = LiveSession(
            identity,
            self.interviewers.create(context),
            recording,
            Limits(verification.time_budget_sec, self.settings.reconnect_grace_sec),
            on_end=lambda live, outcome: self._finalize(live, recording, outcome),
            meter=self._meter,
            clock=self.clock,
            keeper=keeper,
            timeline_ms=offset_ms,
            position=context.resume,
        )
        session.attach(transport)
        self._live[session_id] = session
        if takeover is None:
            self._archive.queue_event(
                session_id,
                "session.started",
                {"started_at": identity.started_at, "transport": transport.kind},
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

    async def _finalize(self, session: LiveSession, recording: Recording, outcome: Outcome) -> None:
        identity = session.identity
        session_id = identity.session_id
        ended_at = now_iso()
        error = (
            None
            if outcome.status == "completed"
            else {"code": outcome.code, "message": outcome.message}
        )
        try:
            recording.close({"status": outcome.status, "error": error, "ended_at": ended_at})
        except Exception:
            log.exception("closing the recording failed")
            outcome = RECORDING_FAILED
        if outcome in MOVED_ON or not await self._may_report(session):
            self._let_go(session, recording)
            return
        try:
            outcome = await self._archive.store_and_report(
                identity, recording.duration_ms, outcome, ended_at
            )
        except Exception:
            # Even the outbox failed (its disk is full too): the slot is freed all the
            # same, and the spool folder is left for the next start to report.
            log.exception("reporting the interview failed")
        finally:
            self._live.pop(session_id, None)
            self._tasks.pop(session_id, None)
            self._finished.add(session_id)
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

    async def _may_report(self, session: LiveSession) -> bool:
        """Whether this replica is still the interview's owner, to report it (once)."""
        try:
            if await self.ownership.finish(session.session_id, session.lease_token):
                return True
        except StateStoreUnavailable:
            # Reported all the same: an event sent twice is told apart by the control
            # plane (and nobody could claim the interview while the store was down),
            # an event never sent is lost.
            log.warning("could not check the interview's owner; reporting it")
            return True
        log.warning("another replica took the interview over; not reported from here")
        return False

    def _let_go(self, session: LiveSession, recording: Recording) -> None:
        """The interview goes on elsewhere: forget it here, slot and report left to its owner.

        This replica's recording part is dropped with its spool folder; with
        segmented uploads its segments are already in the store.
        """
        self._live.pop(session.session_id, None)
        self._tasks.pop(session.session_id, None)
        discard(recording.folder)
        log.info(
            "session moved on",
            extra={
                "code": session.outcome.code if session.outcome else None,
                "timeline_ms": session.elapsed_ms,
                "epoch": session.lease_token,
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

    async def move_all(self) -> None:
        """Hand every live session on (a draining replica); each ends here once it moved."""
        for session in list(self._live.values()):
            session.move()

    async def wait_all(self, timeout_sec: float) -> None:
        """Until every live session has ended here, or ``timeout_sec`` passed."""
        tasks = list(self._tasks.values())
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_sec)

    async def shutdown(self) -> None:
        """End every live session (GATEWAY_RESTART) and wait for each to finish."""
        for session in list(self._live.values()):
            session.end(GATEWAY_RESTART)
        tasks = list(self._tasks.values())
        if tasks:
            await asyncio.wait(tasks)

    async def recover_spool(self) -> None:
        """Store and report the sessions a crash left in the spool."""
        for identity in await self._archive.recover():
            self._finished.add(identity.session_id)
