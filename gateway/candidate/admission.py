"""Who may join a live interview, and when: shared by every transport.

`check_ticket` turns a candidate's ticket into the session's verification,
or a `Refusal` (bad ticket, unknown or finished session, consent missing).
`join` waits in the client's waiting room until a live slot is free, then
starts the interview, or resumes it when it is already live. A draining
replica resumes the interviews live on it but starts none: a new join is
refused with ``GATEWAY_DRAINING`` (the page reconnects, and a load balancer
that follows ``/readyz`` sends it to another replica).
"""

from __future__ import annotations

import asyncio

from gateway.errors import TicketError
from gateway.s2s.controlplane import Verification
from gateway.services import Services
from gateway.session.events import Live, State, TalkState, Waiting
from gateway.session.live import LiveSession, Transport

DRAINING = "GATEWAY_DRAINING"
DRAINING_MESSAGE = "This server is not starting new interviews; reconnecting you to another one."


class Refusal(Exception):
    """A candidate may not join; ``code`` is the `error` event's code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def check_ticket(found: Services, ticket: object) -> Verification:
    try:
        claims = found.tickets.check(ticket)
    except TicketError:
        raise Refusal("TICKET_INVALID", "Your session expired; reload the page.") from None
    registry = found.registry
    verification = registry.verification(claims.session_id)
    if verification is None:
        raise Refusal("SESSION_UNKNOWN", "Your session expired; reload the page.")
    if registry.is_finished(claims.session_id):
        raise Refusal("SESSION_FINISHED", "This interview has already finished.")
    if verification.consent_mode == "explicit" and registry.consent(claims.session_id) is None:
        raise Refusal("CONSENT_REQUIRED", "Please accept the consent notice first.")
    return verification


async def join(found: Services, verification: Verification, transport: Transport) -> LiveSession:
    """Start or resume the live interview on ``transport``, waiting for a slot.

    Sends ``waiting`` events while every slot is busy and ``live`` once the
    interview runs on this transport. Raise `Refusal` if the session ended,
    or if this replica is draining and the interview is not live here.
    """
    registry = found.registry
    session_id = verification.session_id
    retry_sec = found.settings.waiting_retry_sec
    while True:
        session = registry.live(session_id)
        if session is not None:
            session.attach(transport)
            transport.offer_event(Live(True, session.elapsed_ms // 1000, session.remaining_sec()))
            if session.telemetry.state:
                # Tell the page where the conversation stands, not just that it resumed.
                transport.offer_event(State(TalkState(session.telemetry.state)))
            return session
        if registry.is_finished(session_id):
            raise Refusal("SESSION_FINISHED", "This interview has already finished.")
        if found.replica.draining:
            raise Refusal(DRAINING, DRAINING_MESSAGE)
        admission = await registry.slots.acquire(
            verification.client_id, session_id, verification.max_concurrent
        )
        if admission.admitted:
            session = registry.start(verification, transport)
            transport.offer_event(Live(False, 0, session.remaining_sec()))
            return session
        transport.offer_event(Waiting(admission.position, max(1, round(retry_sec))))
        await asyncio.sleep(retry_sec)
