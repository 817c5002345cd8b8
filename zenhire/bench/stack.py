"""The parts a bench run starts: control plane and upstream here, the gateway pinned apart.

`Rig` holds the reference control plane (uvicorn, in this process), the
instrumented upstream (`BenchUpstream`, in this process) and an HTTP
client; `gateway` starts ``zenhire gateway serve`` on its own core with
the realtime interviewer pointed at the upstream; `Rig.admit` walks one
simulated candidate through the real lifecycle up to its ticket (persona,
session, link verification), as a page would.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

from controlplane.admin import create_client
from controlplane.app import create_app as create_controlplane
from controlplane.settings import Settings as ControlPlaneSettings
from zenhire.bench.probe import python, started
from zenhire.bench.upstream import BenchUpstream, role_name

SECRET = "zenhire-bench-s2s-secret"
API_KEY = "sk-bench-not-a-real-key"
MAX_SESSIONS = 100_000
MAX_DURATION_SEC = 7200
STARTUP_TIMEOUT_SEC = 15.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@asynccontextmanager
async def serve(app: object, port: int) -> AsyncIterator[None]:
    """An ASGI app under uvicorn in this event loop, until the block exits."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(STARTUP_TIMEOUT_SEC):
            while not server.started:
                if task.done():
                    await task
                    raise RuntimeError("server exited during start-up")
                await asyncio.sleep(0.01)
        yield
    finally:
        server.should_exit = True
        await task


@dataclass
class Rig:
    work_dir: Path
    control_url: str
    gateway_port: int
    api_key: str
    http: httpx.AsyncClient
    upstream: BenchUpstream
    upstream_url: str

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    async def admit(self, candidate: int) -> str:
        """A fresh session for candidate number ``candidate``; its ticket."""
        _, ticket = await self.admit_session(candidate)
        return ticket

    async def admit_session(self, candidate: int) -> tuple[str, str]:
        """A fresh session for candidate number ``candidate``; its id and ticket."""
        api, headers = f"{self.control_url}/api/v1/interview", {"X-API-Key": self.api_key}
        persona = await self.http.post(
            f"{api}/personas",
            json={"role_name": role_name(candidate), "language": "en"},
            headers=headers,
        )
        persona.raise_for_status()
        session = await self.http.post(
            f"{api}/personas/{persona.json()['id']}/sessions",
            json={"consent_mode": "integrator", "candidate_ref": f"bench-{candidate}"},
            headers=headers,
        )
        session.raise_for_status()
        token = session.json()["candidate_link"].split("#t=", 1)[1]
        verified = await self.http.post(
            f"{self.gateway_url}/api/v1/candidate/session", json={"token": token}
        )
        verified.raise_for_status()
        return str(session.json()["session_id"]), str(verified.json()["ticket"])

    def gateway_env(self, label: str, extra: Mapping[str, str]) -> dict[str, str]:
        data = self.work_dir / f"gateway-{label}"
        return {
            "ZENHIRE_S2S_SECRET": SECRET,
            "ZENHIRE_DATA_DIR": str(data),
            "ZENHIRE_GATEWAY_HOST": "127.0.0.1",
            "ZENHIRE_GATEWAY_PORT": str(self.gateway_port),
            "ZENHIRE_GATEWAY_PUBLIC_URL": self.gateway_url,
            "ZENHIRE_CONTROLPLANE_URL": self.control_url,
            "ZENHIRE_INTERVIEWER": "realtime",
            "ZENHIRE_REALTIME_URL": self.upstream_url,
            "OPENAI_API_KEY": API_KEY,
            **extra,
        }

    @asynccontextmanager
    async def gateway(
        self, label: str, core: int | None, env: Mapping[str, str]
    ) -> AsyncIterator[int]:
        """``zenhire gateway serve`` pinned to ``core``; yields its pid."""
        async with started(
            [python(), "-m", "zenhire.cli", "gateway", "serve"],
            core=core,
            env=self.gateway_env(label, env),
            log_path=self.work_dir / f"gateway-{label}.log",
            ready_url=f"{self.gateway_url}/healthz",
        ) as pid:
            yield pid


@asynccontextmanager
async def rig(work_dir: Path, upstream: BenchUpstream) -> AsyncIterator[Rig]:
    """Control plane and upstream running in this process; the gateway port reserved."""
    gateway_port, control_port = free_port(), free_port()
    gateway_url = f"http://127.0.0.1:{gateway_port}"
    settings = ControlPlaneSettings.from_env(
        {
            "ZENHIRE_S2S_SECRET": SECRET,
            "ZENHIRE_DATA_DIR": str(work_dir / "controlplane"),
            "ZENHIRE_GATEWAY_PUBLIC_URL": gateway_url,
        }
    )
    (work_dir / "controlplane").mkdir(parents=True, exist_ok=True)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(serve(create_controlplane(settings), control_port))
        client = create_client(
            settings,
            name="Bench",
            credits=10**9,
            max_concurrent=MAX_SESSIONS,
            max_duration_sec=MAX_DURATION_SEC,
        )
        upstream_url = await stack.enter_async_context(upstream.running())
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=30.0))
        yield Rig(
            work_dir=work_dir,
            control_url=f"http://127.0.0.1:{control_port}",
            gateway_port=gateway_port,
            api_key=str(client["api_key"]),
            http=http,
            upstream=upstream,
            upstream_url=upstream_url,
        )
