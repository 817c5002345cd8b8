"""The control plane's integrator API, called as an ATS calls it, and a link verified.

`Integrator` creates personas and sessions through the real HTTP API and
reads their status back; `verify_link` does what the candidate page does
with a link's token and returns the gateway's answer (ticket, session,
consent). Unexpected answers raise `UnexpectedResponse` with the body.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx

from zenhire.loopback import secrets

API_PREFIX = "/api/v1/interview"
DEFAULT_ROLE = "Senior Backend Engineer"


class UnexpectedResponse(AssertionError):
    """An API answered with another status than the call expects."""


def expect(response: httpx.Response, status: int) -> dict[str, Any]:
    if response.status_code != status:
        raise UnexpectedResponse(
            f"{response.request.method} {response.request.url.path} answered "
            f"{response.status_code}, not {status}: {response.text}"
        )
    body: dict[str, Any] = response.json()
    return body


def token_of(link: str) -> str:
    """The raw token in a candidate link's ``#t=`` fragment."""
    return link.split("#t=", 1)[1]


@dataclass
class Integrator:
    control_url: str
    api_key: str
    http: httpx.AsyncClient

    @property
    def api(self) -> str:
        return f"{self.control_url}{API_PREFIX}"

    @property
    def headers(self) -> dict[str, str]:
        return {"X-API-Key": self.api_key}

    async def create_persona(
        self,
        role_name: str = DEFAULT_ROLE,
        language: str = "en",
        questions: list[dict[str, Any]] | None = None,
    ) -> str:
        """A persona; ``questions`` are its custom questions (``text``, ``type``, ...)."""
        body: dict[str, Any] = {"role_name": role_name, "language": language}
        if questions is not None:
            body["questions"] = questions
        response = await self.http.post(f"{self.api}/personas", json=body, headers=self.headers)
        return str(expect(response, 201)["id"])

    async def start_session(
        self,
        persona_id: str,
        consent_mode: str = "integrator",
        candidate_ref: str = "cand-1",
        extra_time_pct: int = 0,
    ) -> dict[str, Any]:
        """``POST /personas/{id}/sessions``: the 201 body (session id, candidate link)."""
        body: dict[str, Any] = {"consent_mode": consent_mode, "candidate_ref": candidate_ref}
        if extra_time_pct:
            body["accommodations"] = {"extra_time_pct": extra_time_pct}
        response = await self.http.post(
            f"{self.api}/personas/{persona_id}/sessions", json=body, headers=self.headers
        )
        return expect(response, 201)

    async def create_session(
        self,
        persona_id: str | None = None,
        consent_mode: str = "integrator",
        candidate_ref: str = "cand-1",
        extra_time_pct: int = 0,
        **persona: Any,
    ) -> tuple[str, str]:
        """A new session (and persona, unless given); its id and the raw token of its link."""
        persona_id = persona_id or await self.create_persona(**persona)
        body = await self.start_session(persona_id, consent_mode, candidate_ref, extra_time_pct)
        return str(body["session_id"]), secrets.register(token_of(body["candidate_link"]), "token")

    async def session(self, session_id: str) -> dict[str, Any]:
        response = await self.http.get(f"{self.api}/sessions/{session_id}", headers=self.headers)
        return expect(response, 200)

    async def wait_for_status(
        self, session_id: str, status: str, timeout_sec: float = 15.0
    ) -> dict[str, Any]:
        """The session once the control plane reports ``status``."""
        async with asyncio.timeout(timeout_sec):
            while True:
                session = await self.session(session_id)
                if session["status"] == status:
                    return session
                await asyncio.sleep(0.1)


async def verify_link(http: httpx.AsyncClient, gateway_url: str, token: str) -> dict[str, Any]:
    """``POST /api/v1/candidate/session`` as the page does: ticket, session, consent."""
    response = await http.post(f"{gateway_url}/api/v1/candidate/session", json={"token": token})
    return expect(response, 200)
