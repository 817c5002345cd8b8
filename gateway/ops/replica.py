"""This gateway process as one replica among those sharing the state store.

A replica has an id and an internal URL (where other replicas forward
joins to it), may be draining (it admits no new interviews; live
ones continue; ``/readyz`` says not ready), publishes its live sessions to
the directory every `PUBLISH_INTERVAL_SEC`, renews the slot leases of its
live interviews, and carries out operator commands sent to it by other
replicas. Operator actions are logged on ``zenhire.audit`` with the
operator's identity (never a key).
"""

from __future__ import annotations

import asyncio
import logging
import time

from gateway.errors import StateStoreUnavailable
from gateway.interviewer import Outcome
from gateway.ops.metrics import UpstreamMetrics
from gateway.s2s.outbox import EventOutbox
from gateway.session.live import LiveSession
from gateway.session.registry import SessionRegistry
from gateway.state.directory import Action, Command, LiveSummary, ReplicaSnapshot
from gateway.state.store import StateStore
from zenhire.tasks import TaskGroup, still_wanted
from zenhire.timestamps import iso

log = logging.getLogger("zenhire.replica")
audit = logging.getLogger("zenhire.audit")

PUBLISH_INTERVAL_SEC = 1.0
# A snapshot outlives a few missed publications, not a dead replica.
SNAPSHOT_TTL_SEC = 5.0
COMMAND_WAIT_SEC = 1.0
STATE_STORE_RETRY_SEC = 1.0
ENDED_BY_OPERATOR = Outcome("failed", "ENDED_BY_OPERATOR", "An operator ended the interview.")


class Replica:
    def __init__(
        self,
        replica_id: str,
        registry: SessionRegistry,
        state: StateStore,
        outbox: EventOutbox,
        upstream: UpstreamMetrics,
        internal_url: str = "",
    ) -> None:
        self.replica_id = replica_id
        self.internal_url = internal_url
        self.draining = False
        self.state = state
        self._registry = registry
        self._outbox = outbox
        self._upstream = upstream
        self._published_finished = 0
        self._store_down = False

    # -- operator actions -----------------------------------------------------

    def set_draining(self, draining: bool, operator: str) -> None:
        if self.draining != draining:
            self.draining = draining
            audit.info(
                "operator action",
                extra={
                    "operator": operator,
                    "action": "drain" if draining else "undrain",
                    "replica_id": self.replica_id,
                },
            )

    def end_session(self, session_id: str, operator: str) -> bool:
        """End a session live on this replica as ENDED_BY_OPERATOR; False if not live here."""
        session = self._registry.live(session_id)
        if session is None or session.outcome is not None:
            return False
        audit.info(
            "operator action",
            extra={
                "operator": operator,
                "action": "end_session",
                "session_id": session_id,
                "replica_id": self.replica_id,
            },
        )
        session.end(ENDED_BY_OPERATOR)
        return True

    async def command(self, replica_id: str, command: Command) -> None:
        """Carry out ``command`` here, or send it to the replica it is for."""
        if replica_id == self.replica_id:
            self._obey(command)
        else:
            await self.state.directory.send(replica_id, command)

    def _obey(self, command: Command) -> None:
        if command.action is Action.END_SESSION:
            self.end_session(command.session_id, command.operator)
        else:
            self.set_draining(command.action is Action.DRAIN, command.operator)

    # -- what this replica publishes ------------------------------------------

    async def snapshot(self) -> ReplicaSnapshot:
        backlog = await self._outbox.backlog()
        return ReplicaSnapshot(
            replica_id=self.replica_id,
            draining=self.draining,
            published_at=time.time(),
            outbox_pending=backlog.pending,
            outbox_oldest_age_sec=round(backlog.oldest_age_sec, 1),
            sessions=tuple(self._summary(session) for session in self._registry.live_sessions()),
            internal_url=self.internal_url,
        )

    def _summary(self, session: LiveSession) -> LiveSummary:
        identity = session.identity
        telemetry = session.telemetry
        return LiveSummary(
            session_id=identity.session_id,
            replica_id=self.replica_id,
            client_id=identity.client_id,
            role_name=identity.persona.role_name,
            language=identity.persona.language,
            transport=session.transport_kind,
            started_at=iso(session.started_at),
            elapsed_sec=session.elapsed_ms // 1000,
            remaining_sec=session.remaining_sec(),
            connected=session.connected,
            reconnects=session.reconnects,
            frames_in=session.frames_in,
            frames_out=session.frames_out,
            state=telemetry.state,
            input_level=telemetry.input_level,
            output_level=telemetry.output_level,
            upstream_rtt_ms=self._upstream.latest_round_trip_ms(session.session_id),
            packet_loss_pct=telemetry.packet_loss_pct,
            jitter_ms=telemetry.jitter_ms,
        )

    def live_clients(self) -> list[str]:
        """The client of each session live on this replica (one entry per session)."""
        return [session.identity.client_id for session in self._registry.live_sessions()]

    # -- the loops --------------------------------------------------------------

    async def run(self) -> None:
        """Publish, renew leases and obey commands until cancelled."""
        async with TaskGroup() as group:
            group.create_task(self._publish_forever())
            group.create_task(self._obey_forever())

    async def withdraw(self) -> None:
        try:
            await self.state.directory.withdraw(self.replica_id)
        except StateStoreUnavailable:
            log.warning("could not withdraw this replica from the directory")

    async def publish(self) -> None:
        """One round: snapshot, slot leases and newly finished sessions."""
        await self.state.directory.publish(await self.snapshot(), SNAPSHOT_TTL_SEC)
        holders = [
            (session.identity.client_id, session.session_id)
            for session in self._registry.live_sessions()
        ]
        lost = await self.state.slots.renew(holders)
        if lost:
            await self._put_back(lost)
        fresh = self._registry.finished_count - self._published_finished
        if fresh > 0:
            recent = list(self._registry.recent)
            await self.state.directory.add_finished(recent[len(recent) - min(fresh, len(recent)) :])
            self._published_finished += fresh

    async def _put_back(self, lost: list[tuple[str, str]]) -> None:
        """The state store had lost these live slots (they are back now): say so, and
        free again any whose interview ended while its renewal was on its way."""
        log.warning(
            "state store had lost live slots; put back",
            extra={"sessions": [session_id for _, session_id in lost]},
        )
        live = {session.session_id for session in self._registry.live_sessions()}
        for client_id, session_id in lost:
            if session_id not in live:
                await self.state.slots.release(client_id, session_id)

    async def _publish_forever(self) -> None:
        while True:
            try:
                await self.publish()
                if self._store_down:
                    log.info("state store reachable again")
                self._store_down = False
            except StateStoreUnavailable as exc:
                if not self._store_down:
                    log.warning("state store unreachable", extra={"error": str(exc)})
                self._store_down = True
            except Exception:
                # One round's failure: the next round tries again; no interview depends on it.
                log.exception("publishing this replica failed")
            still_wanted()
            await asyncio.sleep(PUBLISH_INTERVAL_SEC)

    async def _obey_forever(self) -> None:
        while True:
            try:
                command = await self.state.directory.receive(self.replica_id, COMMAND_WAIT_SEC)
                still_wanted()
            except StateStoreUnavailable:
                await asyncio.sleep(STATE_STORE_RETRY_SEC)
                continue
            except Exception:
                log.exception("reading operator commands failed")
                await asyncio.sleep(STATE_STORE_RETRY_SEC)
                continue
            if command is None:
                continue
            try:
                self._obey(command)
            except Exception:
                log.exception("operator command failed", extra={"action": command.action.value})
