"""The operator console's page, its JSON API and ``/metrics``.

    GET  /ops                                the console page (static/ops/)
    GET  /ops/api/v1/overview                everything the console shows, as JSON
    GET  /ops/api/v1/stream                  the overview as server-sent events
    POST /ops/api/v1/sessions/{id}/end       end a live interview (ENDED_BY_OPERATOR)
    POST /ops/api/v1/drain | /undrain        stop / resume admitting new interviews
    GET  /metrics                            Prometheus text format

The API needs ``Authorization: Bearer <operator key>`` (gateway.ops.operators);
docs/operator-api.md is its reference. Without an operator key configured
the console and the API answer 404 ``OPERATOR_CONSOLE_DISABLED``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import BaseRoute, Route

from gateway.errors import StateStoreUnavailable
from gateway.http import BadRequest, error_response, json_object
from gateway.ops import probes
from gateway.ops.metrics import CONTENT_TYPE
from gateway.ops.overview import overview
from gateway.services import Services, services
from gateway.state.directory import Action, Command

log = logging.getLogger("zenhire.console")

STREAM_INTERVAL_SEC = 1.0
# A stream ends after this long and the page reconnects: a server shutting
# down waits for open responses, so none may last for ever.
STREAM_MAX_SEC = 30.0
STREAM_RETRY_MS = 1000
DISABLED_MESSAGE = "The operator console is off: set ZENHIRE_OPERATOR_KEY or ZENHIRE_OPERATOR_KEYS."
OperatorEndpoint = Callable[[Request, str], Awaitable[Response]]


def routes() -> list[BaseRoute]:
    guarded = operator_only
    return [
        Route("/healthz", probes.healthz),
        Route("/readyz", probes.readyz),
        Route("/metrics", guarded(metrics)),
        Route("/ops", page),
        Route("/ops/api/v1/overview", guarded(api_overview)),
        Route("/ops/api/v1/stream", guarded(stream)),
        Route("/ops/api/v1/sessions/{session_id}/end", guarded(end_session), methods=["POST"]),
        Route("/ops/api/v1/drain", guarded(drain), methods=["POST"]),
        Route("/ops/api/v1/undrain", guarded(undrain), methods=["POST"]),
    ]


def operator_only(endpoint: OperatorEndpoint) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint that runs only for a request bearing a valid operator key."""

    async def guarded(request: Request) -> Response:
        keys = services(request).operators
        if not keys.enabled:
            return error_response(404, "OPERATOR_CONSOLE_DISABLED", DISABLED_MESSAGE)
        identity = keys.identify(request.headers.get("authorization"))
        if identity is None:
            peer = request.client.host if request.client is not None else None
            log.warning("operator request refused", extra={"path": request.url.path, "peer": peer})
            response = error_response(
                401, "OPERATOR_UNAUTHORIZED", "A valid operator key is required."
            )
            response.headers["WWW-Authenticate"] = 'Bearer realm="zenhire-ops"'
            return response
        return await endpoint(request, identity)

    return guarded


async def page(request: Request) -> Response:
    found = services(request)
    if not found.operators.enabled:
        return PlainTextResponse(DISABLED_MESSAGE, status_code=404)
    return FileResponse(
        found.settings.static_dir / "ops" / "index.html", headers={"Cache-Control": "no-store"}
    )


async def api_overview(request: Request, operator: str) -> Response:
    return JSONResponse({"operator": operator, **await overview(services(request))})


async def stream(request: Request, operator: str) -> Response:
    found = services(request)

    async def events() -> AsyncIterator[str]:
        yield f"retry: {STREAM_RETRY_MS}\n\n"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STREAM_MAX_SEC
        while loop.time() < deadline:
            document = json.dumps(
                {"operator": operator, **await overview(found)}, separators=(",", ":")
            )
            yield f"event: overview\ndata: {document}\n\n"
            await asyncio.sleep(STREAM_INTERVAL_SEC)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def end_session(request: Request, operator: str) -> Response:
    found = services(request)
    session_id = request.path_params["session_id"]
    replica = found.replica
    if replica.end_session(session_id, operator):
        return _ending(session_id, replica.replica_id)
    try:
        for snapshot in await replica.state.directory.replicas():
            if snapshot.replica_id == replica.replica_id:
                continue
            if any(s.session_id == session_id for s in snapshot.sessions):
                command = Command(Action.END_SESSION, operator, session_id)
                await replica.command(snapshot.replica_id, command)
                return _ending(session_id, snapshot.replica_id)
    except StateStoreUnavailable as exc:
        return error_response(exc.http_status, exc.code, "The state store is unreachable.")
    return error_response(404, "SESSION_NOT_LIVE", "No live interview has this id.")


def _ending(session_id: str, replica_id: str) -> Response:
    body = {"session_id": session_id, "replica_id": replica_id, "status": "ending"}
    return JSONResponse(body, status_code=202)


async def drain(request: Request, operator: str) -> Response:
    return await _set_draining(request, operator, True)


async def undrain(request: Request, operator: str) -> Response:
    return await _set_draining(request, operator, False)


async def _set_draining(request: Request, operator: str, draining: bool) -> Response:
    found = services(request)
    replica = found.replica
    try:
        target = await _target_replica(request, found)
        if target == replica.replica_id:
            replica.set_draining(draining, operator)
            return JSONResponse({"replica_id": target, "draining": draining})
        action = Action.DRAIN if draining else Action.UNDRAIN
        await replica.command(target, Command(action, operator))
    except BadRequest as exc:
        return error_response(exc.status, exc.code, exc.message)
    except StateStoreUnavailable as exc:
        return error_response(exc.http_status, exc.code, "The state store is unreachable.")
    return JSONResponse({"replica_id": target, "draining": draining}, status_code=202)


async def _target_replica(request: Request, found: Services) -> str:
    """The ``replica_id`` of an optional JSON body; this replica by default."""
    this = found.replica.replica_id
    if not await request.body():
        return this
    target = (await json_object(request)).get("replica_id", this)
    if not isinstance(target, str):
        raise BadRequest("INVALID_REPLICA", "replica_id must be a string.")
    if target != this:
        known = {s.replica_id for s in await found.replica.state.directory.replicas()}
        if target not in known:
            raise BadRequest("REPLICA_UNKNOWN", "No live replica has this id.", 404)
    return target


async def metrics(request: Request, operator: str) -> Response:
    """Prometheus' text format, for a scraper holding an operator key as its Bearer token."""
    found = services(request)
    replica = found.replica
    try:
        clients = await replica.state.slots.clients()
    except StateStoreUnavailable:
        clients = []
    backlog = await found.outbox.backlog()
    found.metrics.update(
        replica.live_clients(),
        clients,
        backlog,
        replica.draining,
        found.loop_lag,
        await probes.dependencies(request),
    )
    return Response(found.metrics.render(), media_type=CONTENT_TYPE)
