"""The gateway application, wired in one place.

`create_app(settings)` builds the Starlette app from the routes of each place
(the candidate's HTTP API and page, the transports, operations, the S2S
endpoints) and three middlewares (security headers, the split between the
public and internal listeners, bounded request bodies); every long-lived
resource (HTTP client, outbox, registry, task group) opens in the lifespan and
is passed explicitly. Seams (interviewer factory, artifact store, the
sessions' clock) may be handed in; by default they come from ``settings``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware

from gateway import candidate, ops, s2s, transports
from gateway.candidate.tickets import TicketBook
from gateway.http import SecurityHeaders, body_limits, error_response
from gateway.interviewer import InterviewerFactory
from gateway.interviewer.choice import open_interviewers
from gateway.limits import Limits
from gateway.listeners import Listeners
from gateway.ops.drain import drain
from gateway.ops.load import CpuLoad
from gateway.ops.loop_lag import LoopLag
from gateway.ops.metrics import MeteredControlPlane, Metrics
from gateway.ops.operators import OperatorKeys
from gateway.ops.replica import Replica
from gateway.s2s.artifacts import ArtifactStore, LocalArtifactStore
from gateway.s2s.controlplane import ControlPlane, HttpControlPlane
from gateway.s2s.journal import Journal
from gateway.s2s.outbox import EventOutbox, Outbox
from gateway.s2s.redis_outbox import RedisOutbox
from gateway.s2s.s3 import S3ArtifactStore
from gateway.s2s.stream import EventStream
from gateway.services import Services
from gateway.session.clock import Clock
from gateway.session.orphans import Orphans
from gateway.session.registry import SessionRegistry
from gateway.session.shipper import SegmentShipper
from gateway.settings import Settings
from gateway.state.store import StateStore, open_state
from gateway.transports.ice import IceServers
from gateway.transports.peers import PeerConnections, check_port_range
from gateway.transports.signaling import MAX_OFFER_BODY_BYTES, OFFER_PATH
from zenhire.bodies import BoundedBodies
from zenhire.signing import Direction, NonceCache, Signer
from zenhire.tasks import TaskGroup

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
        store = artifacts or artifact_store(settings)
        shipper = SegmentShipper(store) if settings.segment_sec > 0 else None
        if shipper is not None:
            metrics.watch_segments(shipper)
        timeout = httpx.Timeout(CONTROL_PLANE_TIMEOUT_SEC)
        waiter_ttl_sec = settings.waiting_retry_sec * WAITER_TTL_INTERVALS
        # A factory handed in belongs to the caller; one built here (with its
        # models) lives as long as the app and closes after the last session.
        chosen: AbstractAsyncContextManager[InterviewerFactory] = (
            nullcontext(interviewers)
            if interviewers is not None
            else open_interviewers(settings, metrics.upstream)
        )
        async with (
            chosen as factory,
            httpx.AsyncClient(timeout=timeout) as client,
            open_state(settings, waiter_ttl_sec) as state,
        ):
            control_plane = MeteredControlPlane(
                HttpControlPlane(client, settings.controlplane_url, outgoing), metrics
            )
            outbox = event_outbox(settings, control_plane, state)
            try:
                async with TaskGroup() as group:
                    registry = SessionRegistry(
                        settings,
                        group,
                        factory,
                        state.slots,
                        outbox,
                        store,
                        meter=metrics,
                        clock=clock,
                        shipper=shipper,
                        ownership=state.ownership,
                    )
                    peers = PeerConnections(group)
                    shipping = group.create_task(shipper.run()) if shipper is not None else None
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
                    load = CpuLoad(settings.load)
                    sampling = group.create_task(load.run())
                    loop_lag = LoopLag(settings.ready_loop_lag_window_sec, metrics.loop_lagged)
                    probing = group.create_task(loop_lag.run())
                    orphans = Orphans(registry, _orphan_idle_sec(settings))
                    adopting = group.create_task(orphans.run())
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
                        ice=IceServers(settings.ice_servers, settings.turn),
                        load=load,
                        limits=Limits.of(settings.edge),
                        loop_lag=loop_lag,
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
                                "s2s_url": _internal_url(settings),
                            },
                        )
                        yield
                    finally:
                        await registry.shutdown()
                        if shipping is not None:
                            shipping.cancel()
                        publishing.cancel()
                        sampling.cancel()
                        probing.cancel()
                        adopting.cancel()
                        await replica.withdraw()
                        await peers.shutdown()
                        delivery.cancel()
                        # One last pass, so events of sessions that just ended go out now
                        # rather than after the next start.
                        await outbox.deliver_due()
            finally:
                await outbox.close()

    return Starlette(
        routes=[
            *candidate.routes(settings.static_dir),
            *transports.routes(),
            *ops.routes(),
            *s2s.routes(),
        ],
        middleware=[
            Middleware(SecurityHeaders, https_only=settings.public_url.startswith("https://")),
            Middleware(Listeners, settings=settings),
            Middleware(
                BoundedBodies,
                limits=body_limits(
                    settings.edge.body_timeout_sec, {OFFER_PATH: MAX_OFFER_BODY_BYTES}
                ),
                refuse=error_response,
            ),
        ],
        lifespan=lifespan,
    )


def _internal_url(settings: Settings) -> str | None:
    listener = settings.edge.s2s_listener
    return None if listener is None else f"http://{listener[0]}:{listener[1]}"


def artifact_store(settings: Settings) -> ArtifactStore:
    """S3 when a bucket is configured, else the local artifact directory."""
    if settings.s3 is not None:
        return S3ArtifactStore(settings.s3)
    return LocalArtifactStore(settings.artifacts_dir)


def _orphan_idle_sec(settings: Settings) -> float:
    """How long an interview's checkpoint waits with no owner before another replica
    ends it: the dead owner's lease to run out, then the candidate's grace to return."""
    operations = settings.operations
    return (
        operations.owner_lease_sec
        + operations.checkpoint_interval_sec
        + settings.reconnect_grace_sec
    )


def event_outbox(settings: Settings, control_plane: ControlPlane, state: StateStore) -> EventOutbox:
    """The Redis stream when the state is in Redis (the SQLite outbox beside it, for
    what Redis cannot take), else the SQLite outbox alone."""
    inline_io = settings.disk_io == "inline"
    local = Outbox(settings.outbox_path, control_plane, settings.outbox, inline_io=inline_io)
    if state.redis is None:
        return local
    operations = settings.operations
    return RedisOutbox(
        EventStream(state.redis, operations.replica_id),
        local,
        Journal(settings.outbox_journal_path, inline_io=inline_io),
        control_plane,
        settings.outbox,
        operations.outbox_claim_idle_sec,
    )
