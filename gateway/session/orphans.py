"""Interviews left behind by a replica that died for good.

A replica's death leaves the checkpoints of its live interviews in the
state store with no owner. A candidate who comes back, to any replica,
takes the interview over (`gateway.candidate.admission`). One who never
does would leave it live at the control plane for ever, its recording in
pieces and no event for the integrator. So every replica looks, every few
seconds, for checkpoints idle longer than an owner's lease plus the
reconnect grace (the candidate had every chance to return), adopts each
one by claiming its lease as a join would (of replicas racing, the fencing
token lets one win) and ends it as its own replica would have once the
candidate stayed away: ``failed`` with ``CANDIDATE_LEFT``, the recording
assembled from the segments already in the store, the transcript from the
checkpoint, and one terminal event.

The interview ends at its last checkpoint: the adopter's timeline starts
there and records nothing, so the outage is not counted as interview time.
"""

from __future__ import annotations

import asyncio
import logging
import random

from gateway.errors import StateStoreUnavailable
from gateway.interviewer import Outcome
from gateway.session.checkpoint import ReplicaTakeover
from gateway.session.registry import SessionRegistry
from gateway.state.ownership import Fenced, Lease
from zenhire.tasks import still_wanted

log = logging.getLogger("zenhire.orphans")

ORPHANED = Outcome(
    "failed",
    "CANDIDATE_LEFT",
    "The candidate did not come back after the connection to the interview was lost.",
)
# The longest pause between two looks; shorter when the idle bound is short.
SCAN_SEC = 10.0
# Interviews adopted per look: a dead replica's hundred come over a few looks.
MAX_PER_SCAN = 20


class Orphans:
    """Adopts and ends the interviews of dead replicas whose candidates never came back."""

    def __init__(self, registry: SessionRegistry, idle_sec: float) -> None:
        self._registry = registry
        self._idle_sec = idle_sec
        self._scan_sec = min(SCAN_SEC, max(1.0, idle_sec / 2))

    async def run(self) -> None:
        while True:
            # Jittered, so that replicas started together do not look at the same moment.
            await asyncio.sleep(self._scan_sec * random.uniform(0.75, 1.25))
            try:
                await self.sweep()
            except StateStoreUnavailable:
                log.warning("could not look for orphaned interviews: the state store is down")
            except Exception:
                log.exception("looking for orphaned interviews failed")
            still_wanted()

    async def sweep(self) -> int:
        """One look: how many orphaned interviews this replica adopted and ended."""
        ownership = self._registry.ownership
        adopted = 0
        for sid in await ownership.orphans(self._idle_sec, MAX_PER_SCAN):
            try:
                adopted += await self._adopt(sid)
            except Exception:
                log.exception("ending an orphaned interview failed", extra={"session_id": sid})
        return adopted

    async def _adopt(self, session_id: str) -> bool:
        registry = self._registry
        async with registry.starting(session_id):
            if registry.live(session_id) is not None:
                return False
            try:
                claimed = await registry.ownership.claim(session_id)
            except Fenced:
                return False  # finished meanwhile
            if not isinstance(claimed, Lease):
                return False  # its candidate came back, or another replica adopted it
            checkpoint = await registry.ownership.checkpoint(session_id)
            if checkpoint is None:
                await registry.ownership.release(claimed)
                return False
            try:
                takeover = ReplicaTakeover.of(checkpoint, now=checkpoint.saved_at)
            except ValueError:
                log.exception("an orphaned interview's checkpoint is malformed")
                await registry.ownership.release(claimed)
                return False
            session = registry.start(takeover.verification, None, claimed, takeover)
        session.end(ORPHANED)
        log.warning(
            "ended an interview its replica left behind",
            extra={
                "session_id": session_id,
                "epoch": claimed.token,
                "timeline_ms": takeover.offset_ms,
            },
        )
        return True
