"""The S2S endpoints the gateway calls (docs/s2s.md): token verify and session events.

Both refuse a request whose signature headers are missing, malformed or
stale before its body is read (`screen`, run by `zenhire.bodies.BoundedBodies`),
then check the HMAC signature over the raw body, and answer
``401 S2S_UNAUTHORIZED`` otherwise. Verify is read-only. Events are applied
in one transaction together with their ``event_id``, the credit reservation
or settlement (`controlplane.billing`) and the integrator webhooks they fire,
so a redelivered event is answered ``duplicate`` and never applied (or
charged, or announced) twice.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Scope

from controlplane import billing
from controlplane.clock import format_timestamp, utc_now
from controlplane.credentials import digest
from controlplane.errors import (
    BadRequest,
    InvalidTransition,
    S2SUnauthorized,
    SessionNotFound,
    TokenExpired,
    TokenInvalid,
    error_response,
)
from controlplane.lifecycle import publish, token_expired
from controlplane.payloads import (
    EVENT,
    VERIFY,
    CompletedEvent,
    FailedEvent,
    RatingData,
    StartedEvent,
    decode,
)
from controlplane.records import (
    CandidateRating,
    Client,
    EventType,
    Session,
    SessionError,
    SessionStatus,
)
from controlplane.resources import Resources, resources_of
from controlplane.store import Store
from controlplane.views import question_json
from controlplane.webhooks.outbox import WebhookEvent
from zenhire.signing import SignatureError, check_headers, target_of

logger = logging.getLogger(__name__)

# Where these routes are mounted (`controlplane.app`).
S2S_PREFIX = "/api/v1/interview/s2s/"

SessionEvent = StartedEvent | CompletedEvent | FailedEvent


async def verify_token(request: Request) -> Response:
    """Who a candidate token admits; ``404 TOKEN_INVALID``, ``410 TOKEN_EXPIRED``.

    A token past its TTL still verifies once its session has started, so a
    reload can resume a live interview.
    """
    resources = resources_of(request)
    raw = await _signed_body(request, resources)
    body = decode(raw, VERIFY, syntax_error=BadRequest, shape_error=BadRequest)
    store = resources.store
    session = store.session_by_token_hash(digest(body.token))
    if session is None:
        raise TokenInvalid("Unknown candidate token.")
    unused = session.status is SessionStatus.INITIATED
    if session.status is SessionStatus.EXPIRED or (unused and token_expired(session)):
        raise TokenExpired("The candidate token has expired.")
    persona = store.persona(session.persona_id)
    client = store.client(session.client_id)
    assert persona is not None and client is not None, "foreign keys guarantee both"
    persona_view: dict[str, object] = {
        "id": persona.id,
        "role_name": persona.role_name,
        "language": persona.language,
    }
    if persona.questions:
        persona_view["questions"] = [question_json(q) for q in persona.questions]
    view: dict[str, object] = {
        "session_id": session.id,
        "client_id": session.client_id,
        "status": session.status.value,
        "consent_mode": session.consent_mode.value,
        "candidate_ref": session.candidate_ref,
        "persona": persona_view,
        "limits": {
            "max_concurrent": client.max_concurrent,
            "max_duration_sec": client.max_duration_sec,
        },
        "expires_at": session.token_expires_at,
    }
    if session.extra_time_pct:
        view["accommodations"] = {"extra_time_pct": session.extra_time_pct}
    return JSONResponse(view)


async def receive_event(request: Request) -> Response:
    """Apply one session event, exactly once per ``event_id``."""
    resources = resources_of(request)
    raw = await _signed_body(request, resources)
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
        client = store.client(session.client_id)
        assert client is not None, "foreign keys guarantee it"
        updated = _bill(resources.store, client, session, apply(session, event))
        store.save_session(updated)
        if updated.status is not session.status:
            publish(resources, WebhookEvent(event.type), updated)
        store.add_event(
            event.event_id,
            session.id,
            event.type,
            format_timestamp(event.occurred_at),
            format_timestamp(utc_now()),
            event.data.model_dump_json(),
        )
    resources.dispatcher.wake()
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
            started_at=session.started_at or _optional(data.started_at),
            completed_at=completed_at,
            ended_at=completed_at,
            rating=_rating(data.rating) or session.rating,
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
        rating=_rating(failed.rating) or session.rating,
    )


def _rating(data: RatingData | None) -> CandidateRating | None:
    if data is None:
        return None
    return CandidateRating(data.score, data.comment, _optional(data.rated_at))


def _bill(store: Store, client: Client, before: Session, after: Session) -> Session:
    """Reserve credits as the session leaves ``initiated``; settle when it ends."""
    reserved = before.credit_reserved
    if before.status is SessionStatus.INITIATED:
        budget = billing.time_budget_sec(client.max_duration_sec, before.extra_time_pct)
        reserved = billing.reservation(budget, client.credit_balance)
        store.charge(client.id, reserved)
    if not after.status.terminal:
        return dataclasses.replace(after, credit_reserved=reserved)
    charged = billing.charge(
        completed=after.status is SessionStatus.COMPLETED,
        duration_sec=after.duration_sec,
        recorded=after.recording_key is not None,
        failure_code=None if after.error is None else after.error.code,
        reserved=reserved,
    )
    store.charge(client.id, charged - reserved)
    return dataclasses.replace(after, credit_charged=charged, credit_reserved=0)


async def _signed_body(request: Request, resources: Resources) -> bytes:
    raw = await request.body()
    target = target_of(request.scope["raw_path"], request.scope["query_string"])
    try:
        resources.verifier.verify(
            request.headers, request.method, target, raw, nonces=resources.nonces
        )
    except SignatureError as exc:
        raise S2SUnauthorized(f"S2S signature rejected: {exc}.") from exc
    return raw


def screen(scope: Scope) -> Response | None:
    """``401`` for an S2S request without well-formed, fresh signature headers; else None.

    Runs before the body is read: a caller without the headers cannot make
    this service read (or wait for) a body at all.
    """
    if not scope["path"].startswith(S2S_PREFIX):
        return None
    try:
        check_headers(Headers(scope=scope))
    except SignatureError as exc:
        return error_response(401, S2SUnauthorized.code, f"S2S signature rejected: {exc}.")
    return None


def _optional(moment: datetime | None) -> str | None:
    return None if moment is None else format_timestamp(moment)


def routes() -> list[BaseRoute]:
    """The S2S routes, relative to ``/api/v1/interview/s2s``."""
    return [
        Route("/tokens/verify", verify_token, methods=["POST"]),
        Route("/events", receive_event, methods=["POST"]),
    ]
