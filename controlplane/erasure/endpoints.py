"""``DELETE /sessions/{id}/artifacts``, ``GET /deletions/{id}``, and retention.

An erasure request is accepted (``202 {deletion_id, status}``) for a session
that has ended (``completed``, ``failed`` or ``expired``); a live or unused
session is ``409 INVALID_TRANSITION``. Asking again returns the same deletion.
A client's ``retention_days`` makes `retire_due` request the erasure of
every session that ended longer ago than that, with the same receipts and
webhook.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from controlplane.access import authenticate, owned_session
from controlplane.clock import format_timestamp, utc_now
from controlplane.erasure.deletions import Deletion, DeletionReason, Deletions, DeletionStatus
from controlplane.errors import Forbidden, InvalidTransition, NotFound
from controlplane.lifecycle import current
from controlplane.records import Session
from controlplane.resources import Resources, resources_of

log = logging.getLogger(__name__)


def request_erasure(resources: Resources, session: Session, reason: DeletionReason) -> Deletion:
    """The session's deletion, created pending unless one exists."""
    deletions = Deletions(resources.store)
    with resources.store.transaction():
        existing = deletions.for_session(session.id)
        if existing is not None:
            return existing
        now = format_timestamp(utc_now())
        deletion = Deletion(
            id=str(uuid.uuid4()),
            session_id=session.id,
            client_id=session.client_id,
            reason=reason,
            status=DeletionStatus.PENDING,
            attempts=0,
            requested_at=now,
            next_attempt_at=now,
            completed_at=None,
            receipt=None,
            error=None,
        )
        deletions.add(deletion)
        fresh = resources.store.session(session.id)
        assert fresh is not None
        resources.store.save_session(dataclasses.replace(fresh, artifacts_deleted_at=now))
    resources.eraser.wake()
    return deletion


async def delete_artifacts(request: Request) -> Response:
    resources = resources_of(request)
    client = authenticate(request, resources.store)
    session = owned_session(resources.store, client, request.path_params["session_id"])
    session = current(resources, session)
    if not session.status.terminal:
        raise InvalidTransition(
            f"Artifacts can be erased once the session has ended; it is {session.status}.",
            {"status": session.status.value},
        )
    deletion = request_erasure(resources, session, DeletionReason.REQUEST)
    return JSONResponse({"deletion_id": deletion.id, "status": deletion.status.value}, 202)


async def get_deletion(request: Request) -> Response:
    resources = resources_of(request)
    client = authenticate(request, resources.store)
    deletion = Deletions(resources.store).get(request.path_params["deletion_id"])
    if deletion is None:
        raise NotFound("Deletion not found.")
    if deletion.client_id != client.id:
        raise Forbidden("This deletion belongs to another client.")
    return JSONResponse(deletion_json(deletion))


def deletion_json(deletion: Deletion) -> dict[str, Any]:
    return {
        "id": deletion.id,
        "session_id": deletion.session_id,
        "status": deletion.status.value,
        "reason": deletion.reason.value,
        "requested_at": deletion.requested_at,
        "completed_at": deletion.completed_at,
        "attempts": deletion.attempts,
        "error": deletion.error,
        "receipt": deletion.receipt,
    }


def retire_due(resources: Resources) -> int:
    """Request the erasure of sessions past their client's retention; how many."""
    count = 0
    for client in resources.store.clients_with_retention():
        assert client.retention_days is not None
        cutoff = format_timestamp(utc_now() - timedelta(days=client.retention_days))
        for session in resources.store.sessions_to_retire(client.id, cutoff):
            request_erasure(resources, session, DeletionReason.RETENTION)
            count += 1
    if count:
        log.info("retention erasures requested", extra={"count": count})
    return count


def routes() -> list[BaseRoute]:
    """The erasure routes, relative to ``/api/v1/interview``."""
    return [
        Route("/sessions/{session_id}/artifacts", delete_artifacts, methods=["DELETE"]),
        Route("/deletions/{deletion_id}", get_deletion, methods=["GET"]),
    ]
