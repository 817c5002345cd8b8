"""The integrator API under ``/api/v1/interview``: personas and sessions.

Shapes follow the public seeds (quickstart, "Start a session"); results
(recording, transcript) live in `controlplane.proxy`.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from starlette.endpoints import HTTPEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from controlplane.access import authenticate, owned_persona, owned_session
from controlplane.billing import MINIMUM_BALANCE
from controlplane.clock import format_timestamp, utc_now
from controlplane.credentials import digest, new_candidate_token
from controlplane.errors import InsufficientCredits
from controlplane.payloads import PERSONA, SESSION, decode
from controlplane.records import Persona, Session, SessionStatus
from controlplane.resources import resources_of

PERSONA_ACTIVE = "active"


class Personas(HTTPEndpoint):
    """``/personas``: POST creates a persona, GET lists the client's personas."""

    async def post(self, request: Request) -> Response:
        return await create_persona(request)

    async def get(self, request: Request) -> Response:
        return await list_personas(request)


async def create_persona(request: Request) -> Response:
    resources = resources_of(request)
    client = authenticate(request, resources.store)
    body = decode(await request.body(), PERSONA)
    persona = Persona(
        id=str(uuid.uuid4()),
        client_id=client.id,
        role_name=body.role_name,
        language=body.language,
        status=PERSONA_ACTIVE,
        created_at=format_timestamp(utc_now()),
    )
    resources.store.add_persona(persona)
    return JSONResponse(persona_json(persona), status_code=201)


async def list_personas(request: Request) -> Response:
    store = resources_of(request).store
    client = authenticate(request, store)
    return JSONResponse({"data": [persona_json(p) for p in store.personas_of(client.id)]})


async def get_persona(request: Request) -> Response:
    store = resources_of(request).store
    client = authenticate(request, store)
    persona = owned_persona(store, client, request.path_params["persona_id"])
    return JSONResponse(persona_json(persona))


async def create_session(request: Request) -> Response:
    """Mint a candidate link; the raw token appears in this response only."""
    resources = resources_of(request)
    store, settings = resources.store, resources.settings
    client = authenticate(request, store)
    body = decode(await request.body(), SESSION)
    persona = owned_persona(store, client, request.path_params["persona_id"])
    if client.credit_balance < MINIMUM_BALANCE:
        raise InsufficientCredits(
            "Insufficient credit balance to start a session.",
            {"balance": client.credit_balance, "minimum": MINIMUM_BALANCE},
        )
    token = new_candidate_token()
    now = utc_now()
    session = Session(
        id=str(uuid.uuid4()),
        client_id=client.id,
        persona_id=persona.id,
        status=SessionStatus.INITIATED,
        consent_mode=body.consent_mode,
        candidate_ref=body.candidate_ref,
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
    )
    store.add_session(session, digest(token))
    return JSONResponse(
        {
            "session_id": session.id,
            "candidate_link": f"{settings.gateway_public_url}/#t={token}",
            "expires_in": settings.token_ttl_sec,
        },
        status_code=201,
    )


async def get_session(request: Request) -> Response:
    store = resources_of(request).store
    client = authenticate(request, store)
    session = owned_session(store, client, request.path_params["session_id"])
    return JSONResponse(session_json(session))


def persona_json(persona: Persona) -> dict[str, Any]:
    return {
        "id": persona.id,
        "client_id": persona.client_id,
        "role_name": persona.role_name,
        "language": persona.language,
        "status": persona.status,
        "created_at": persona.created_at,
    }


def session_json(session: Session) -> dict[str, Any]:
    error = session.error
    return {
        "id": session.id,
        "persona_id": session.persona_id,
        "status": session.status.value,
        "duration_sec": session.duration_sec,
        "credit_charged": session.credit_charged,
        "consent_mode": session.consent_mode.value,
        "candidate_ref": session.candidate_ref,
        "created_at": session.created_at,
        "started_at": session.started_at,
        "completed_at": session.completed_at,
        "error": None if error is None else {"code": error.code, "message": error.message},
    }


def routes() -> list[BaseRoute]:
    """The integrator routes, relative to ``/api/v1/interview``."""
    return [
        Route("/personas", Personas),
        Route("/personas/{persona_id}", get_persona, methods=["GET"]),
        Route("/personas/{persona_id}/sessions", create_session, methods=["POST"]),
        Route("/sessions/{session_id}", get_session, methods=["GET"]),
    ]
