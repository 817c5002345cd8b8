"""Every session this gateway knows: verified, consented, live or finished.

The registry starts live sessions in the service's task group, finalizes
them when they end (slot freed; artifacts stored and event queued by the
`Archive`) and, on start-up, has the archive recover sessions a crash left
in the spool.

Each live session holds its `Lease` (`gateway.state.ownership`); a session
may also start from another replica's checkpoint (`ReplicaTakeover`). Finalizing
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

from audio.frames import SAMPLE_RATE
from gateway.candidate.readiness import Readiness
from gateway.disk import writer_thread
from gateway.interviewer import Echo, InterviewerFactory, InterviewPlanContext, Outcome
from gateway.logs import bind_session
from gateway.s2s.artifacts import ArtifactStore
from gateway.s2s.controlplane import Verification
from gateway.s2s.outbox import EventOutbox
from gateway.session.archive import GATEWAY_RESTART, RECORDING_FAILED, Archive, Erased
from gateway.session.checkpoint import ReplicaTakeover
from gateway.session.clock import Clock
from gateway.session.identity import Consent, SessionIdentity
from gateway.session.keeper import Keeper
from gateway.session.live import MOVED_ON, Limits, LiveSession
from gateway.session.recording import Recording, Segments, ms_to_samples
from gateway.session.segments import DEFAULT_EPOCH
from gateway.session.shipper import SegmentShipper
from gateway.session.telemetry import Finished, NullMeter, SessionMeter
from gateway.settings import Settings
from gateway.state.finished import Bounded, FinishedSessions
from gateway.state.ownership import Lease, MemoryOwnership, Ownership
from gateway.state.slots import SlotStore
from gateway.transports.transport import Transport
from zenhire.tasks import TaskGroup
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
        group: TaskGroup,
        interviewers: InterviewerFactory,
        slots: SlotStore,
        outbox: EventOutbox,
        artifacts: ArtifactStore,
        meter: SessionMeter | None = None,
        clock: Clock | None = None,
        shipper: SegmentShipper | None = None,
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
            settings.spool_dir,
            artifacts,
            outbox,
            settings.min_free_disk_mb * MIB,
            shipper,
            self.ownership,
        )
        # Every recording's files are written by this one thread, off the event loop.
        self._writer = None if settings.disk_io == "inline" else writer_thread("spool")
        self._verified: Bounded[str, Verification] = Bounded(VERIFIED_MAX)
        self._consents: Bounded[str, Consent] = Bounded(VERIFIED_MAX)
        self._readiness: Bounded[str, Readiness] = Bounded(VERIFIED_MAX)
        self._live: dict[str, LiveSession] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        # Marked, fenced, in the ownership store: the one record of finished interviews.
        self._finished = FinishedSessions(self.ownership)
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
        transport: Transport | None,
        lease: Lease,
        takeover: ReplicaTakeover | None = None,
    ) -> LiveSession:
        """Start the live interview (the caller holds its slot and ``lease``) attached to
        ``transport``, afresh or from another replica's checkpoint (``takeover``).

        Without a transport (an interview adopted from a dead replica, to be ended:
        `gateway.session.orphans`) it starts as a candidate who has gone.
        Raise `RuntimeError` if it is live already: one live copy per session.
        """
        session_id = verification.session_id
        if session_id in self._live:
            raise RuntimeError(f"session {session_id} is live already")
        if takeover is None:
            assert transport is not None, "only a taken-over interview starts detached"
            readiness = self._readiness.pop(session_id)
            identity = SessionIdentity.starting(
                verification,
                self._consents.get(session_id),
                transport.kind,
                None if readiness is None else readiness.as_meta(),
            )
        else:
            readiness = None
            identity = takeover.identity
        offset_ms = 0 if takeover is None else takeover.offset_ms
        context = InterviewPlanContext(
            session_id=session_id,
            persona=verification.persona,
            max_duration_sec=verification.time_budget_sec,
            wrap_up_before_end_sec=self.settings.wrap_up_sec,
            echo=_echo(identity) if readiness is None else readiness.echo_path,
            resume=None if takeover is None else takeover.position,
        )
        # This owner's part of the recording: its fencing token as the segments' epoch,
        # from where the takeover's timeline stands (the checkpoint plus the outage).
        epoch, start = lease.token, ms_to_samples(offset_ms)
        recording = Recording(
            self._archive.folder(session_id),
            identity.as_meta(),
            self._writer,
            self._segments(session_id, epoch, start),
            epoch=epoch,
            start=start,
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
            Limits(
                verification.time_budget_sec,
                self.settings.reconnect_grace_sec,
                self.settings.rating_window_sec,
            ),
            on_end=lambda live, outcome: self._finalize(live, recording, outcome),
            meter=self._meter,
            clock=self.clock,
            keeper=keeper,
            timeline_ms=offset_ms,
            position=context.resume,
        )
        if takeover is not None:
            # The page that reconnects here sees the conversation so far.
            session.captions.restore(takeover.turns)
        if transport is not None:
            session.attach(transport)
        kind = identity.transport if transport is None else transport.kind
        self._live[session_id] = session
        # A takeover goes on with the interview the first owner reported started.
        self._tasks[session_id] = self._group.create_task(
            self._run(session, kind, started=takeover is None)
        )
        self._meter.started(verification.client_id, kind)
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

    async def _run(self, session: LiveSession, transport: str, *, started: bool) -> None:
        bind_session(session.session_id)
        log.info("live session started")
        try:
            if started:
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
        # Over as of now, on every replica: no connection starts it again while it is
        # stored. Unless it moved on, or a newer owner fenced this one: then it goes on
        # elsewhere, and the one report is that owner's.
        reporting = outcome not in MOVED_ON and await self._finished.finish(
            session_id, session.lease_token
        )
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
        if not reporting:
            if outcome not in MOVED_ON:
                log.warning("another replica took the interview over; not reported from here")
            await self._let_go(session, recording)
            return
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

    async def _let_go(self, session: LiveSession, recording: Recording) -> None:
        """The interview goes on elsewhere: forget it here, slot and report left to its owner.

        This replica's recording part is dropped with its spool folder once its
        segments are in the store (a draining replica waits for them).
        """
        self._live.pop(session.session_id, None)
        try:
            await self._archive.let_go(recording.folder)
        finally:
            self._tasks.pop(session.session_id, None)
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
        if self._writer is not None:
            self._writer.shutdown(wait=False)

    async def recover_spool(self) -> None:
        """Store and report the sessions a crash left in the spool."""
        # Each was marked finished for every replica as the archive checked its owner.
        for identity in await self._archive.recover():
            self._finished.add(identity.session_id)


def _echo(identity: SessionIdentity) -> Echo:
    """The echo path the readiness check measured, as kept in the identity (a takeover)."""
    echo = (identity.readiness or {}).get("echo_path")
    return echo if echo in ("strong", "low") else "unknown"
