"""The control plane, as the gateway sees it: verify tokens, deliver events.

`ControlPlane` is the seam; `HttpControlPlane` speaks the signed S2S contract
of docs/s2s.md over one shared ``httpx.AsyncClient``.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Protocol

import httpx
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from gateway.errors import ControlPlaneError, ControlPlaneUnavailable, TokenExpired, TokenInvalid
from gateway.interviewer import Persona, PersonaQuestion
from zenhire.signing import Signer

VERIFY_PATH = "/api/v1/interview/s2s/tokens/verify"
EVENTS_PATH = "/api/v1/interview/s2s/events"
# Status codes a retry may cure: besides timeouts and rate limits, 401/403 (a
# clock skewed for a while, a secret rotation half rolled out). Any other 4xx
# is the event's own fault.
RETRYABLE_CLIENT_STATUSES = frozenset({401, 403, 408, 425, 429})

SessionStatus = Literal["initiated", "active", "completed", "failed"]
TERMINAL_STATUSES: frozenset[str] = frozenset({"completed", "failed"})
# Bounds of the verify additions (docs/s2s.md "Additions"): what the control
# plane accepts from integrators, checked again here at the gateway's edge.
MAX_QUESTIONS = 20
MAX_QUESTION_CHARS = 500
MIN_TIME_LIMIT_SEC = 10
MAX_TIME_LIMIT_SEC = 3600
MAX_EXTRA_TIME_PCT = 100
PERCENT = 100
UNNAMED_QUESTION_PREFIX = "q-"

# Ids end up in paths, Redis keys and log lines: checked by pattern before any use.
_Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
_QuestionId = _Id
_Text = Annotated[str, StringConstraints(min_length=1, max_length=200)]
_Language = Annotated[
    str, StringConstraints(max_length=35, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
]
# A cap and a length any real client could have; beyond them the answer is garbage.
MAX_CONCURRENT = 1_000_000
MAX_DURATION_SEC = 24 * 3600
_QuestionText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_QUESTION_CHARS)
]
_QuestionType = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z_]{0,31}$")]


class _QuestionBody(BaseModel):
    model_config = ConfigDict(strict=True)
    id: _QuestionId | None = None
    text: _QuestionText
    type: _QuestionType
    time_limit_seconds: Annotated[int, Field(ge=MIN_TIME_LIMIT_SEC, le=MAX_TIME_LIMIT_SEC)]


class _PersonaBody(BaseModel):
    id: _Id
    role_name: _Text
    language: _Language
    questions: (
        Annotated[list[_QuestionBody], Field(min_length=1, max_length=MAX_QUESTIONS)] | None
    ) = None

    def persona(self) -> Persona:
        """The persona; a question without an id is named by its place (``q-1``, ...)."""
        questions = tuple(
            PersonaQuestion(
                q.id or f"{UNNAMED_QUESTION_PREFIX}{order + 1}",
                q.text,
                q.type,
                q.time_limit_seconds,
            )
            for order, q in enumerate(self.questions or ())
        )
        if len({q.id for q in questions}) != len(questions):
            raise ValueError("persona.questions repeats an id")
        return Persona(self.id, self.role_name, self.language, questions)


class _AccommodationsBody(BaseModel):
    model_config = ConfigDict(strict=True)
    extra_time_pct: Annotated[int, Field(ge=0, le=MAX_EXTRA_TIME_PCT)] = 0


class _LimitsBody(BaseModel):
    max_concurrent: Annotated[int, Field(ge=1, le=MAX_CONCURRENT)]
    max_duration_sec: Annotated[int, Field(ge=1, le=MAX_DURATION_SEC)]


class _VerifyBody(BaseModel):
    session_id: _Id
    client_id: _Id
    status: SessionStatus
    consent_mode: Literal["explicit", "integrator"]
    candidate_ref: Annotated[str, StringConstraints(max_length=256)] | None = None
    persona: _PersonaBody
    limits: _LimitsBody
    expires_at: str
    accommodations: _AccommodationsBody | None = None


@dataclass(frozen=True)
class Verification:
    """What the control plane says about a candidate token.

    ``max_duration_sec`` is the client's limit; an accommodation of
    ``extra_time_pct`` grows the interview's `time_budget_sec` beyond it.
    """

    session_id: str
    client_id: str
    status: SessionStatus
    consent_mode: Literal["explicit", "integrator"]
    candidate_ref: str | None
    persona: Persona
    max_concurrent: int
    max_duration_sec: int
    extra_time_pct: int = 0

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def time_budget_sec(self) -> int:
        """The interview's time budget: the limit grown by the accommodation, rounded up."""
        return time_budget_sec(self.max_duration_sec, self.extra_time_pct)


def time_budget_sec(max_duration_sec: int, extra_time_pct: int) -> int:
    """The limit times ``1 + extra_time_pct / 100``, rounded up to a whole second."""
    return -(-max_duration_sec * (PERCENT + extra_time_pct) // PERCENT)


class Delivery(enum.Enum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"  # permanent: retrying cannot help


class ControlPlane(Protocol):
    async def verify(self, token: str) -> Verification:
        """Raise TokenInvalid, TokenExpired, ControlPlaneError or
        ControlPlaneUnavailable unless the token admits a candidate."""
        ...

    async def deliver(self, body: bytes) -> Delivery:
        """Post one serialized event. Raise ControlPlaneUnavailable when a
        later retry may succeed."""
        ...


class HttpControlPlane:
    def __init__(self, client: httpx.AsyncClient, base_url: str, signer: Signer) -> None:
        self._client = client
        self._base_url = base_url
        self._signer = signer

    async def _post(self, path: str, body: bytes) -> httpx.Response:
        headers = {"Content-Type": "application/json", **self._signer.headers("POST", path, body)}
        try:
            return await self._client.post(self._base_url + path, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise ControlPlaneUnavailable(
                f"control plane unreachable: {type(exc).__name__}"
            ) from exc

    async def verify(self, token: str) -> Verification:
        response = await self._post(VERIFY_PATH, json.dumps({"token": token}).encode())
        if response.status_code == 404:
            raise TokenInvalid("This interview link is not valid.")
        if response.status_code == 410:
            raise TokenExpired("This interview link has expired.")
        if response.status_code >= 500:
            raise ControlPlaneUnavailable(f"control plane answered {response.status_code}")
        if response.status_code != 200:
            raise ControlPlaneError(f"verify answered {response.status_code}")
        try:
            body = _VerifyBody.model_validate_json(response.content)
            persona = body.persona.persona()
        except (ValidationError, ValueError) as exc:
            raise ControlPlaneError("verify answered an unexpected body") from exc
        accommodations = body.accommodations or _AccommodationsBody()
        return Verification(
            session_id=body.session_id,
            client_id=body.client_id,
            status=body.status,
            consent_mode=body.consent_mode,
            candidate_ref=body.candidate_ref,
            persona=persona,
            max_concurrent=body.limits.max_concurrent,
            max_duration_sec=body.limits.max_duration_sec,
            extra_time_pct=accommodations.extra_time_pct,
        )

    async def deliver(self, body: bytes) -> Delivery:
        response = await self._post(EVENTS_PATH, body)
        status = response.status_code
        if status < 300:
            return Delivery.ACCEPTED
        if status >= 500 or status in RETRYABLE_CLIENT_STATUSES:
            raise ControlPlaneUnavailable(f"control plane answered {status}")
        return Delivery.REJECTED


def event_body(
    event_id: str, type_: str, session_id: str, occurred_at: str, data: dict[str, Any]
) -> bytes:
    """Serialize one S2S event exactly as it is signed and sent."""
    return json.dumps(
        {
            "event_id": event_id,
            "type": type_,
            "session_id": session_id,
            "occurred_at": occurred_at,
            "data": data,
        },
        separators=(",", ":"),
    ).encode()
