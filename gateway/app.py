"""The gateway application, wired in one place.

`create_app(settings)` builds the Starlette app from the routes of each
place (the candidate's HTTP API and page, the transports, operations, the
S2S endpoints) and one middleware; every long-lived resource (HTTP client, outbox, registry, task
group) opens in the lifespan and is passed explicitly. Seams (interviewer
factory, artifact store, the sessions' clock) may be handed in; by default
they come from ``settings``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware

from gateway import candidate, ops, s2s, transports
from gateway.candidate.tickets import TicketBook
from gateway.http import SecurityHeaders
from gateway.interviewer import InterviewerFactory
from gateway.interviewer.choice import build_interviewers
from gateway.ops.drain import drain
from gateway.ops.metrics import MeteredControlPlane, Metrics
from gateway.ops.operators import OperatorKeys
from gateway.ops.replica import Replica
from gateway.s2s.artifacts import ArtifactStore, LocalArtifactStore
from gateway.s2s.controlplane import HttpControlPlane
from gateway.s2s.outbox import Outbox
from gateway.services import Services
from gateway.session.clock import Clock
from gateway.session.registry import SessionRegistry
from gateway.settings import Settings
from gateway.state.store import open_state
from gateway.transports.peers import PeerConnections, check_port_range
from zenhire.signing import Direction, NonceCache, Signer

log = logging.getLogger("zenhire.gateway")

CONTROL_PLANE_TIMEOUT_SEC = 10.0
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
        outgoing = Signer.of(settings.s2s_secrets, Direction.TO_CONTROL_PLANE)
        store = artifacts or LocalArtifactStore(settings.artifacts_dir)
        timeout = httpx.Timeout(CONTROL_PLANE_TIMEOUT_SEC)
        waiter_ttl_sec = settings.waiting_retry_sec * WAITER_TTL_INTERVALS
        async with (
            httpx.AsyncClient(timeout=timeout) as client,
            open_state(settings, waiter_ttl_sec) as state,
        ):
            control_plane = MeteredControlPlane(
                HttpControlPlane(client, settings.controlplane_url, outgoing), metrics
            )
            outbox = Outbox(settings.outbox_path, control_plane, settings.outbox)
            try:
                async with asyncio.TaskGroup() as group:
                    registry = SessionRegistry(
                        settings,
                        group,
                        interviewers or build_interviewers(settings, metrics.upstream),
                        state.slots,
                        outbox,
                        store,
                        meter=metrics,
                        clock=clock,
                        ownership=state.ownership,
                    )
                    peers = PeerConnections(group)
                    await registry.recover_spool()
                    delivery = group.create_task(outbox.run())
                    replica = Replica(
                        settings.operations.replica_id,
                        registry,
                        state,
                        outbox,
                        metrics.upstream,
                        settings.operations.internal_url,
                    )
                    publishing = group.create_task(replica.run())
                    app.state.services = Services(
                        settings=settings,
                        control_plane=control_plane,
                        registry=registry,
                        tickets=TicketBook(settings.ticket_keys, settings.ticket_ttl_sec),
                        artifacts=store,
                        outbox=outbox,
                        signer=Signer.of(settings.s2s_secrets, Direction.TO_GATEWAY),
                        nonces=NonceCache(),
                        metrics=metrics,
                        operators=OperatorKeys(settings.operations.operator_keys),
                        replica=replica,
                        replicas=Signer.of(settings.s2s_secrets, Direction.BETWEEN_REPLICAS),
                    )
                    app.state.http = client
                    app.state.peers = peers
                    app.state.drain = lambda: drain(
                        registry, replica, settings.operations.drain_deadline_sec
                    )
                    try:
                        log.info(
                            "gateway listening",
                            extra={
                                "url": f"http://{settings.host}:{settings.port}",
                                "public_url": settings.public_url,
                            },
                        )
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
            *candidate.routes(settings.static_dir),
            *transports.routes(),
            *ops.routes(),
            *s2s.routes(),
        ],
        middleware=[
            Middleware(SecurityHeaders, https_only=settings.public_url.startswith("https://"))
        ],
        lifespan=lifespan,
    )
