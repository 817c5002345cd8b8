"""Who is calling the integrator API, and what they may touch.

An integrator authenticates with ``X-API-Key``; the key is looked up by its
SHA-256 digest. A client sees only its own personas and sessions: another
client's id answers ``403 FORBIDDEN``, an unknown id ``404 NOT_FOUND``.
"""

from __future__ import annotations

from starlette.requests import Request

from controlplane.credentials import digest
from controlplane.errors import Forbidden, MissingPermission, NotFound, Unauthorized
from controlplane.records import Client, Persona, Session
from controlplane.store import Store

API_KEY_HEADER = "X-API-Key"


def authenticate(request: Request, store: Store) -> Client:
    """The client whose key signs ``request``, if it holds the interview permission."""
    api_key = request.headers.get(API_KEY_HEADER)
    if not api_key:
        raise Unauthorized("Authentication required: send your API key as X-API-Key.")
    client = store.client_by_key_hash(digest(api_key))
    if client is None:
        raise Unauthorized("The API key is not valid.")
    if not client.interview_permission:
        raise MissingPermission("The interview permission is not enabled for this client.")
    return client


def owned_persona(store: Store, client: Client, persona_id: str) -> Persona:
    persona = store.persona(persona_id)
    if persona is None:
        raise NotFound("Persona not found.")
    if persona.client_id != client.id:
        raise Forbidden("This persona belongs to another client.")
    return persona


def owned_session(store: Store, client: Client, session_id: str) -> Session:
    session = store.session(session_id)
    if session is None:
        raise NotFound("Session not found.")
    if session.client_id != client.id:
        raise Forbidden("This session belongs to another client.")
    return session
