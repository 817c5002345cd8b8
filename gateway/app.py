"""The gateway application, wired in one place.

`create_app(settings)` builds the Starlette app from lists of routes and
middleware; every long-lived resource (HTTP client, outbox, registry, task
group) opens in the lifespan and is passed explicitly. Seams (interviewer
factory, artifact store, the sessions' clock) may be handed in; by default
they come from ``settings``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from gateway import candidate, console, s2s
from gateway.artifacts import ArtifactStore, LocalArtifactStore
from gateway.clock import Clock
from gateway.controlplane import HttpControlPlane
from gateway.headers import SecurityHeaders
from gateway.interviewer import InterviewerFactory
from gateway.metrics import MeteredControlPlane, Metrics
from gateway.operators import OperatorKeys
from gateway.outbox import Outbox
from gateway.peers import PeerConnections, check_port_range
from gateway.registry import SessionRegistry
from gateway.replica import Replica
from gateway.services import Services, services
from gateway.settings import Settings
from gateway.signaling import webrtc_offer
from gateway.state import open_state
from gateway.tickets import TicketBook
from gateway.websocket import candidate_socket
from zenhire.signing import Signer

CONTROL_PLANE_TIMEOUT_SEC = 10.0
READY_PROBE_TIMEOUT_SEC = 2.0
# A waiter who has not retried for this many retry intervals has left.
WAITER_TTL_INTERVALS = 3


def create_app(
    settings: Settings,
    *,
    interviewers: InterviewerFactory | None = None,
    artifacts: ArtifactStore | None = None,
    clock: Clock | None = None,
) -> Starlette:
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        check_port_range(settings.webrtc_ports)
        signer = Signer(settings.s2s_secret.encode())
        store = artifacts or LocalArtifactStore(settings.artifacts_dir)
        timeout = httpx.Timeout(CONTROL_PLANE_TIMEOUT_SEC)
        waiter_ttl_sec = settings.waiting_retry_sec * WAITER_TTL_INTERVALS
        async with (
            httpx.AsyncClient(timeout=timeout) as client,
            open_state(settings, waiter_ttl_sec) as state,
        ):
            control_plane = MeteredControlPlane(
                HttpControlPlane(client, settings.controlplane_url, signer), metrics
            )
            outbox = Outbox(settings.outbox_path, control_plane, settings.outbox)
            try:
                async with asyncio.TaskGroup() as group:
                    registry = SessionRegistry(
                        settings,
                        group,
                        interviewers or _default_interviewers(settings, metrics),
                        state.slots,
                        outbox,
                        store,
                        meter=metrics,
                        clock=clock,
                    )
                    peers = PeerConnections(group)
                    await registry.recover_spool()
                    delivery = group.create_task(outbox.run())
                    replica = Replica(
                        settings.operations.replica_id, registry, state, outbox, metrics.upstream
                    )
                    publishing = group.create_task(replica.run())
                    app.state.services = Services(
                        settings=settings,
                        control_plane=control_plane,
                        registry=registry,
                        tickets=TicketBook(settings.ticket_key, settings.ticket_ttl_sec),
                        artifacts=store,
                        outbox=outbox,
                        signer=signer,
                        metrics=metrics,
                        operators=OperatorKeys(settings.operations.operator_keys),
                        replica=replica,
                    )
                    app.state.http = client
                    app.state.peers = peers
                    try:
                        yield
                    finally:
                        await registry.shutdown()
                        publishing.cancel()
                        await replica.withdraw()
                        await peers.shutdown()
                        delivery.cancel()
                        # One last pass, so events of sessions that just ended go out now
                        # rather than after the next start.
                        await outbox.deliver_due()
            finally:
                outbox.close()

    return Starlette(
        routes=[
            Route("/", index),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", console.metrics),
            Route("/ops", console.page),
            Route("/ops/api/v1/overview", console.operator_only(console.api_overview)),
            Route("/ops/api/v1/stream", console.operator_only(console.stream)),
            Route(
                "/ops/api/v1/sessions/{session_id}/end",
                console.operator_only(console.end_session),
                methods=["POST"],
            ),
            Route("/ops/api/v1/drain", console.operator_only(console.drain), methods=["POST"]),
            Route("/ops/api/v1/undrain", console.operator_only(console.undrain), methods=["POST"]),
            Route("/api/v1/candidate/session", candidate.open_session, methods=["POST"]),
            Route("/api/v1/candidate/consent", candidate.record_consent, methods=["POST"]),
            WebSocketRoute("/api/v1/candidate/ws", candidate_socket),
            Route("/api/v1/candidate/webrtc/offer", webrtc_offer, methods=["POST"]),
            Route("/s2s/v1/sessions/{session_id}/recording", s2s.recording),
            Route("/s2s/v1/sessions/{session_id}/transcript", s2s.transcript),
            Mount("/static", StaticFiles(directory=settings.static_dir), name="static"),
        ],
        middleware=[Middleware(SecurityHeaders)],
        lifespan=lifespan,
    )


async def index(request: Request) -> Response:
    page = services(request).settings.static_dir / "index.html"
    return FileResponse(page, headers={"Cache-Control": "no-store"})


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    found = services(request)
    checks: dict[str, bool] = {}
    client: httpx.AsyncClient = request.app.state.http
    try:
        probe = await client.get(
            found.settings.controlplane_url + "/healthz", timeout=READY_PROBE_TIMEOUT_SEC
        )
        checks["control_plane"] = probe.status_code == 200
    except httpx.HTTPError:
        checks["control_plane"] = False
    checks["artifact_store"] = (
        found.settings.artifacts_dir.is_dir() if artifacts_local(found) else True
    )
    checks["state_store"] = await found.replica.state.ping()
    draining = found.replica.draining
    ready = all(checks.values()) and not draining
    return JSONResponse(
        {"ready": ready, "draining": draining, "checks": checks},
        status_code=200 if ready else 503,
    )


def artifacts_local(found: Services) -> bool:
    return isinstance(found.artifacts, LocalArtifactStore)


def _default_interviewers(settings: Settings, metrics: Metrics) -> InterviewerFactory:
    # Imported here: the embedded interviewer loads speech models, which a
    # gateway handed another interviewer never needs.
    from gateway.interviewers import build_interviewers

    return build_interviewers(settings, metrics.upstream)
