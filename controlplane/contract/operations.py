"""Every integrator operation: the table the OpenAPI document is generated from.

A test checks this table against the application's routes in both
directions, so an endpoint cannot be added or dropped without the document
following.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel

from controlplane.clips import CHANNELS, MAX_MS
from controlplane.contract import models
from controlplane.payloads import PersonaBody, SessionBody, WebhookBody

# Media of the two bodies that are not JSON models.
WAV = "audio/wav"
OPAQUE_JSON = "opaque-json"

Body = type[BaseModel] | str | None


@dataclass(frozen=True)
class Query:
    name: str
    description: str
    schema: dict[str, object]


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # relative to /api/v1/interview
    operation_id: str
    summary: str
    tag: str
    responses: dict[int, Body]  # status → body (None: no body; errors are added by status)
    request: type[BaseModel] | None = None
    query: tuple[Query, ...] = ()
    links: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)
    authenticated: bool = True


LIMIT = Query(
    "limit", "Page size, 1 to 100 (default 20).", {"type": "integer", "minimum": 1, "maximum": 100}
)
CURSOR = Query(
    "cursor", "The `next_cursor` of the previous page.", {"type": "string", "maxLength": 512}
)
CLIP_MS = {"type": "integer", "minimum": 0, "maximum": MAX_MS}
SESSION_LINKS = {
    op: (op, {"session_id": "$response.body#/session_id"})
    for op in ("getSession", "getSessionQuestions", "revokeSession", "deleteSessionArtifacts")
}

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "POST",
        "/personas",
        "createPersona",
        "Create a persona",
        "Personas",
        {201: models.PersonaOut, 400: None, 413: None},
        request=PersonaBody,
        links={
            "getPersona": ("getPersona", {"persona_id": "$response.body#/id"}),
            "startSession": ("startSession", {"persona_id": "$response.body#/id"}),
        },
    ),
    Operation(
        "GET", "/personas", "listPersonas", "List personas", "Personas", {200: models.PersonaList}
    ),
    Operation(
        "GET",
        "/personas/{persona_id}",
        "getPersona",
        "Get a persona",
        "Personas",
        {200: models.PersonaOut, 404: None},
    ),
    Operation(
        "POST",
        "/personas/{persona_id}/sessions",
        "startSession",
        "Start a session",
        "Sessions",
        {201: models.SessionCreated, 400: None, 402: None, 404: None, 413: None},
        request=SessionBody,
        links=SESSION_LINKS,
    ),
    Operation(
        "GET",
        "/sessions",
        "listSessions",
        "List sessions, newest first",
        "Sessions",
        {200: models.SessionPage, 400: None},
        query=(
            Query(
                "persona_id", "Only this persona's sessions.", {"type": "string", "maxLength": 64}
            ),
            Query(
                "status",
                "Only sessions in this status.",
                {"enum": ["initiated", "active", "completed", "failed", "expired"]},
            ),
            Query(
                "candidate_ref",
                "Only this candidate's sessions.",
                {"type": "string", "maxLength": 256},
            ),
            Query(
                "project_id",
                "Only sessions started with a key of this project.",
                {"type": "string", "maxLength": 64},
            ),
            LIMIT,
            CURSOR,
        ),
    ),
    Operation(
        "GET",
        "/sessions/{session_id}",
        "getSession",
        "Get a session",
        "Sessions",
        {200: models.SessionOut, 404: None},
    ),
    Operation(
        "GET",
        "/sessions/{session_id}/questions",
        "getSessionQuestions",
        "The questions of a session, in order",
        "Results",
        {200: models.SessionQuestions, 404: None},
    ),
    Operation(
        "POST",
        "/sessions/{session_id}/revoke",
        "revokeSession",
        "End an unused link",
        "Sessions",
        {200: models.SessionOut, 404: None, 409: None},
        links={
            "reinviteSession": ("reinviteSession", {"session_id": "$response.body#/id"}),
            "deleteSessionArtifacts": (
                "deleteSessionArtifacts",
                {"session_id": "$response.body#/id"},
            ),
        },
    ),
    Operation(
        "POST",
        "/sessions/{session_id}/reinvite",
        "reinviteSession",
        "A new link for a failed or expired session",
        "Sessions",
        {201: models.SessionReinvited, 402: None, 404: None, 409: None},
        links={"getSession": ("getSession", {"session_id": "$response.body#/session_id"})},
    ),
    Operation(
        "GET",
        "/sessions/{session_id}/recording",
        "getRecording",
        "The recording (audio/wav), or one stretch of it",
        "Results",
        {200: WAV, 206: WAV, 400: None, 404: None, 409: None, 410: None, 416: None, 502: None},
        query=(
            Query(
                "from_ms",
                "Start of a clip, in milliseconds on the recording's timeline (default 0).",
                CLIP_MS,
            ),
            Query(
                "to_ms",
                "End of a clip (exclusive, not before from_ms; default: the end). Bounds"
                " past the end are clipped.",
                CLIP_MS,
            ),
            Query(
                "channels",
                "`both` (stereo: candidate left, interviewer right) or `candidate` (mono).",
                {"enum": list(CHANNELS)},
            ),
        ),
    ),
    Operation(
        "GET",
        "/sessions/{session_id}/transcript",
        "getTranscript",
        "The transcript document; each responses[] entry gains its audio_path",
        "Results",
        {200: OPAQUE_JSON, 404: None, 409: None, 410: None, 502: None},
    ),
    Operation(
        "DELETE",
        "/sessions/{session_id}/artifacts",
        "deleteSessionArtifacts",
        "Erase a session's recording and transcript",
        "Retention",
        {202: models.DeletionAccepted, 404: None, 409: None},
        links={"getDeletion": ("getDeletion", {"deletion_id": "$response.body#/deletion_id"})},
    ),
    Operation(
        "GET",
        "/deletions/{deletion_id}",
        "getDeletion",
        "An erasure and its receipt",
        "Retention",
        {200: models.DeletionOut, 404: None},
    ),
    Operation(
        "POST",
        "/webhooks",
        "createWebhook",
        "Register a webhook endpoint",
        "Webhooks",
        {201: models.WebhookCreated, 400: None, 413: None},
        request=WebhookBody,
        links={
            op: (op, {"webhook_id": "$response.body#/id"})
            for op in ("rotateWebhookSecret", "listWebhookDeliveries", "deleteWebhook")
        },
    ),
    Operation(
        "GET",
        "/webhooks",
        "listWebhooks",
        "List webhook endpoints",
        "Webhooks",
        {200: models.WebhookList},
    ),
    Operation(
        "DELETE",
        "/webhooks/{webhook_id}",
        "deleteWebhook",
        "Remove a webhook endpoint",
        "Webhooks",
        {204: None, 404: None},
    ),
    Operation(
        "POST",
        "/webhooks/{webhook_id}/rotate-secret",
        "rotateWebhookSecret",
        "A new signing secret (the old one also signs for 24 h)",
        "Webhooks",
        {200: models.SecretRotated, 404: None},
    ),
    Operation(
        "GET",
        "/webhooks/{webhook_id}/deliveries",
        "listWebhookDeliveries",
        "Deliveries and their attempts, newest first",
        "Webhooks",
        {200: models.DeliveryPage, 400: None, 404: None},
        query=(LIMIT, CURSOR),
    ),
    Operation(
        "POST",
        "/webhooks/{webhook_id}/deliveries/{delivery_id}/retry",
        "retryWebhookDelivery",
        "Redeliver one delivery now",
        "Webhooks",
        {202: models.DeliveryOut, 404: None},
    ),
    Operation(
        "GET",
        "/openapi.json",
        "getOpenApi",
        "This document",
        "Contract",
        {200: OPAQUE_JSON},
        authenticated=False,
    ),
)
