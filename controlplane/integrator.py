"""The integrator API under ``/api/v1/interview``: personas and sessions.

Shapes follow the public seeds (quickstart, "Start a session"); results
(recording, transcript) live in `controlplane.proxy`, the link lifecycle
(revoke, reinvite, expiry) in `controlplane.lifecycle`.

``GET /sessions`` lists the client's sessions newest first, filtered by
``persona_id``, ``status``, ``candidate_ref`` and ``project_id``,
cursor-paginated (`controlplane.pagination`). A session records the project
of the API key that started it (`controlplane.keys`); a ``project_id`` in
the body of ``POST /personas/{id}/sessions`` is refused.
"""

from __future__ import annotations

import uuid

from starlette.endpoints import HTTPEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from controlplane.access import authenticate, authenticate_key, owned_persona, owned_session
from controlplane.clock import format_timestamp, utc_now
from controlplane.errors import ValidationFailed
from controlplane.lifecycle import current, expire_due, mint
from controlplane.pagination import decode_cursor, encode_cursor, limit_of
from controlplane.payloads import PERSONA, SESSION, SESSION_REFUSED, decode
from controlplane.records import Persona, Question, SessionStatus
from controlplane.resources import resources_of
from controlplane.views import persona_json, session_json

SESSIONS_CURSOR = "sessions"
CUSTOM_QUESTION_PREFIX = "custom-"

PERSONA_ACTIVE = "active"
# Text filters of the session list and their longest value.
FILTER_MAX_CHARS = {"persona_id": 64, "candidate_ref": 256, "project_id": 64}


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
        questions=tuple(
            Question(
                id=CUSTOM_QUESTION_PREFIX + str(uuid.uuid4()),
                text=question.text,
                type=question.type,
                time_limit_seconds=question.time_limit_seconds,
            )
            for question in body.questions or ()
        ),
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
    client, key = authenticate_key(request, resources.store)
    body = decode(await request.body(), SESSION, refused=SESSION_REFUSED)
    persona = owned_persona(resources.store, client, request.path_params["persona_id"])
    created = mint(
        resources,
        client,
        persona,
        consent_mode=body.consent_mode,
        candidate_ref=body.candidate_ref,
        extra_time_pct=0 if body.accommodations is None else body.accommodations.extra_time_pct,
        project_id=key.project_id,
    )
    return JSONResponse(created, status_code=201)


async def get_session(request: Request) -> Response:
    resources = resources_of(request)
    client = authenticate(request, resources.store)
    session = owned_session(resources.store, client, request.path_params["session_id"])
    return JSONResponse(session_json(current(resources, session)))


async def list_sessions(request: Request) -> Response:
    """The client's sessions, newest first: ``{data, next_cursor}``."""
    resources = resources_of(request)
    client = authenticate(request, resources.store)
    query = request.query_params
    limit = limit_of(query)
    cursor = decode_cursor(query, SESSIONS_CURSOR, (str, str))
    filters = {name: query[name] for name in FILTER_MAX_CHARS if name in query}
    for name, value in filters.items():
        if len(value) > FILTER_MAX_CHARS[name]:
            message = f"{name} must be at most {FILTER_MAX_CHARS[name]} characters."
            raise ValidationFailed(message, {"errors": [{"field": name, "message": message}]})
    if "status" in query:
        if query["status"] not in {status.value for status in SessionStatus}:
            message = "status must be one of " + ", ".join(s.value for s in SessionStatus) + "."
            raise ValidationFailed(message, {"errors": [{"field": "status", "message": message}]})
        filters["status"] = query["status"]
    after = None if cursor is None else (str(cursor[0]), str(cursor[1]))
    expire_due(resources)  # so that a status filter sees expiry on time
    page = resources.store.sessions_of(client.id, filters=filters, after=after, limit=limit + 1)
    more, page = len(page) > limit, page[:limit]
    next_cursor = (
        encode_cursor(SESSIONS_CURSOR, [page[-1].created_at, page[-1].id]) if more else None
    )
    return JSONResponse({"data": [session_json(s) for s in page], "next_cursor": next_cursor})


def routes() -> list[BaseRoute]:
    """The integrator routes, relative to ``/api/v1/interview``."""
    return [
        Route("/personas", Personas),
        Route("/personas/{persona_id}", get_persona, methods=["GET"]),
        Route("/personas/{persona_id}/sessions", create_session, methods=["POST"]),
        Route("/sessions", list_sessions, methods=["GET"]),
        Route("/sessions/{session_id}", get_session, methods=["GET"]),
    ]
