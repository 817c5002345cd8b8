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
"""

from __future__ import annotations

import asyncio

from gateway.candidate.refusals import Refusal, Refused
from gateway.errors import TicketError
from gateway.s2s.controlplane import Verification
from gateway.services import Services
from gateway.session.events import Live, State, TalkState, Waiting
from gateway.session.live import LiveSession
from gateway.transports.transport import Transport


def check_ticket(found: Services, ticket: object) -> Verification:
    try:
        claims = found.tickets.check(ticket)
    except TicketError:
        raise Refused(Refusal.TICKET_INVALID) from None
    registry = found.registry
    verification = registry.verification(claims.session_id)
    if verification is None:
        raise Refused(Refusal.SESSION_UNKNOWN)
    if registry.is_finished(claims.session_id):
        raise Refused(Refusal.SESSION_FINISHED)
    if verification.consent_mode == "explicit" and registry.consent(claims.session_id) is None:
        raise Refused(Refusal.CONSENT_REQUIRED)
    return verification


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
            session = registry.start(verification, transport)
            transport.offer_event(Live(False, 0, session.remaining_sec()))
            return session
        transport.offer_event(Waiting(admission.position, max(1, round(retry_sec))))
        await asyncio.sleep(retry_sec)
