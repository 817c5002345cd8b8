"""The reference control plane as one Starlette application.

Routes::

    /api/v1/interview/personas                         POST, GET     integrator
    /api/v1/interview/personas/{id}                    GET           integrator
    /api/v1/interview/personas/{id}/sessions           POST          integrator
    /api/v1/interview/sessions                         GET           integrator
    /api/v1/interview/sessions/{id}                    GET           integrator
    /api/v1/interview/sessions/{id}/questions          GET           integrator
    /api/v1/interview/sessions/{id}/revoke             POST          lifecycle
    /api/v1/interview/sessions/{id}/reinvite           POST          lifecycle
    /api/v1/interview/sessions/{id}/recording          GET           results proxy
    /api/v1/interview/sessions/{id}/transcript         GET           results proxy
    /api/v1/interview/sessions/{id}/artifacts          DELETE        erasure
    /api/v1/interview/deletions/{id}                   GET           erasure
    /api/v1/interview/webhooks[/...]                   see webhooks  integrator webhooks
    /api/v1/interview/openapi.json                     GET           the contract (no key)
    /api/v1/interview/s2s/tokens/verify                POST          gateway (signed)
    /api/v1/interview/s2s/events                       POST          gateway (signed)
    /healthz                                           GET           probes

Every request body is bounded (`MAX_BODY_BYTES`) and timed before it is
read, and S2S requests without fresh signature headers are refused before
that (`zenhire.bodies.BoundedBodies`, with `controlplane.s2s.screen`).

The lifespan opens the SQLite store, one ``httpx.AsyncClient`` for the
gateway and one for webhook receivers, and runs the background work in one
task group: the webhook `Dispatcher`, the `Eraser`, and the sweep of expiry
and retention. Shutdown cancels them and closes the rest.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from controlplane import integrator, lifecycle, proxy, questions, s2s
from controlplane.contract import document
from controlplane.erasure import endpoints as erasure
from controlplane.erasure.eraser import Eraser
from controlplane.errors import (
    ApiError,
    PayloadTooLarge,
    error_response,
    handle_api_error,
    handle_http_exception,
    handle_unexpected,
)
from controlplane.payloads import MAX_BODY_BYTES
from controlplane.resources import Resources
from controlplane.settings import Settings
from controlplane.store import Store
from controlplane.webhooks import endpoints as webhooks
from controlplane.webhooks.dispatcher import Dispatcher
from controlplane.webhooks.outbox import Outbox
from zenhire.bodies import BodyLimits, BoundedBodies
from zenhire.signing import Direction, NonceCache, Signer
from zenhire.tasks import TaskGroup

log = logging.getLogger("zenhire.controlplane")

API_PREFIX = "/api/v1/interview"
GATEWAY_TIMEOUT = httpx.Timeout(30.0, connect=5.0)


def create_app(
    settings: Settings, *, webhook_transport: httpx.AsyncBaseTransport | None = None
) -> Starlette:
    """The control plane; ``webhook_transport`` replaces the network for webhook
    deliveries (tests that must not reach outside use a local one)."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        store = Store.open(settings.database_path)
        webhook_timeout = httpx.Timeout(settings.webhook_timeout_sec)
        try:
            async with (
                httpx.AsyncClient(timeout=GATEWAY_TIMEOUT) as http,
                httpx.AsyncClient(
                    timeout=webhook_timeout, follow_redirects=False, transport=webhook_transport
                ) as hooks,
                TaskGroup() as background,
            ):
                signer = Signer.of(settings.s2s_secrets, Direction.TO_GATEWAY)
                outbox = Outbox(store)
                dispatcher = Dispatcher(
                    outbox,
                    hooks,
                    settings.webhook_retry,
                    allow_private=settings.webhooks_allow_private,
                )
                eraser = Eraser(
                    store, outbox, dispatcher, http, signer, settings, settings.webhook_retry
                )
                resources = Resources(
                    settings=settings,
                    store=store,
                    http=http,
                    signer=signer,
                    verifier=Signer.of(settings.s2s_secrets, Direction.TO_CONTROL_PLANE),
                    nonces=NonceCache(),
                    outbox=outbox,
                    dispatcher=dispatcher,
                    eraser=eraser,
                    questions=questions.QuestionPlans(),
                )
                app.state.resources = resources
                tasks = [
                    background.create_task(dispatcher.run()),
                    background.create_task(eraser.run()),
                    background.create_task(
                        lifecycle.sweep_forever(
                            resources, [lifecycle.expire_due, erasure.retire_due]
                        )
                    ),
                ]
                try:
                    log.info(
                        "control plane listening",
                        extra={"url": f"http://{settings.host}:{settings.port}"},
                    )
                    yield
                finally:
                    for task in tasks:
                        task.cancel()
        finally:
            store.close()

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Mount(
                API_PREFIX,
                routes=[
                    *integrator.routes(),
                    *questions.routes(),
                    *lifecycle.routes(),
                    *proxy.routes(),
                    *erasure.routes(),
                    *webhooks.routes(),
                    *document.routes(),
                    Mount("/s2s", routes=s2s.routes()),
                ],
            ),
        ],
        middleware=[
            Middleware(
                BoundedBodies,
                limits=BodyLimits(
                    MAX_BODY_BYTES, settings.body_timeout_sec, too_large_code=PayloadTooLarge.code
                ),
                refuse=error_response,
                screen=s2s.screen,
            )
        ],
        exception_handlers={
            ApiError: handle_api_error,
            HTTPException: handle_http_exception,
            Exception: handle_unexpected,
        },
        lifespan=lifespan,
    )


async def healthz(request: Request) -> Response:
    """The process is up; the gateway's readiness probe calls this."""
    return JSONResponse({"status": "ok"})
