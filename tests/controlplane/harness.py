"""Real control-plane servers for the integrator-API tests, and the small apps they call.

`running_platform` serves a control plane under uvicorn (restartable on its
port) with one integrator client; `Receiver` is a webhook endpoint the test
runs and can take down; `FakeGateway` implements the gateway's signed S2S
artifact deletion with a status a test chooses (the real one is tested in
tests/s2s and, end to end, in test_erasure).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from controlplane import Settings, create_app, create_client
from tests.controlplane.platform import client_balance
from zenhire.loopback.servers import Restartable, free_port
from zenhire.signing import Direction, SignatureError, Signer

API = "/api/v1/interview"
VERIFY = f"{API}/s2s/tokens/verify"
EVENTS = f"{API}/s2s/events"
SECRET = "test-s2s-secret"
PUBLIC_URL = "https://interview.example"
# Short schedules so that retries, sweeps and overlaps play out in a test.
FAST_ENV = {
    "ZENHIRE_WEBHOOKS_ALLOW_PRIVATE": "1",
    "ZENHIRE_WEBHOOK_BASE_DELAY_SEC": "0.1",
    "ZENHIRE_WEBHOOK_MAX_DELAY_SEC": "0.3",
    "ZENHIRE_WEBHOOK_TIMEOUT_SEC": "2",
    "ZENHIRE_SWEEP_INTERVAL_SEC": "0.2",
}


def make_settings(data_dir: Path, **env: str) -> Settings:
    return Settings.from_env(
        {
            "ZENHIRE_DATA_DIR": str(data_dir),
            "ZENHIRE_S2S_SECRET": SECRET,
            "ZENHIRE_GATEWAY_PUBLIC_URL": PUBLIC_URL,
            # Nothing listens here unless a test says otherwise.
            "ZENHIRE_GATEWAY_S2S_URL": f"http://127.0.0.1:{free_port()}",
            **FAST_ENV,
            **env,
        }
    )


@dataclass
class Platform:
    """A running control plane and an integrator client."""

    settings: Settings
    server: Restartable
    http: httpx.AsyncClient
    api_key: str
    client_id: str

    async def call(
        self, method: str, path: str, *, key: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = {"X-API-Key": key or self.api_key, **kwargs.pop("headers", {})}
        return await self.http.request(method, API + path, headers=headers, **kwargs)

    async def ok(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        response = await self.call(method, path, **kwargs)
        assert response.status_code == status, response.text
        return response.json() if response.content else None

    async def persona(self, key: str | None = None, **body: Any) -> str:
        body = {"role_name": "Senior Backend Engineer", "language": "en", **body}
        persona: dict[str, Any] = await self.ok("POST", "/personas", 201, key=key, json=body)
        return str(persona["id"])

    async def start(
        self, persona_id: str | None = None, key: str | None = None, **body: Any
    ) -> tuple[str, str]:
        """A new session; its id and the raw candidate token."""
        persona_id = persona_id or await self.persona(key=key)
        body = {"consent_mode": "integrator", "candidate_ref": "candidate-12345", **body}
        path = f"/personas/{persona_id}/sessions"
        created = await self.ok("POST", path, 201, key=key, json=body)
        return str(created["session_id"]), str(created["candidate_link"]).split("#t=", 1)[1]

    async def session(self, session_id: str) -> dict[str, Any]:
        session: dict[str, Any] = await self.ok("GET", f"/sessions/{session_id}")
        return session

    async def s2s(self, path: str, payload: object) -> httpx.Response:
        body = json.dumps(payload).encode()
        headers = Signer.of([SECRET], Direction.TO_CONTROL_PLANE).headers("POST", path, body)
        return await self.http.post(path, content=body, headers=headers)

    async def event(self, session_id: str, type_: str, data: dict[str, Any]) -> None:
        event = {
            "event_id": str(uuid.uuid4()),
            "type": type_,
            "session_id": session_id,
            "occurred_at": "2026-05-29T10:10:05.123Z",
            "data": data,
        }
        response = await self.s2s(EVENTS, event)
        assert response.status_code == 200, response.text

    def balance(self) -> int:
        return client_balance(self.settings, self.api_key)

    def other_client(self, **kwargs: Any) -> str:
        return str(create_client(self.settings, name="Other", **kwargs)["api_key"])


def completed(
    duration_sec: int = 742, completed_at: str = "2026-05-29T10:22:47.456Z"
) -> dict[str, Any]:
    return {
        "recording_key": "sessions/s/recording.wav",
        "transcript_key": "sessions/s/transcript.json",
        "duration_sec": duration_sec,
        "started_at": "2026-05-29T10:10:05.123Z",
        "completed_at": completed_at,
        "consent": None,
    }


@asynccontextmanager
async def running_platform(
    tmp_path: Path, *, client: dict[str, Any] | None = None, **env: str
) -> AsyncIterator[Platform]:
    settings = make_settings(tmp_path / "controlplane", **env)
    created = create_client(settings, name="Acme", **(client or {}))
    server = Restartable(lambda: create_app(settings), free_port())
    await server.start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        async with httpx.AsyncClient(base_url=base, timeout=10.0) as http:
            yield Platform(
                settings, server, http, str(created["api_key"]), str(created["client_id"])
            )
    finally:
        await server.stop()


POLL_SEC = 0.05


async def until(probe: Callable[[], Awaitable[bool]], timeout_sec: float = 10.0) -> None:
    """Wait until ``probe`` answers true; fail after ``timeout_sec``."""
    async with asyncio.timeout(timeout_sec):
        while True:
            if await probe():
                return
            await asyncio.sleep(POLL_SEC)


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is the seeds' error envelope with this status and code."""
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["timestamp"].endswith("Z")
    assert "details" in error
    return error


@dataclass
class Delivered:
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class Receiver:
    """A webhook endpoint: records every request, answers ``status``."""

    port: int = field(default_factory=free_port)
    status: int = 200
    received: list[Delivered] = field(default_factory=list)
    server: Restartable | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            self.received.append(Delivered(dict(request.headers), await request.body()))
            return Response(status_code=self.status)

        return Starlette(routes=[Route("/hooks", hook, methods=["POST"])])

    async def start(self) -> None:
        if self.server is None:
            self.server = Restartable(self.app, self.port)
        await self.server.start()

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()

    async def wait_for(self, count: int, timeout_sec: float = 10.0) -> list[Delivered]:
        async def arrived() -> bool:
            return len(self.received) >= count

        await until(arrived, timeout_sec)
        return self.received


@dataclass
class FakeGateway:
    """The gateway's ``DELETE /s2s/v1/sessions/{id}/artifacts``, signature-checked."""

    port: int = field(default_factory=free_port)
    status: int = 200
    deleted: list[str] = field(default_factory=list)
    rejected: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def app(self) -> Starlette:
        signer = Signer.of([SECRET], Direction.TO_GATEWAY)

        async def delete(request: Request) -> Response:
            try:
                signer.verify(
                    request.headers, request.method, request.url.path, await request.body()
                )
            except SignatureError:
                self.rejected += 1
                return JSONResponse({"error": {"code": "S2S_UNAUTHORIZED"}}, status_code=401)
            if self.status != 200:
                return JSONResponse({"error": {"code": "UNAVAILABLE"}}, status_code=self.status)
            session_id = request.path_params["session_id"]
            self.deleted.append(session_id)
            return JSONResponse(
                {
                    "session_id": session_id,
                    "deleted": [
                        {
                            "artifact": "recording",
                            "key": f"sessions/{session_id}/recording.wav",
                            "store": "local",
                        },
                        {
                            "artifact": "transcript",
                            "key": f"sessions/{session_id}/transcript.json",
                            "store": "local",
                        },
                    ],
                    "deleted_at": "2026-05-30T10:00:00.000Z",
                }
            )

        return Starlette(
            routes=[Route("/s2s/v1/sessions/{session_id}/artifacts", delete, methods=["DELETE"])]
        )
