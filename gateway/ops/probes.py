"""Liveness and readiness probes: ``/healthz`` and ``/readyz``.

``/healthz`` answers while the process serves HTTP. ``/readyz`` says
whether a load balancer should send this replica new candidates: not while
it drains, nor while a dependency it needs to start an interview is down,
its disk is nearly full or its CPU is past ``ZENHIRE_MAX_CPU_PERCENT``
(``cpu_percent`` is the moving average that threshold applies to).
"""

from __future__ import annotations

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.s2s.artifacts import LocalArtifactStore
from gateway.services import services

READY_PROBE_TIMEOUT_SEC = 2.0


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
        found.settings.artifacts_dir.is_dir()
        if isinstance(found.artifacts, LocalArtifactStore)
        else True
    )
    checks["state_store"] = await found.replica.state.ping()
    checks["disk"] = found.registry.has_room()
    checks["cpu"] = not found.load.overloaded
    draining = found.replica.draining
    ready = all(checks.values()) and not draining
    return JSONResponse(
        {
            "ready": ready,
            "draining": draining,
            "checks": checks,
            "cpu_percent": round(found.load.percent, 1),
        },
        status_code=200 if ready else 503,
    )
