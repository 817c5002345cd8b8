"""What the control plane stores: clients, their keys, personas, sessions, and their lifecycle.

Timestamps are strings in the API's own format (`controlplane.clock`), so a
record renders as stored and sorts chronologically as text.

A session's status only moves forward::

    initiated ──started──▶ active ──completed──▶ completed
        │  │                 │
        │  └───failed────────┴──────failed─────▶ failed
        └──token expired or link revoked───────▶ expired

``completed``/``failed``/``expired`` are terminal. ``initiated`` may jump
straight to a terminal status (a ``started`` event can be lost behind a gateway
restart), and a second ``started`` on an ``active`` session is a no-op. Only
the control plane itself moves a session to ``expired`` (`controlplane.lifecycle`);
no S2S event does.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class SessionStatus(enum.StrEnum):
    INITIATED = "initiated"
    ACTIVE = "active"
    COMPLETED = "completed"
    FAILED = "failed"
    EXPIRED = "expired"

    @property
    def terminal(self) -> bool:
        return self in (SessionStatus.COMPLETED, SessionStatus.FAILED, SessionStatus.EXPIRED)

    def can_become(self, target: SessionStatus) -> bool:
        """Whether an event may move a session in this status to ``target``."""
        return not self.terminal and target is not SessionStatus.INITIATED

    @property
    def reinvitable(self) -> bool:
        """A session that ended without a result may get a fresh link."""
        return self in (SessionStatus.FAILED, SessionStatus.EXPIRED)


class EventType(enum.StrEnum):
    """The S2S session events, each naming the status it moves a session to."""

    STARTED = "session.started"
    COMPLETED = "session.completed"
    FAILED = "session.failed"

    @property
    def target(self) -> SessionStatus:
        return {
            EventType.STARTED: SessionStatus.ACTIVE,
            EventType.COMPLETED: SessionStatus.COMPLETED,
            EventType.FAILED: SessionStatus.FAILED,
        }[self]


class ConsentMode(enum.StrEnum):
    EXPLICIT = "explicit"  # the candidate page shows a consent gate
    INTEGRATOR = "integrator"  # the integrator captured consent already


@dataclass(frozen=True)
class Client:
    id: str
    name: str
    interview_permission: bool
    credit_balance: int
    max_concurrent: int
    max_duration_sec: int
    retention_days: int | None = None  # None: artifacts are kept until erased


@dataclass(frozen=True)
class ApiKey:
    """One of a client's API keys; sessions it starts belong to its project, if any."""

    id: str
    client_id: str
    project_id: str | None
    created_at: str
    revoked_at: str | None = None  # a revoked key authenticates nothing from then on


@dataclass(frozen=True)
class Question:
    """One question an interviewer asks; custom ones come from the persona."""

    id: str
    text: str
    type: str
    time_limit_seconds: int


@dataclass(frozen=True)
class Persona:
    id: str
    client_id: str
    role_name: str
    language: str
    status: str
    created_at: str
    questions: tuple[Question, ...] = ()  # custom questions, asked in this order


@dataclass(frozen=True)
class SessionError:
    code: str
    message: str


@dataclass(frozen=True)
class CandidateRating:
    """How the candidate rated the interview on its end screen (1-5, an optional comment)."""

    score: int
    comment: str | None
    rated_at: str | None


@dataclass(frozen=True)
class Session:
    id: str
    client_id: str
    persona_id: str
    status: SessionStatus
    consent_mode: ConsentMode
    candidate_ref: str | None
    token_expires_at: str
    duration_sec: int | None
    credit_charged: int
    recording_key: str | None
    transcript_key: str | None
    error: SessionError | None
    created_at: str
    started_at: str | None
    completed_at: str | None
    ended_at: str | None
    extra_time_pct: int = 0  # accommodation: the time budget grows by this much
    credit_reserved: int = 0  # held from the balance while the interview runs
    reinvited_from: str | None = None
    artifacts_deleted_at: str | None = None  # when erasure was requested
    project_id: str | None = None  # the project of the key that started it
    rating: CandidateRating | None = None

    @property
    def artifacts_ready(self) -> bool:
        """Results exist once the session completed with both keys set."""
        return (
            self.artifacts_deleted_at is None
            and self.status is SessionStatus.COMPLETED
            and self.recording_key is not None
            and self.transcript_key is not None
        )
