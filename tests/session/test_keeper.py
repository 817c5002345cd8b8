"""The keeper of a live interview (lease renewals, checkpoints) stops with its session."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from gateway.interviewer import Outcome, Persona, Position
from gateway.s2s.controlplane import Verification
from gateway.session.identity import SessionIdentity
from gateway.session.keeper import Keeper
from gateway.session.recording import Recording
from gateway.state.ownership import Lease, MemoryOwnership

pytestmark = pytest.mark.timeout(10)

INTERVAL_SEC = 0.05
# Far longer than the test waits: a keeper still renewing after its cancellation
# sits in this renewal.
RENEWAL_IN_FLIGHT_SEC = 30.0
STOPPED_WITHIN_SEC = 2.0


class LosesACancellation(MemoryOwnership):
    """A store whose renewal, cancelled in flight, completes anyway: the cancellation
    is lost, as it was seen to be on its way through the Redis client under load."""

    def __init__(self) -> None:
        super().__init__("replica-a", "http://127.0.0.1:8800")
        self.renewing = asyncio.Event()
        self.renewals = 0

    async def renew(self, lease: Lease) -> None:
        self.renewals += 1
        self.renewing.set()
        # Lost: the call completes as if nothing happened.
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(RENEWAL_IN_FLIGHT_SEC)
        await super().renew(lease)


@dataclass
class Session:
    elapsed_ms: int = 0
    position: Position = field(default_factory=Position)
    outcomes: list[Outcome] = field(default_factory=list)

    def end(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)


@pytest.mark.fault(
    "cancellation lost in the state store",
    injected="the session ends while its keeper's renewal is in flight, and the store's call "
    "completes instead of raising the cancellation",
    happened="the keeper stops after that round; the session can finish",
)
async def test_a_keeper_whose_cancellation_is_lost_stops_after_its_round(tmp_path: Path) -> None:
    ownership = LosesACancellation()
    lease = await ownership.claim("s1")
    assert isinstance(lease, Lease)
    verification = Verification(
        session_id="s1",
        client_id="acme",
        status="initiated",
        consent_mode="integrator",
        candidate_ref=None,
        persona=Persona("p1", "Engineer", "en"),
        max_concurrent=1,
        max_duration_sec=60,
    )
    identity = SessionIdentity.starting(verification, None, "websocket")
    recording = Recording(tmp_path / "s1", identity.as_meta())
    keeper = Keeper(ownership, lease, verification, identity, recording, INTERVAL_SEC)
    session = Session()
    running = asyncio.create_task(keeper.run(session))
    await ownership.renewing.wait()
    running.cancel()
    async with asyncio.timeout(STOPPED_WITHIN_SEC):
        with pytest.raises(asyncio.CancelledError):
            await running
    assert ownership.renewals == 1, "no renewal after the cancellation"
    assert session.outcomes == []
    await recording.close({"status": "completed"})
