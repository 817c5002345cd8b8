"""The whole lifecycle on loopback: a real control plane and a real gateway.

`running_stack` starts both under uvicorn with their own data directories,
creates a client through the admin function, and hands back a `Stack` that
makes personas and sessions through the real integrator API.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from controlplane.admin import create_client
from controlplane.app import create_app as create_controlplane
from controlplane.settings import Settings as ControlPlaneSettings
from gateway.app import create_app as create_gateway
from gateway.interviewer import InterviewerFactory
from gateway.settings import Settings as GatewaySettings
from zenhire.loopback.servers import Restartable, free_port, serve

SECRET = "test-s2s-secret"
# Short local-interviewer settings so that a full interview takes seconds.
FAST_INTERVIEW_ENV = {
    "ZENHIRE_LOCAL_MAX_QUESTIONS": "1",
}


@dataclass
class Stack:
    control_url: str
    gateway_url: str
    api_key: str
    client_id: str
    http: httpx.AsyncClient
    gateway_settings: GatewaySettings
    control_settings: ControlPlaneSettings
    control: Restartable

    @property
    def api(self) -> str:
        return f"{self.control_url}/api/v1/interview"

    @property
    def headers(self) -> dict[str, str]:
        return {"X-API-Key": self.api_key}

    async def create_persona(
        self, role_name: str = "Senior Backend Engineer", language: str = "en"
    ) -> str:
        response = await self.http.post(
            f"{self.api}/personas",
            json={"role_name": role_name, "language": language},
            headers=self.headers,
        )
        assert response.status_code == 201, response.text
        persona_id: str = response.json()["id"]
        return persona_id

    async def create_session(
        self, persona_id: str | None = None, consent_mode: str = "integrator", **persona: str
    ) -> tuple[str, str]:
        """A new session; returns its id and the raw token from its link."""
        persona_id = persona_id or await self.create_persona(**persona)
        response = await self.http.post(
            f"{self.api}/personas/{persona_id}/sessions",
            json={"consent_mode": consent_mode, "candidate_ref": "cand-1"},
            headers=self.headers,
        )
        assert response.status_code == 201, response.text
        body = response.json()
        link: str = body["candidate_link"]
        assert link.startswith(self.gateway_url + "/#t=")
        return body["session_id"], link.split("#t=", 1)[1]

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

    async def session(self, session_id: str) -> dict[str, Any]:
        response = await self.http.get(f"{self.api}/sessions/{session_id}", headers=self.headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


def gateway_settings(
    data_dir: Path, gateway_port: int, control_url: str, env: Mapping[str, str]
) -> GatewaySettings:
    return GatewaySettings.from_env(
        {
            "ZENHIRE_S2S_SECRET": SECRET,
            "ZENHIRE_DATA_DIR": str(data_dir),
            "ZENHIRE_GATEWAY_PORT": str(gateway_port),
            "ZENHIRE_GATEWAY_PUBLIC_URL": f"http://127.0.0.1:{gateway_port}",
            "ZENHIRE_CONTROLPLANE_URL": control_url,
            "ZENHIRE_OUTBOX_BASE_DELAY_SEC": "0.1",
            "ZENHIRE_OUTBOX_MAX_DELAY_SEC": "0.5",
            **FAST_INTERVIEW_ENV,
            **env,
        }
    )


@asynccontextmanager
async def running_stack(
    tmp_path: Path,
    *,
    max_concurrent: int = 2,
    max_duration_sec: int = 120,
    credits: int = 1000,
    token_ttl_sec: int = 3600,
    gateway_env: Mapping[str, str] | None = None,
    start_gateway: bool = True,
    interviewers: InterviewerFactory | None = None,
) -> AsyncIterator[Stack]:
    gateway_port, control_port = free_port(), free_port()
    control_url = f"http://127.0.0.1:{control_port}"
    control_settings = ControlPlaneSettings.from_env(
        {
            "ZENHIRE_S2S_SECRET": SECRET,
            "ZENHIRE_DATA_DIR": str(tmp_path / "controlplane"),
            "ZENHIRE_GATEWAY_PUBLIC_URL": f"http://127.0.0.1:{gateway_port}",
            "ZENHIRE_TOKEN_TTL_SEC": str(token_ttl_sec),
        }
    )
    settings = gateway_settings(tmp_path / "gateway", gateway_port, control_url, gateway_env or {})
    (tmp_path / "controlplane").mkdir(exist_ok=True)
    control = Restartable(lambda: create_controlplane(control_settings), control_port)
    await control.start()
    try:
        client = create_client(
            control_settings,
            name="Acme",
            credits=credits,
            max_concurrent=max_concurrent,
            max_duration_sec=max_duration_sec,
        )
        async with httpx.AsyncClient(timeout=30.0) as http:
            stack = Stack(
                control_url=control_url,
                gateway_url=f"http://127.0.0.1:{gateway_port}",
                api_key=str(client["api_key"]),
                client_id=str(client["client_id"]),
                http=http,
                gateway_settings=settings,
                control_settings=control_settings,
                control=control,
            )
            if not start_gateway:
                yield stack
                return
            async with serve(
                create_gateway(settings, interviewers=interviewers), port=gateway_port
            ):
                yield stack
    finally:
        await control.stop()
