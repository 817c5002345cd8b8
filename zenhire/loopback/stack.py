"""The whole lifecycle on loopback: a real control plane and a real gateway.

`running_stack` starts both under uvicorn with their own data directories,
creates a client through the admin function, and hands back a `Stack`: the
integrator API of that client (`Integrator`) plus what a test needs to
reach, restart or reconfigure either service. `gateway_environment` and
`controlplane_environment` are the variables that wire the two together,
shared with ``zenhire bench``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

import httpx

from controlplane.admin import create_client
from controlplane.app import create_app as create_controlplane
from controlplane.settings import Settings as ControlPlaneSettings
from gateway.app import create_app as create_gateway
from gateway.interviewer import InterviewerFactory
from gateway.settings import Settings as GatewaySettings
from zenhire.loopback import secrets
from zenhire.loopback.integrator import Integrator
from zenhire.loopback.servers import Restartable, free_port, serve

SECRET = secrets.register("test-s2s-secret", "S2S secret")
# Short local-interviewer settings so that a full interview takes seconds.
FAST_INTERVIEW_ENV = {
    "ZENHIRE_LOCAL_MAX_QUESTIONS": "1",
    # No rating window unless a test asks for one: a session ends when it ends.
    "ZENHIRE_RATING_WINDOW_SEC": "0",
}
# Events retried quickly, so that a test sees a control plane's return at once.
FAST_OUTBOX_ENV = {
    "ZENHIRE_OUTBOX_BASE_DELAY_SEC": "0.1",
    "ZENHIRE_OUTBOX_MAX_DELAY_SEC": "0.5",
}
# A harness drives every candidate from one loopback address: the caps per
# address are raised to the replica's (tests of the caps set their own).
LOOPBACK_LIMITS_ENV = {
    "ZENHIRE_VERIFY_PER_ADDRESS_PER_MIN": "100000",
    "ZENHIRE_VERIFY_PER_SEC": "10000",
    "ZENHIRE_WS_PER_ADDRESS": "1000",
    "ZENHIRE_PENDING_PEERS_PER_ADDRESS": "100",
    # Servers, candidates and browsers share two cores here: a loop lagging a few
    # hundred ms under that load is the machine, not the replica (the loop-lag
    # tests set their own threshold).
    "ZENHIRE_READY_MAX_LOOP_LAG_MS": "2000",
}
HTTP_TIMEOUT_SEC = 30.0


def loopback_url(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def gateway_environment(
    data_dir: Path, gateway_port: int, control_url: str, secret: str = SECRET
) -> dict[str, str]:
    """The variables of a gateway on ``gateway_port`` that reports to ``control_url``."""
    return {
        "ZENHIRE_S2S_SECRET": secret,
        "ZENHIRE_DATA_DIR": str(data_dir),
        "ZENHIRE_GATEWAY_HOST": "127.0.0.1",
        "ZENHIRE_GATEWAY_PORT": str(gateway_port),
        "ZENHIRE_GATEWAY_PUBLIC_URL": loopback_url(gateway_port),
        "ZENHIRE_CONTROLPLANE_URL": control_url,
        **LOOPBACK_LIMITS_ENV,
    }


def controlplane_environment(
    data_dir: Path, gateway_url: str, secret: str = SECRET
) -> dict[str, str]:
    """The variables of a control plane whose links point at ``gateway_url``."""
    return {
        "ZENHIRE_S2S_SECRET": secret,
        "ZENHIRE_DATA_DIR": str(data_dir),
        "ZENHIRE_GATEWAY_PUBLIC_URL": gateway_url,
    }


def gateway_settings(
    data_dir: Path, gateway_port: int, control_url: str, env: Mapping[str, str]
) -> GatewaySettings:
    """A test gateway's settings: fast interviews and retries, then ``env``."""
    return GatewaySettings.from_env(
        {
            **gateway_environment(data_dir, gateway_port, control_url),
            **FAST_OUTBOX_ENV,
            **FAST_INTERVIEW_ENV,
            **env,
        }
    )


class ScriptedCandidate(Protocol):
    """A scripted candidate (`zenhire.loopback.candidate`, `.webrtc_candidate`)."""

    async def open(
        self, http: httpx.AsyncClient, token: str, *, consent: bool = True
    ) -> httpx.Response: ...


C = TypeVar("C", bound=ScriptedCandidate)


@dataclass
class Stack(Integrator):
    gateway_url: str
    client_id: str
    gateway_settings: GatewaySettings
    control_settings: ControlPlaneSettings
    control: Restartable

    async def open_candidate(
        self, kind: Callable[[str], C], consent_mode: str = "integrator"
    ) -> tuple[str, C]:
        """A new session and a candidate of ``kind`` that has verified its link."""
        session_id, token = await self.create_session(consent_mode=consent_mode)
        candidate = kind(self.gateway_url)
        await candidate.open(self.http, token)
        return session_id, candidate


@asynccontextmanager
async def running_stack(
    tmp_path: Path,
    *,
    max_concurrent: int = 2,
    max_duration_sec: int = 120,
    credits: int = 1000,
    token_ttl_sec: int = 3600,
    gateway_env: Mapping[str, str] | None = None,
    controlplane_env: Mapping[str, str] | None = None,
    start_gateway: bool = True,
    interviewers: InterviewerFactory | None = None,
) -> AsyncIterator[Stack]:
    gateway_port, control_port = free_port(), free_port()
    control_url = loopback_url(control_port)
    control_dir = tmp_path / "controlplane"
    control_settings = ControlPlaneSettings.from_env(
        {
            **controlplane_environment(control_dir, loopback_url(gateway_port)),
            "ZENHIRE_TOKEN_TTL_SEC": str(token_ttl_sec),
            **(controlplane_env or {}),
        }
    )
    settings = gateway_settings(tmp_path / "gateway", gateway_port, control_url, gateway_env or {})
    control_dir.mkdir(exist_ok=True)
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
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_SEC) as http:
            stack = Stack(
                control_url=control_url,
                api_key=secrets.register(str(client["api_key"]), "api key"),
                http=http,
                gateway_url=loopback_url(gateway_port),
                client_id=str(client["client_id"]),
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
