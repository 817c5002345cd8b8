"""The parts a bench run starts: control plane and upstream here, the gateway pinned apart.

`Rig` holds the reference control plane (uvicorn, in this process), the
instrumented upstream (`BenchUpstream`, in this process) and an HTTP
client; `gateway` starts ``zenhire gateway serve`` on its own core with
the realtime interviewer pointed at the upstream; `Rig.admit` walks one
simulated candidate through the real lifecycle up to its ticket (persona,
session, link verification), as a page would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from controlplane.admin import create_client
from controlplane.app import create_app as create_controlplane
from controlplane.settings import Settings as ControlPlaneSettings
from zenhire.bench.probe import python, started
from zenhire.bench.upstream import BenchUpstream, role_name
from zenhire.loopback.integrator import Integrator, verify_link
from zenhire.loopback.servers import free_port, serve
from zenhire.loopback.stack import controlplane_environment, gateway_environment, loopback_url

SECRET = "zenhire-bench-s2s-secret"
API_KEY = "sk-bench-not-a-real-key"
MAX_SESSIONS = 100_000
MAX_DURATION_SEC = 7200


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
        return loopback_url(self.gateway_port)

    async def admit(self, candidate: int) -> str:
        """A fresh session for candidate number ``candidate``; its ticket."""
        _, ticket = await self.admit_session(candidate)
        return ticket

    async def admit_session(self, candidate: int) -> tuple[str, str]:
        """A fresh session for candidate number ``candidate``; its id and ticket."""
        integrator = Integrator(self.control_url, self.api_key, self.http)
        persona_id = await integrator.create_persona(role_name(candidate))
        session_id, token = await integrator.create_session(
            persona_id, candidate_ref=f"bench-{candidate}"
        )
        verified = await verify_link(self.http, self.gateway_url, token)
        return session_id, str(verified["ticket"])

    def gateway_env(self, label: str, extra: Mapping[str, str]) -> dict[str, str]:
        return {
            **gateway_environment(
                self.work_dir / f"gateway-{label}", self.gateway_port, self.control_url, SECRET
            ),
            "ZENHIRE_INTERVIEWER": "realtime",
            "ZENHIRE_REALTIME_URL": self.upstream_url,
            # Candidates speak over the interviewer all the time (the worst case);
            # the interviewer must not stop for them.
            "ZENHIRE_REALTIME_BARGE_IN": "false",
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
    gateway_port = free_port()
    control_dir = work_dir / "controlplane"
    settings = ControlPlaneSettings.from_env(
        controlplane_environment(control_dir, loopback_url(gateway_port), SECRET)
    )
    control_dir.mkdir(parents=True, exist_ok=True)
    async with AsyncExitStack() as stack:
        control_url = await stack.enter_async_context(serve(create_controlplane(settings)))
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
            control_url=control_url,
            gateway_port=gateway_port,
            api_key=str(client["api_key"]),
            http=http,
            upstream=upstream,
            upstream_url=upstream_url,
        )
