"""Links and sessions over time: minting, expiry, revoke and reinvite.

A session still ``initiated`` when its token expires becomes ``expired`` and
fires ``session.expired``. Two paths get it there, whichever comes first: the
periodic sweep (`sweep_forever`, every ``ZENHIRE_SWEEP_INTERVAL_SEC``) and an
on-read check whenever the integrator reads the session (`current`). Verify
stays read-only: it refuses an expired link with ``410 TOKEN_EXPIRED`` on its
own. ``POST /sessions/{id}/revoke`` ends an unused link the same way (idempotent
on an ``expired`` session); ``POST /sessions/{id}/reinvite`` mints a new
session on the same persona, candidate, accommodations and project for a
``failed`` or ``expired`` one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from controlplane.access import authenticate, owned_persona, owned_session
from controlplane.billing import MINIMUM_BALANCE
from controlplane.clock import format_timestamp, parse_timestamp, utc_now
from controlplane.credentials import digest, new_candidate_token
from controlplane.errors import InsufficientCredits, InvalidTransition
from controlplane.records import Client, ConsentMode, Persona, Session, SessionStatus
from controlplane.resources import Resources, resources_of
from controlplane.views import session_json
from controlplane.webhooks.outbox import WebhookEvent, event_body

log = logging.getLogger(__name__)

Chore = Callable[[Resources], int]


def mint(
    resources: Resources,
    client: Client,
    persona: Persona,
    *,
    consent_mode: ConsentMode,
    candidate_ref: str | None,
    extra_time_pct: int,
    project_id: str | None,
    reinvited_from: str | None = None,
) -> dict[str, object]:
    """Create a session and its link; the creation response, raw token included."""
    if client.credit_balance < MINIMUM_BALANCE:
        raise InsufficientCredits(
            "Insufficient credit balance to start a session.",
            {"balance": client.credit_balance, "minimum": MINIMUM_BALANCE},
        )
    settings = resources.settings
    token = new_candidate_token()
    now = utc_now()
    session = Session(
        id=str(uuid.uuid4()),
        client_id=client.id,
        persona_id=persona.id,
        status=SessionStatus.INITIATED,
        consent_mode=consent_mode,
        candidate_ref=candidate_ref,
        token_expires_at=format_timestamp(now + timedelta(seconds=settings.token_ttl_sec)),
        duration_sec=None,
        credit_charged=0,
        recording_key=None,
        transcript_key=None,
        error=None,
        created_at=format_timestamp(now),
        started_at=None,
        completed_at=None,
        ended_at=None,
        extra_time_pct=extra_time_pct,
        reinvited_from=reinvited_from,
        project_id=project_id,
    )
    resources.store.add_session(session, digest(token))
    return {
        "session_id": session.id,
        "candidate_link": f"{settings.gateway_public_url}/#t={token}",
        "expires_in": settings.token_ttl_sec,
    }


def publish(resources: Resources, event: WebhookEvent, session: Session) -> None:
    """Queue ``event`` for the client's webhooks, in the caller's transaction.

    The caller wakes the dispatcher once the transaction has committed.
    """
    now = format_timestamp(utc_now())
    body = event_body(event, session_json(session), now)
    resources.outbox.enqueue(session.client_id, event, body, now)


def token_expired(session: Session) -> bool:
    return utc_now() >= parse_timestamp(session.token_expires_at)


def current(resources: Resources, session: Session) -> Session:
    """``session`` as it stands now: expired if its unused token has run out."""
    if session.status is SessionStatus.INITIATED and token_expired(session):
        with resources.store.transaction():
            session = _expire(resources, session)
        resources.dispatcher.wake()
    return session


def expire_due(resources: Resources) -> int:
    """Expire every unused session whose token has run out; how many."""
    store = resources.store
    with store.transaction():
        due = store.sessions_expiring(format_timestamp(utc_now()))
        for session in due:
            _expire(resources, session)
    if due:
        resources.dispatcher.wake()
        log.info("expired unused sessions", extra={"count": len(due)})
    return len(due)


def _expire(resources: Resources, session: Session) -> Session:
    fresh = resources.store.session(session.id)
    assert fresh is not None
    if fresh.status is not SessionStatus.INITIATED:
        return fresh
    expired = dataclasses.replace(
        fresh, status=SessionStatus.EXPIRED, ended_at=format_timestamp(utc_now())
    )
    resources.store.save_session(expired)
    publish(resources, WebhookEvent.EXPIRED, expired)
    return expired


async def revoke(request: Request) -> Response:
    """End an unused link: the session becomes ``expired``."""
    resources = resources_of(request)
    client = authenticate(request, resources.store)
    session = current(
        resources, owned_session(resources.store, client, request.path_params["session_id"])
    )
    if session.status is SessionStatus.INITIATED:
        with resources.store.transaction():
            session = _expire(resources, session)
        resources.dispatcher.wake()
    elif session.status is not SessionStatus.EXPIRED:
        raise InvalidTransition(
            f"Only an unused link can be revoked; this session is {session.status}.",
            {"status": session.status.value},
        )
    return JSONResponse(session_json(session))


async def reinvite(request: Request) -> Response:
    """A fresh session and link for a ``failed`` or ``expired`` session."""
    resources = resources_of(request)
    store = resources.store
    client = authenticate(request, store)
    session = current(resources, owned_session(store, client, request.path_params["session_id"]))
    if not session.status.reinvitable:
        raise InvalidTransition(
            f"Only a failed or expired session can be re-invited; this one is {session.status}.",
            {"status": session.status.value},
        )
    persona = owned_persona(store, client, session.persona_id)
    created = mint(
        resources,
        client,
        persona,
        consent_mode=session.consent_mode,
        candidate_ref=session.candidate_ref,
        extra_time_pct=session.extra_time_pct,
        project_id=session.project_id,
        reinvited_from=session.id,
    )
    return JSONResponse({**created, "reinvited_from": session.id}, status_code=201)


async def sweep_forever(resources: Resources, chores: Sequence[Chore]) -> None:
    """Run every chore (`expire_due`, retention, ...) each ``sweep_interval_sec``."""
    while True:
        for chore in chores:
            try:
                chore(resources)
            except Exception:
                log.exception("sweep chore failed", extra={"chore": chore.__name__})
        await asyncio.sleep(resources.settings.sweep_interval_sec)


def routes() -> list[BaseRoute]:
    """The lifecycle routes, relative to ``/api/v1/interview``."""
    return [
        Route("/sessions/{session_id}/revoke", revoke, methods=["POST"]),
        Route("/sessions/{session_id}/reinvite", reinvite, methods=["POST"]),
    ]
