"""The owner's side of a live interview's lease: renewed, checkpointed, handed off.

A `Keeper` runs beside its live session (one of the session's pumps):
every ``interval_sec``, and at once after each transcript turn, it renews
the lease and saves the checkpoint, both fenced by the lease's token. When
the store says a newer owner holds the interview, the session ends here
without reporting anything (`SESSION_MOVED`): the new owner finishes it.
While the store is unreachable the interview goes on (nobody can take it
over meanwhile) and the keeper keeps trying.

`hand_off` is a draining owner's last word: a final checkpoint, then the
lease released, so the candidate's reconnect lands on a replica that can
take over at once instead of after the lease.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

from gateway.errors import StateStoreUnavailable
from gateway.interviewer import Outcome, Position
from gateway.s2s.controlplane import Verification
from gateway.session.checkpoint import verification_to_json
from gateway.session.identity import SessionIdentity
from gateway.session.recording import Recording
from gateway.state.ownership import Checkpoint, Fenced, Lease, Ownership
from zenhire.tasks import still_wanted

log = logging.getLogger("zenhire.session")

SESSION_MOVED = Outcome("failed", "SESSION_MOVED", "The interview continues on another replica.")


class Kept(Protocol):
    """The live session, as its keeper sees it."""

    @property
    def elapsed_ms(self) -> int: ...

    @property
    def position(self) -> Position: ...

    def end(self, outcome: Outcome) -> None: ...


class Keeper:
    def __init__(
        self,
        ownership: Ownership,
        lease: Lease,
        verification: Verification,
        identity: SessionIdentity,
        recording: Recording,
        interval_sec: float,
    ) -> None:
        self.lease = lease
        self._ownership = ownership
        self._verification = verification_to_json(verification)
        self._identity = identity.as_meta()
        self._recording = recording
        self._interval_sec = interval_sec
        self._soon = asyncio.Event()
        self._store_down = False

    def checkpoint_soon(self) -> None:
        """Save the checkpoint now rather than at the next interval (a turn ended)."""
        self._soon.set()

    async def checkpoint(self, session: Kept) -> Checkpoint:
        # The timeline first: the transcript read after it holds every turn up to it.
        elapsed_ms = session.elapsed_ms
        position = session.position.as_json()
        turns, asked = await self._recording.so_far()
        return Checkpoint(
            session_id=self.lease.session_id,
            token=self.lease.token,
            elapsed_ms=elapsed_ms,
            saved_at=time.time(),
            verification=self._verification,
            identity=self._identity,
            turns=turns,
            asked=asked,
            position=position,
        )

    async def run(self, session: Kept) -> None:
        """Renew and checkpoint until fenced; then end the session as `SESSION_MOVED`.

        A cancellation lost in the store's calls (seen under load: the session
        ended, its keeper went on renewing the lease every interval, and the
        session never finished) ends the loop all the same (`still_wanted`).
        """
        while True:
            try:
                await self._ownership.renew(self.lease)
                await self._ownership.save(self.lease, await self.checkpoint(session))
                if self._store_down:
                    log.info("checkpoints reach the state store again")
                self._store_down = False
            except Fenced:
                log.warning("another replica took the interview over; ending it here")
                session.end(SESSION_MOVED)
                return
            except StateStoreUnavailable as exc:
                still_wanted()
                if not self._store_down:
                    log.warning(
                        "checkpoint not saved: state store unreachable", extra={"error": str(exc)}
                    )
                self._store_down = True
            still_wanted()
            await self._pause()

    async def _pause(self) -> None:
        """Until the interval passed or a checkpoint is asked for.

        A timer sets the event instead of a timeout around the wait: a timeout
        that expires as the session cancels this task can swallow the
        cancellation (Python 3.11), and the session would never end.
        """
        self._soon.clear()
        timer = asyncio.get_running_loop().call_later(self._interval_sec, self._soon.set)
        try:
            await self._soon.wait()
        finally:
            timer.cancel()

    async def hand_off(self, session: Kept) -> bool:
        """Final checkpoint, then release the lease; False if the store could not take it."""
        try:
            await self._ownership.save(self.lease, await self.checkpoint(session))
            await self._ownership.release(self.lease)
        except Fenced:
            return True  # someone has it already
        except StateStoreUnavailable:
            log.warning("could not hand the interview off: state store unreachable")
            return False
        return True
