"""The control plane, as the gateway sees it: verify tokens, deliver events.

`ControlPlane` is the seam; `HttpControlPlane` speaks the signed S2S contract
of docs/s2s.md over one shared ``httpx.AsyncClient``.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import httpx
from pydantic import BaseModel, ValidationError

from gateway.errors import ControlPlaneError, ControlPlaneUnavailable, TokenExpired, TokenInvalid
from gateway.interviewer import Persona
from zenhire.signing import Signer

VERIFY_PATH = "/api/v1/interview/s2s/tokens/verify"
EVENTS_PATH = "/api/v1/interview/s2s/events"
# Status codes a retry may cure: besides timeouts and rate limits, 401/403 (a
# clock skewed for a while, a secret rotation half rolled out). Any other 4xx
# is the event's own fault.
RETRYABLE_CLIENT_STATUSES = frozenset({401, 403, 408, 425, 429})

SessionStatus = Literal["initiated", "active", "completed", "failed"]
TERMINAL_STATUSES: frozenset[str] = frozenset({"completed", "failed"})


class _PersonaBody(BaseModel):
    id: str
    role_name: str
    language: str


class _LimitsBody(BaseModel):
    max_concurrent: int
    max_duration_sec: int


class _VerifyBody(BaseModel):
    session_id: str
    client_id: str
    status: SessionStatus
    consent_mode: Literal["explicit", "integrator"]
    candidate_ref: str | None = None
    persona: _PersonaBody
    limits: _LimitsBody
    expires_at: str


@dataclass(frozen=True)
class Verification:
    """What the control plane says about a candidate token."""

    session_id: str
    client_id: str
    status: SessionStatus
    consent_mode: Literal["explicit", "integrator"]
    candidate_ref: str | None
    persona: Persona
    max_concurrent: int
    max_duration_sec: int

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL_STATUSES


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
        except ValidationError as exc:
            raise ControlPlaneError("verify answered an unexpected body") from exc
        return Verification(
            session_id=body.session_id,
            client_id=body.client_id,
            status=body.status,
            consent_mode=body.consent_mode,
            candidate_ref=body.candidate_ref,
            persona=Persona(body.persona.id, body.persona.role_name, body.persona.language),
            max_concurrent=body.limits.max_concurrent,
            max_duration_sec=body.limits.max_duration_sec,
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
