"""The reference control plane as one Starlette application.

Routes::

    /api/v1/interview/personas                         POST, GET     integrator
    /api/v1/interview/personas/{id}                    GET           integrator
    /api/v1/interview/personas/{id}/sessions           POST          integrator
    /api/v1/interview/sessions/{id}                    GET           integrator
    /api/v1/interview/sessions/{id}/recording          GET           results proxy
    /api/v1/interview/sessions/{id}/transcript         GET           results proxy
    /api/v1/interview/s2s/tokens/verify                POST          gateway (signed)
    /api/v1/interview/s2s/events                       POST          gateway (signed)
    /healthz                                           GET           probes

The lifespan opens the SQLite store and one ``httpx.AsyncClient`` (for the
gateway) and closes both on shutdown.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from controlplane import integrator, proxy, s2s
from controlplane.errors import (
    ApiError,
    handle_api_error,
    handle_http_exception,
    handle_unexpected,
)
from controlplane.resources import Resources
from controlplane.settings import Settings
from controlplane.store import Store
from zenhire.signing import Signer

API_PREFIX = "/api/v1/interview"
GATEWAY_TIMEOUT = httpx.Timeout(30.0, connect=5.0)


def create_app(settings: Settings) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        store = Store.open(settings.database_path)
        try:
            async with httpx.AsyncClient(timeout=GATEWAY_TIMEOUT) as http:
                app.state.resources = Resources(
                    settings=settings,
                    store=store,
                    http=http,
                    signer=Signer(settings.s2s_secret.encode()),
                )
                yield
        finally:
            store.close()

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Mount(
                API_PREFIX,
                routes=[
                    *integrator.routes(),
                    *proxy.routes(),
                    Mount("/s2s", routes=s2s.routes()),
                ],
            ),
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
