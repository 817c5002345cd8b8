"""Liveness and readiness probes: ``/healthz`` and ``/readyz``.

``/healthz`` answers while the process serves HTTP. ``/readyz`` says
whether a load balancer should send this replica new candidates, from what
belongs to this replica alone: not while it drains, nor while its local
disk is short (``disk``, ``artifact_store`` for a local store), nor while
its event loop lags (``event_loop``: the recent p99 of `gateway.ops.loop_lag`
above ``ZENHIRE_READY_MAX_LOOP_LAG_MS``), nor while its CPU is past
``ZENHIRE_MAX_CPU_PERCENT`` (``cpu_percent`` is the moving average that
threshold applies to). Shared dependencies (the control plane, the state
store) are left out: when they fail they fail for every replica, and taking
them all out of rotation helps nobody. They are metrics instead
(``zenhire_dependency_up``, `dependencies`).
"""

from __future__ import annotations

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.s2s.artifacts import LocalArtifactStore
from gateway.services import services

DEPENDENCY_PROBE_TIMEOUT_SEC = 2.0


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    found = services(request)
    lag_ms = round(found.loop_lag.recent_p99_sec() * 1000, 1)
    checks = {
        "artifact_store": (
            found.settings.artifacts_dir.is_dir()
            if isinstance(found.artifacts, LocalArtifactStore)
            else True
        ),
        "disk": found.registry.has_room(),
        "event_loop": lag_ms <= found.settings.ready_max_loop_lag_ms,
        "cpu": not found.load.overloaded,
    }
    draining = found.replica.draining
    ready = all(checks.values()) and not draining
    return JSONResponse(
        {
            "ready": ready,
            "draining": draining,
            "checks": checks,
            "event_loop_lag_p99_ms": lag_ms,
            "cpu_percent": round(found.load.percent, 1),
        },
        status_code=200 if ready else 503,
    )


async def dependencies(request: Request) -> dict[str, bool]:
    """Whether each shared dependency answers right now."""
    found = services(request)
    client: httpx.AsyncClient = request.app.state.http
    try:
        probe = await client.get(
            found.settings.controlplane_url + "/healthz", timeout=DEPENDENCY_PROBE_TIMEOUT_SEC
        )
        control_plane = probe.status_code == 200
    except httpx.HTTPError:
        control_plane = False
    return {"control_plane": control_plane, "state_store": await found.replica.state.ping()}
