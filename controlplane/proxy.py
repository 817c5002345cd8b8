"""Results: a session's recording and transcript, proxied from the gateway.

``GET /sessions/{id}/recording|transcript`` fetch the artifact server-to-server
from ``{gateway_s2s_url}/s2s/v1/sessions/{id}/recording|transcript`` (signed
per docs/s2s.md) and stream it straight through, so the integrator never sees
a storage URL. The caller's ``Range`` header goes to the gateway and the
gateway's ``200``/``206``/``416`` comes back with its range headers, so an
``<audio>`` element can seek.

Before a session has completed with both artifact keys set, both endpoints
answer ``409 ARTIFACT_NOT_READY`` with ``details.status``; once its artifacts
were erased (`controlplane.erasure`), ``410 ARTIFACT_DELETED``. A gateway that
cannot be reached or answers 5xx (or rejects our signature) gives
``502 GATEWAY_UNAVAILABLE``.
"""

from __future__ import annotations

import enum

import httpx
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from controlplane.access import authenticate, owned_session
from controlplane.errors import (
    ArtifactDeleted,
    ArtifactNotFound,
    ArtifactNotReady,
    GatewayUnavailable,
)
from controlplane.resources import Resources, resources_of

ARTIFACTS_PATH = "/s2s/v1/sessions/{session_id}/{artifact}"
# Statuses of the gateway that are the integrator's answer, passed through as is.
PASSED_STATUSES = frozenset({200, 206, 416})
PASSED_RESPONSE_HEADERS = ("Content-Type", "Content-Length", "Content-Range", "Accept-Ranges")


class Artifact(enum.StrEnum):
    RECORDING = "recording"
    TRANSCRIPT = "transcript"


class UpstreamResponse(StreamingResponse):
    """Streams an open httpx response and closes it however the stream ends.

    A ``BackgroundTask`` would not do: Starlette skips it when the client
    disconnects mid-stream or the upstream read fails, which would leak the
    pooled connection to the gateway.
    """

    def __init__(self, upstream: httpx.Response) -> None:
        headers = {
            name: upstream.headers[name]
            for name in PASSED_RESPONSE_HEADERS
            if name in upstream.headers
        }
        # aiter_raw: the bytes exactly as the gateway sent them, so Content-Length holds.
        super().__init__(upstream.aiter_raw(), status_code=upstream.status_code, headers=headers)
        self.upstream = upstream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.upstream.aclose()


async def recording(request: Request) -> Response:
    return await _proxy(request, Artifact.RECORDING)


async def transcript(request: Request) -> Response:
    return await _proxy(request, Artifact.TRANSCRIPT)


async def _proxy(request: Request, artifact: Artifact) -> Response:
    resources = resources_of(request)
    client = authenticate(request, resources.store)
    session = owned_session(resources.store, client, request.path_params["session_id"])
    if session.artifacts_deleted_at is not None:
        raise ArtifactDeleted(
            f"The {artifact} of this session was deleted.",
            {"deleted_at": session.artifacts_deleted_at},
        )
    if not session.artifacts_ready:
        raise ArtifactNotReady(
            f"No {artifact} is available for this session yet.",
            {"status": session.status.value},
        )
    upstream = await _fetch(resources, session.id, artifact, request.headers.get("Range"))
    if upstream.status_code in PASSED_STATUSES:
        return UpstreamResponse(upstream)
    await upstream.aclose()
    if upstream.status_code == 404:
        raise ArtifactNotFound(f"The interview service has no {artifact} for this session.")
    raise GatewayUnavailable(
        "The interview service is temporarily unavailable; retry shortly.",
        {"upstream_status": upstream.status_code},
    )


async def _fetch(
    resources: Resources, session_id: str, artifact: Artifact, range_header: str | None
) -> httpx.Response:
    """Open a signed, streamed GET of one artifact on the gateway."""
    url = httpx.URL(
        resources.settings.gateway_s2s_url
        + ARTIFACTS_PATH.format(session_id=session_id, artifact=artifact.value)
    )
    # identity: no transfer compression, so Content-Length matches the raw bytes.
    signed = resources.signer.headers("GET", url.raw_path.decode(), b"")
    headers = {"Accept-Encoding": "identity", **signed}
    if range_header is not None:
        headers["Range"] = range_header
    try:
        return await resources.http.send(
            resources.http.build_request("GET", url, headers=headers), stream=True
        )
    except httpx.HTTPError as exc:
        raise GatewayUnavailable("The interview service cannot be reached; retry shortly.") from exc


def routes() -> list[BaseRoute]:
    """The results routes, relative to ``/api/v1/interview``."""
    return [
        Route("/sessions/{session_id}/recording", recording, methods=["GET"]),
        Route("/sessions/{session_id}/transcript", transcript, methods=["GET"]),
    ]
