"""The S2S endpoints the gateway calls (docs/s2s.md): token verify and session events.

Both check the HMAC signature over the raw body before reading it, and answer
``401 S2S_UNAUTHORIZED`` otherwise. Verify is read-only. Events are applied
in one transaction together with their ``event_id``, so a redelivered event
is answered ``duplicate`` and never applied (or charged) twice.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from controlplane.billing import credits_for
from controlplane.clock import format_timestamp, parse_timestamp, utc_now
from controlplane.credentials import digest
from controlplane.errors import (
    BadRequest,
    InvalidTransition,
    S2SUnauthorized,
    SessionNotFound,
    TokenExpired,
    TokenInvalid,
)
from controlplane.payloads import (
    EVENT,
    VERIFY,
    CompletedEvent,
    FailedEvent,
    StartedEvent,
    decode,
)
from controlplane.records import EventType, Session, SessionError, SessionStatus
from controlplane.resources import resources_of
from zenhire.signing import SignatureError, Signer

logger = logging.getLogger(__name__)

SessionEvent = StartedEvent | CompletedEvent | FailedEvent


async def verify_token(request: Request) -> Response:
    """Who a candidate token admits; ``404 TOKEN_INVALID``, ``410 TOKEN_EXPIRED``.

    A token past its TTL still verifies once its session has started, so a
    reload can resume a live interview.
    """
    resources = resources_of(request)
    raw = await _signed_body(request, resources.signer)
    body = decode(raw, VERIFY, syntax_error=BadRequest, shape_error=BadRequest)
    store = resources.store
    session = store.session_by_token_hash(digest(body.token))
    if session is None:
        raise TokenInvalid("Unknown candidate token.")
    expired = utc_now() >= parse_timestamp(session.token_expires_at)
    if expired and session.status is SessionStatus.INITIATED:
        raise TokenExpired("The candidate token has expired.")
    persona = store.persona(session.persona_id)
    client = store.client(session.client_id)
    assert persona is not None and client is not None, "foreign keys guarantee both"
    return JSONResponse(
        {
            "session_id": session.id,
            "client_id": session.client_id,
            "status": session.status.value,
            "consent_mode": session.consent_mode.value,
            "candidate_ref": session.candidate_ref,
            "persona": {
                "id": persona.id,
                "role_name": persona.role_name,
                "language": persona.language,
            },
            "limits": {
                "max_concurrent": client.max_concurrent,
                "max_duration_sec": client.max_duration_sec,
            },
            "expires_at": session.token_expires_at,
        }
    )


async def receive_event(request: Request) -> Response:
    """Apply one session event, exactly once per ``event_id``."""
    resources = resources_of(request)
    raw = await _signed_body(request, resources.signer)
    event = decode(raw, EVENT, syntax_error=BadRequest, shape_error=BadRequest)
    store = resources.store
    with store.transaction():
        if store.event_seen(event.event_id):
            return JSONResponse({"status": "duplicate"})
        session = store.session(event.session_id)
        if session is None:
            raise SessionNotFound("No session has this id.")
        target = EventType(event.type).target
        if not session.status.can_become(target):
            raise InvalidTransition(
                f"A {session.status} session cannot take a {event.type} event.",
                {"status": session.status.value},
            )
        updated = apply(session, event)
        store.save_session(updated)
        if updated.credit_charged != session.credit_charged:
            store.charge(session.client_id, updated.credit_charged - session.credit_charged)
        store.add_event(
            event.event_id,
            session.id,
            event.type,
            format_timestamp(event.occurred_at),
            format_timestamp(utc_now()),
            event.data.model_dump_json(),
        )
    logger.info(
        "session %s: %s accepted (%s -> %s, charged %d)",
        session.id,
        event.type,
        session.status,
        updated.status,
        updated.credit_charged,
    )
    return JSONResponse({"status": "accepted"})


def apply(session: Session, event: SessionEvent) -> Session:
    """The session after ``event``, which its status must allow."""
    if isinstance(event, StartedEvent):
        started = event.data.started_at or event.occurred_at
        return dataclasses.replace(
            session,
            status=SessionStatus.ACTIVE,
            started_at=session.started_at or format_timestamp(started),
        )
    if isinstance(event, CompletedEvent):
        data = event.data
        completed_at = format_timestamp(data.completed_at or event.occurred_at)
        return dataclasses.replace(
            session,
            status=SessionStatus.COMPLETED,
            recording_key=data.recording_key,
            transcript_key=data.transcript_key,
            duration_sec=data.duration_sec,
            credit_charged=credits_for(data.duration_sec),
            started_at=session.started_at or _optional(data.started_at),
            completed_at=completed_at,
            ended_at=completed_at,
        )
    failed = event.data
    return dataclasses.replace(
        session,
        status=SessionStatus.FAILED,
        error=SessionError(code=failed.error.code, message=failed.error.message),
        recording_key=failed.recording_key,
        transcript_key=failed.transcript_key,
        duration_sec=failed.duration_sec,
        started_at=session.started_at or _optional(failed.started_at),
        ended_at=format_timestamp(failed.ended_at or event.occurred_at),
    )


async def _signed_body(request: Request, signer: Signer) -> bytes:
    raw = await request.body()
    try:
        signer.verify(request.headers, request.method, request.url.path, raw)
    except SignatureError as exc:
        raise S2SUnauthorized(f"S2S signature rejected: {exc}.") from exc
    return raw


def _optional(moment: datetime | None) -> str | None:
    return None if moment is None else format_timestamp(moment)


def routes() -> list[BaseRoute]:
    """The S2S routes, relative to ``/api/v1/interview/s2s``."""
    return [
        Route("/tokens/verify", verify_token, methods=["POST"]),
        Route("/events", receive_event, methods=["POST"]),
    ]
