"""The integrator's view of a running control plane, and the payloads and checks its tests share."""

from __future__ import annotations

import json
import re
import sqlite3
import uuid
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from controlplane import Settings
from controlplane.credentials import digest
from zenhire.loopback.servers import free_port
from zenhire.signing import Direction, Signer

API = "/api/v1/interview"
VERIFY = f"{API}/s2s/tokens/verify"
EVENTS = f"{API}/s2s/events"
SECRET = "test-s2s-secret"
PUBLIC_URL = "https://interview.example"
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@dataclass
class Platform:
    """A running control plane and an integrator client with 1000 credits."""

    settings: Settings
    http: httpx.AsyncClient
    api_key: str

    async def call(
        self,
        method: str,
        path: str,
        *,
        key: str | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        headers = {"X-API-Key": key or self.api_key, **(headers or {})}
        return await self.http.request(method, API + path, headers=headers, **kwargs)

    async def persona(self, key: str | None = None) -> str:
        body = {"role_name": "Senior Backend Engineer", "language": "en"}
        response = await self.call("POST", "/personas", key=key, json=body)
        assert response.status_code == 201, response.text
        persona_id: str = response.json()["id"]
        return persona_id

    async def start(self, persona_id: str, key: str | None = None) -> tuple[str, str]:
        """Start a session; its id and the raw candidate token."""
        body = {"consent_mode": "explicit", "candidate_ref": "candidate-12345"}
        response = await self.call("POST", f"/personas/{persona_id}/sessions", key=key, json=body)
        assert response.status_code == 201, response.text
        created = response.json()
        token = created["candidate_link"].split("#t=", 1)[1]
        return created["session_id"], token

    async def session(self, session_id: str) -> dict[str, Any]:
        response = await self.call("GET", f"/sessions/{session_id}")
        assert response.status_code == 200, response.text
        session: dict[str, Any] = response.json()
        return session

    async def s2s(
        self, path: str, payload: object, *, secret: str = SECRET, now: float | None = None
    ) -> httpx.Response:
        body = json.dumps(payload).encode()
        headers = Signer.of([secret], Direction.TO_CONTROL_PLANE).headers(
            "POST", path, body, now=now
        )
        return await self.http.post(path, content=body, headers=headers)

    async def event(
        self, session_id: str, type_: str, data: dict[str, Any], event_id: str | None = None
    ) -> httpx.Response:
        event = {
            "event_id": event_id or str(uuid.uuid4()),
            "type": type_,
            "session_id": session_id,
            "occurred_at": "2026-05-29T10:10:05.123Z",
            "data": data,
        }
        return await self.s2s(EVENTS, event)

    def balance(self) -> int:
        return client_balance(self.settings, self.api_key)


def completed(duration_sec: int = 742) -> dict[str, Any]:
    return {
        "recording_key": "sessions/s/recording.wav",
        "transcript_key": "sessions/s/transcript.json",
        "duration_sec": duration_sec,
        "started_at": "2026-05-29T10:10:05.123Z",
        "completed_at": "2026-05-29T10:22:47.456Z",
        "consent": {"accepted_at": "2026-05-29T10:10:00.000Z", "text_version": "v1"},
    }


def make_settings(data_dir: Path, **overrides: str) -> Settings:
    environ = {
        "ZENHIRE_DATA_DIR": str(data_dir),
        "ZENHIRE_S2S_SECRET": SECRET,
        "ZENHIRE_GATEWAY_PUBLIC_URL": PUBLIC_URL,
        # Nothing listens here: the results proxy cannot reach a gateway.
        "ZENHIRE_GATEWAY_S2S_URL": f"http://127.0.0.1:{free_port()}",
        **overrides,
    }
    return Settings.from_env(environ)


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    assert TIMESTAMP.match(error["timestamp"])
    assert isinstance(error["message"], str)
    return error


def client_balance(settings: Settings, api_key: str) -> int:
    """The credit balance of the client holding ``api_key``, read from its database."""
    with closing(sqlite3.connect(settings.database_path)) as db:
        row = db.execute(
            "SELECT credit_balance FROM clients WHERE api_key_hash = ?", (digest(api_key),)
        ).fetchone()
    balance: int = row[0]
    return balance
