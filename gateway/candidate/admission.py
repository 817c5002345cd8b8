"""Who may join a live interview, and when: shared by every transport.

`check_ticket` turns a candidate's ticket into the session's verification,
or raises `Refused` (bad ticket, unknown or finished session, consent missing).
`join` waits in the client's waiting room until a live slot is free, then
starts the interview, or resumes it when it is already live. A draining
replica resumes the interviews live on it but starts none: a new join is
refused with ``GATEWAY_DRAINING`` (the page reconnects, and a load balancer
that follows ``/readyz`` sends it to another replica); so is one reaching a
replica short of disk (``GATEWAY_DISK_LOW``) or past its CPU threshold
(``GATEWAY_CPU_HIGH``, `gateway.ops.load`).

Across replicas: a ticket verified on another replica is known here from
what that replica shared (`gateway.candidate.joining`), and one for an
interview live on another replica from its checkpoint. Starting takes the interview's lease
(`gateway.state.ownership`); when there is a checkpoint but no live owner
(the owner died, or drained and let go) the interview is taken over from
it. An owner that still holds the lease is waited for (at most one lease:
a dead owner's runs out) and, if it is alive after all, the join is
refused with ``SESSION_MOVED`` so that the page reconnects and is
forwarded to it (`gateway.transports.forwarding`).
"""

from __future__ import annotations

import asyncio
import logging
import time

from gateway.candidate import joining
from gateway.candidate.refusals import Refusal, Refused
from gateway.errors import StateStoreUnavailable, TicketError
from gateway.s2s.controlplane import Verification
from gateway.services import Services
from gateway.session.checkpoint import ReplicaTakeover
from gateway.session.events import Live, State, TalkState, Waiting
from gateway.session.live import LiveSession
from gateway.state.ownership import Fenced, Lease
from gateway.transports.transport import Transport

log = logging.getLogger("zenhire.admission")

# How often a join waiting for a dead owner's lease to run out tries again.
CLAIM_RETRY_SEC = 0.1
# Beyond the lease itself: a renewal in flight when the owner died.
CLAIM_GRACE_SEC = 0.5


async def check_ticket(found: Services, ticket: object) -> Verification:
    try:
        claims = found.tickets.check(ticket)
    except TicketError:
        raise Refused(Refusal.TICKET_INVALID) from None
    registry = found.registry
    session_id = claims.session_id
    # What the page told other replicas before the start (behind a balancer without
    # sticky sessions): its verified link, consent, readiness result.
    verification = await joining.recall(found, session_id) or await _from_checkpoint(
        found, session_id
    )
    if verification is None:
        raise Refused(Refusal.SESSION_UNKNOWN)
    if registry.is_finished(session_id) or await _finished_elsewhere(found, session_id):
        raise Refused(Refusal.SESSION_FINISHED)
    if verification.consent_mode == "explicit" and registry.consent(claims.session_id) is None:
        raise Refused(Refusal.CONSENT_REQUIRED)
    return verification


async def _from_checkpoint(found: Services, session_id: str) -> Verification | None:
    """The verification of an interview live (or left) on another replica, from its checkpoint."""
    try:
        checkpoint = await found.registry.ownership.checkpoint(session_id)
        if checkpoint is None:
            return None
        takeover = ReplicaTakeover.of(checkpoint)
    except (StateStoreUnavailable, ValueError):
        log.warning("could not read a checkpoint", exc_info=True)
        return None
    found.registry.remember(takeover.verification)
    if takeover.identity.consent is not None:
        found.registry.record_consent(session_id, takeover.identity.consent)
    return takeover.verification


async def _finished_elsewhere(found: Services, session_id: str) -> bool:
    try:
        return await found.registry.ownership.is_finished(session_id)
    except StateStoreUnavailable:
        return False


async def _claim(found: Services, session_id: str) -> Lease:
    """The interview's lease, once no other replica holds it (at most about one lease)."""
    ownership = found.registry.ownership
    deadline = time.monotonic() + found.settings.operations.owner_lease_sec + CLAIM_GRACE_SEC
    while True:
        try:
            claimed = await ownership.claim(session_id)
        except Fenced:
            raise Refused(Refusal.SESSION_FINISHED) from None
        if isinstance(claimed, Lease):
            return claimed
        if time.monotonic() > deadline:
            raise Refused(Refusal.SESSION_MOVED)
        await asyncio.sleep(CLAIM_RETRY_SEC)


async def _takeover(found: Services, session_id: str) -> ReplicaTakeover | None:
    """The checkpoint to take the interview over from, if it was live elsewhere."""
    try:
        checkpoint = await found.registry.ownership.checkpoint(session_id)
        return None if checkpoint is None else ReplicaTakeover.of(checkpoint)
    except ValueError:
        log.exception("a malformed checkpoint: the interview starts afresh")
        return None


async def join(found: Services, verification: Verification, transport: Transport) -> LiveSession:
    """Start or resume the live interview on ``transport``, waiting for a slot.

    Sends ``waiting`` events while every slot is busy and ``live`` once the
    interview runs on this transport. Raise `Refused` if the session ended,
    or if this replica is draining and the interview is not live here.
    """
    registry = found.registry
    session_id = verification.session_id
    retry_sec = found.settings.waiting_retry_sec
    while True:
        session = registry.live(session_id)
        if session is not None and not session.accepting:
            # Over, and waiting for the candidate's rating or its finalization.
            raise Refused(Refusal.SESSION_FINISHED)
        if session is not None:
            session.attach(transport)
            transport.offer_event(Live(True, session.elapsed_ms // 1000, session.remaining_sec()))
            if session.telemetry.state:
                # Tell the page where the conversation stands, not just that it resumed.
                transport.offer_event(State(TalkState(session.telemetry.state)))
            return session
        if await registry.finished_anywhere(session_id):
            raise Refused(Refusal.SESSION_FINISHED)
        if found.replica.draining:
            raise Refused(Refusal.GATEWAY_DRAINING)
        if not registry.has_room():
            raise Refused(Refusal.DISK_LOW)
        if found.load.overloaded:
            raise Refused(Refusal.CPU_HIGH)
        admission = await registry.slots.acquire(
            verification.client_id, session_id, verification.max_concurrent
        )
        if admission.admitted:
            # Checked again after the await: another connection of this session (a reload,
            # the other transport) may have started it, or it may have ended, meanwhile.
            if registry.is_finished(session_id):
                await registry.slots.release(verification.client_id, session_id)
                raise Refused(Refusal.SESSION_FINISHED)
            if registry.live(session_id) is not None:
                continue
            # One claim at a time per session here: a second claim by this replica
            # would fence the first (a reload racing its own page).
            async with registry.starting(session_id):
                if registry.live(session_id) is not None:
                    continue
                lease = await _claim(found, session_id)
                takeover = await _takeover(found, session_id)
                session = registry.start(verification, transport, lease, takeover)
            if takeover is not None:
                log.info(
                    "interview taken over",
                    extra={
                        "session_id": session_id,
                        "epoch": lease.token,
                        "timeline_ms": takeover.offset_ms,
                    },
                )
            transport.offer_event(
                Live(takeover is not None, session.elapsed_ms // 1000, session.remaining_sec())
            )
            return session
        transport.offer_event(Waiting(admission.position, max(1, round(retry_sec))))
        await asyncio.sleep(retry_sec)
