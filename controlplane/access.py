"""Who is calling the integrator API, and what they may touch.

An integrator authenticates with ``X-API-Key``; the key is looked up by its
SHA-256 digest (`controlplane.keys`), and a revoked key is refused like an
unknown one. Every key of a client sees all of the client's personas and
sessions, whatever their project: another client's id answers
``403 FORBIDDEN``, an unknown id ``404 NOT_FOUND``.
"""

from __future__ import annotations

from starlette.requests import Request

from controlplane.credentials import digest
from controlplane.errors import Forbidden, MissingPermission, NotFound, Unauthorized
from controlplane.keys import Keys
from controlplane.records import ApiKey, Client, Persona, Session
from controlplane.store import Store

API_KEY_HEADER = "X-API-Key"


def authenticate(request: Request, store: Store) -> Client:
    """The client whose key signs ``request``, if it holds the interview permission."""
    return authenticate_key(request, store)[0]


def authenticate_key(request: Request, store: Store) -> tuple[Client, ApiKey]:
    """`authenticate`, with the key that was used (its project goes on new sessions)."""
    api_key = request.headers.get(API_KEY_HEADER)
    if not api_key:
        raise Unauthorized("Authentication required: send your API key as X-API-Key.")
    key = Keys(store).by_hash(digest(api_key))
    if key is None:
        raise Unauthorized("The API key is not valid.")
    if key.revoked_at is not None:
        raise Unauthorized("The API key was revoked.")
    client = store.client(key.client_id)
    if client is None:
        raise Unauthorized("The API key is not valid.")
    if not client.interview_permission:
        raise MissingPermission("The interview permission is not enabled for this client.")
    return client, key


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
