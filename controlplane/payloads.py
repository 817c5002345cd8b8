"""The JSON bodies the control plane accepts, validated at the edge with pydantic.

`decode` turns raw request bytes into a typed value or raises the `ApiError`
the endpoint answers with: integrator endpoints report ``INVALID_JSON`` and
``VALIDATION_ERROR``, S2S endpoints report ``BAD_REQUEST`` for both (per
docs/s2s.md). Validation is strict: ``candidate_ref: 42`` is an error, not
``"42"``. Unknown fields are ignored, except the few a body names as refused
(`SESSION_REFUSED`: a session's project comes from its key, never the body).
Every body is at most `MAX_BODY_BYTES` (``413 PAYLOAD_TOO_LARGE`` beyond),
enforced before it is read by `zenhire.bodies.BoundedBodies` (`controlplane.app`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)

from controlplane.errors import ApiError, InvalidJson, ValidationFailed
from controlplane.records import ConsentMode

T = TypeVar("T")

MAX_BODY_BYTES = 64 * 1024
MAX_QUESTIONS = 20
MAX_EXTRA_TIME_PCT = 100
DEFAULT_TIME_LIMIT_SEC = 120
MIN_TIME_LIMIT_SEC = 10
MAX_TIME_LIMIT_SEC = 3600
MAX_URL_CHARS = 2048
MAX_RATING_COMMENT_CHARS = 1000

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Language = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]
CandidateRef = Annotated[str, StringConstraints(max_length=256)]
Token = Annotated[str, StringConstraints(min_length=1, max_length=512)]
Seconds = Annotated[int, Field(ge=0)]


class _Body(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True)


QuestionText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)
]
QuestionType = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z_]{0,31}$")]
TimeLimit = Annotated[int, Field(ge=MIN_TIME_LIMIT_SEC, le=MAX_TIME_LIMIT_SEC)]
WebhookEventName = Literal[
    "session.started",
    "session.completed",
    "session.failed",
    "session.expired",
    "session.artifacts_deleted",
]


class QuestionBody(_Body):
    text: QuestionText
    type: QuestionType = "general"
    time_limit_seconds: TimeLimit = DEFAULT_TIME_LIMIT_SEC


class PersonaBody(_Body):
    role_name: Text
    language: Language
    questions: Annotated[list[QuestionBody], Field(max_length=MAX_QUESTIONS)] | None = None


class AccommodationsBody(_Body):
    extra_time_pct: Annotated[int, Field(ge=0, le=MAX_EXTRA_TIME_PCT)] = 0


class SessionBody(_Body):
    consent_mode: ConsentMode = ConsentMode.EXPLICIT
    candidate_ref: CandidateRef | None = None
    accommodations: AccommodationsBody | None = None


# What the document advertises for a webhook URL; the real check is
# `controlplane.webhooks.destination` (scheme, host, port, address).
URL_SHAPE = {"format": "uri", "pattern": r"^https?://[A-Za-z0-9.\[\]:-]+(/[A-Za-z0-9._~/-]*)?$"}


class WebhookBody(_Body):
    url: Annotated[
        str,
        StringConstraints(min_length=1, max_length=MAX_URL_CHARS),
        Field(json_schema_extra=URL_SHAPE),
    ]
    events: Annotated[list[WebhookEventName], Field(min_length=1, max_length=5)] | None = None
    description: Annotated[str, StringConstraints(max_length=500)] | None = None


class VerifyBody(_Body):
    token: Token


class StartedData(_Body):
    started_at: AwareDatetime | None = None
    transport: str | None = None


class RatingData(_Body):
    """The candidate's rating of the interview, from the end screen (docs/s2s.md)."""

    score: Annotated[int, Field(ge=1, le=5)]
    comment: Annotated[str, StringConstraints(max_length=MAX_RATING_COMMENT_CHARS)] | None = None
    rated_at: AwareDatetime | None = None


class CompletedData(_Body):
    recording_key: Text
    transcript_key: Text
    duration_sec: Seconds
    started_at: AwareDatetime | None = None
    completed_at: AwareDatetime | None = None
    consent: dict[str, Any] | None = None
    rating: RatingData | None = None


class ErrorData(_Body):
    code: Text
    message: str = ""


class FailedData(_Body):
    error: ErrorData
    started_at: AwareDatetime | None = None
    ended_at: AwareDatetime | None = None
    duration_sec: Seconds | None = None
    recording_key: Text | None = None
    transcript_key: Text | None = None
    consent: dict[str, Any] | None = None
    rating: RatingData | None = None


class _Event(_Body):
    event_id: Text
    session_id: Text
    occurred_at: AwareDatetime


class StartedEvent(_Event):
    type: Literal["session.started"]
    data: StartedData


class CompletedEvent(_Event):
    type: Literal["session.completed"]
    data: CompletedData


class FailedEvent(_Event):
    type: Literal["session.failed"]
    data: FailedData


Event = Annotated[StartedEvent | CompletedEvent | FailedEvent, Field(discriminator="type")]

SESSION_REFUSED = {
    "project_id": "project_id is not an API input: project selection is console-only, and a"
    " session started with an API key takes that key's project."
}

PERSONA = TypeAdapter(PersonaBody)
SESSION = TypeAdapter(SessionBody)
WEBHOOK = TypeAdapter(WebhookBody)
VERIFY = TypeAdapter(VerifyBody)
EVENT: TypeAdapter[StartedEvent | CompletedEvent | FailedEvent] = TypeAdapter(Event)


def decode(
    raw: bytes,
    adapter: TypeAdapter[T],
    *,
    syntax_error: type[ApiError] = InvalidJson,
    shape_error: type[ApiError] = ValidationFailed,
    refused: Mapping[str, str] | None = None,
) -> T:
    """Parse a JSON object body; an empty body counts as ``{}``.

    A field named in ``refused`` is an error with that message, whatever its value.
    """
    raw = raw.strip() or b"{}"
    try:
        parsed = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise syntax_error("The request body is not valid JSON.") from exc
    if not isinstance(parsed, dict):
        raise shape_error("The request body must be a JSON object.")
    for name, message in (refused or {}).items():
        if name in parsed:
            raise shape_error(message, {"errors": [{"field": name, "message": message}]})
    try:
        return adapter.validate_json(raw)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(part) for part in error["loc"]), "message": error["msg"]}
            for error in exc.errors(include_url=False, include_input=False)
        ]
        first = errors[0]
        message = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
        raise shape_error(message, {"errors": errors}) from exc
