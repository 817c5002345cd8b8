"""The response bodies of the integrator API, as pydantic models for the OpenAPI document.

Handlers build plain dicts (`controlplane.views` and friends); these models
describe them, and the contract tests (an OpenAPI validator, and a fuzzer
that checks every response against the document) keep the two in step.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SessionStatusName = Literal["initiated", "active", "completed", "failed", "expired"]
ConsentModeName = Literal["explicit", "integrator"]
EventName = Literal[
    "session.started",
    "session.completed",
    "session.failed",
    "session.expired",
    "session.artifacts_deleted",
]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(_Out):
    code: str
    message: str
    timestamp: str
    details: dict[str, Any] | None


class ErrorEnvelope(_Out):
    """Every error: the seeds' envelope."""

    error: ErrorBody


class CustomQuestion(_Out):
    id: str
    text: str
    type: str
    time_limit_seconds: int


class PersonaOut(_Out):
    """A persona; ``questions`` only when it has custom ones."""

    id: str
    client_id: str
    role_name: str
    language: str
    status: str
    created_at: str
    questions: list[CustomQuestion] | None = None


class PersonaList(_Out):
    data: list[PersonaOut]


class SessionCreated(_Out):
    session_id: str
    candidate_link: str
    expires_in: int


class SessionReinvited(SessionCreated):
    reinvited_from: str


class SessionErrorOut(_Out):
    code: str
    message: str


class CandidateRatingOut(_Out):
    """The candidate's rating of the interview experience (not of the candidate)."""

    score: int = Field(ge=1, le=5)
    comment: str | None = Field(max_length=1000)
    rated_at: str | None


class SessionOut(_Out):
    """A session as ``GET /sessions/{id}`` shows it, and as every webhook's ``data``."""

    id: str
    persona_id: str
    status: SessionStatusName
    duration_sec: int | None
    credit_charged: int
    consent_mode: ConsentModeName
    candidate_ref: str | None
    created_at: str
    started_at: str | None
    completed_at: str | None
    error: SessionErrorOut | None
    project_id: str | None
    candidate_rating: CandidateRatingOut | None


class SessionPage(_Out):
    data: list[SessionOut]
    next_cursor: str | None


class PlannedQuestion(_Out):
    id: str
    question_text: str
    question_type: str
    time_limit_seconds: int
    order: int
    is_custom: bool


class SessionQuestions(_Out):
    session_id: str
    questions: list[PlannedQuestion]
    total_questions: int
    estimated_duration_seconds: int


class WebhookOut(_Out):
    id: str
    url: str
    events: list[EventName]
    description: str | None
    created_at: str


class WebhookCreated(WebhookOut):
    """The registration answer: the only time the ``whsec_`` secret is shown."""

    secret: str


class WebhookList(_Out):
    data: list[WebhookOut]


class SecretRotated(_Out):
    id: str
    secret: str
    previous_secret_expires_at: str


class AttemptOut(_Out):
    number: int
    attempted_at: str
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryOut(_Out):
    id: str
    event_type: EventName
    session_id: str
    status: Literal["pending", "succeeded", "failed"]
    created_at: str
    next_attempt_at: str | None
    attempts: list[AttemptOut]


class DeliveryPage(_Out):
    data: list[DeliveryOut]
    next_cursor: str | None


class DeletionAccepted(_Out):
    deletion_id: str
    status: Literal["pending", "completed", "failed"]


class DeletionOut(_Out):
    """An erasure; ``receipt`` says what was deleted, where and when, once completed."""

    id: str
    session_id: str
    status: Literal["pending", "completed", "failed"]
    reason: Literal["request", "retention"]
    requested_at: str
    completed_at: str | None
    attempts: int
    error: str | None
    receipt: dict[str, Any] | None


class WebhookPayload(_Out):
    """The body of every webhook delivery (Standard Webhooks)."""

    type: EventName
    timestamp: str
    data: SessionOut
