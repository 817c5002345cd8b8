"""Results: a session's recording and transcript, proxied from the gateway.

``GET /sessions/{id}/recording|transcript`` fetch the artifact server-to-server
from ``{gateway_s2s_url}/s2s/v1/sessions/{id}/recording|transcript`` (signed
per docs/s2s.md) and stream it straight through, so the integrator never sees
a storage URL. The caller's ``Range`` header goes to the gateway and the
gateway's ``200``/``206``/``416`` comes back with its range headers, so an
``<audio>`` element can seek. The recording's clip parameters
(`controlplane.clips`) are validated here and forwarded, signed with the
path. The transcript is read whole (up to `MAX_TRANSCRIPT_BYTES`) and each
of its ``responses[]`` gains its ``audio_path``.

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
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from controlplane.access import authenticate, owned_session
from controlplane.clips import clip_query, with_audio_paths
from controlplane.errors import (
    ArtifactDeleted,
    ArtifactNotFound,
    ArtifactNotReady,
    BadRange,
    GatewayUnavailable,
)
from controlplane.records import Session
from controlplane.resources import Resources, resources_of
from zenhire import ranges
from zenhire.signing import signed_path

ARTIFACTS_PATH = "/s2s/v1/sessions/{session_id}/{artifact}"
# Statuses of the gateway that are the integrator's answer, passed through as is.
PASSED_STATUSES = frozenset({200, 206, 416})
PASSED_RESPONSE_HEADERS = ("Content-Type", "Content-Length", "Content-Range", "Accept-Ranges")
# A transcript is text of one interview (well under 1 MiB for two hours); more
# than this is a misbehaving upstream, not a document to hold in memory.
MAX_TRANSCRIPT_BYTES = 8 * 1024 * 1024


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
    resources, session = _owned(request)
    query = clip_query(request.query_params)
    range_header = _checked_range(request.headers.get("Range"))
    _check_ready(session, Artifact.RECORDING)
    upstream = await _upstream(resources, session.id, Artifact.RECORDING, range_header, query)
    return UpstreamResponse(upstream)


def _checked_range(header: str | None) -> str | None:
    """The caller's Range header, once it is one well-formed byte range (else ``400``).

    Only the gateway knows the size, so it alone answers ``416``; a malformed
    header never leaves this service.
    """
    if not header:
        return None
    try:
        ranges.parse(header)
    except ranges.BadRange as exc:
        raise BadRange(str(exc)) from exc
    return header.strip()


async def transcript(request: Request) -> Response:
    resources, session = _owned(request)
    _check_ready(session, Artifact.TRANSCRIPT)
    upstream = await _upstream(resources, session.id, Artifact.TRANSCRIPT, None, "")
    try:
        document = bytearray()
        async for chunk in upstream.aiter_bytes():
            document += chunk
            if len(document) > MAX_TRANSCRIPT_BYTES:
                raise GatewayUnavailable(
                    "The interview service sent an oversized transcript.",
                    {"limit": MAX_TRANSCRIPT_BYTES},
                )
    except httpx.HTTPError as exc:
        raise GatewayUnavailable("The interview service failed mid-answer; retry shortly.") from exc
    finally:
        await upstream.aclose()
    recording_path = request.url_for("recording", session_id=session.id).path
    return Response(
        with_audio_paths(bytes(document), recording_path), media_type=JSONResponse.media_type
    )


def _owned(request: Request) -> tuple[Resources, Session]:
    resources = resources_of(request)
    client = authenticate(request, resources.store)
    return resources, owned_session(resources.store, client, request.path_params["session_id"])


def _check_ready(session: Session, artifact: Artifact) -> None:
    """Raise unless the session's ``artifact`` can be read now."""
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


async def _upstream(
    resources: Resources,
    session_id: str,
    artifact: Artifact,
    range_header: str | None,
    query: str,
) -> httpx.Response:
    """The gateway's open answer, if it is the integrator's; else the error to raise."""
    upstream = await _fetch(resources, session_id, artifact, range_header, query)
    if upstream.status_code in PASSED_STATUSES:
        return upstream
    await upstream.aclose()
    if upstream.status_code == 404:
        raise ArtifactNotFound(f"The interview service has no {artifact} for this session.")
    raise GatewayUnavailable(
        "The interview service is temporarily unavailable; retry shortly.",
        {"upstream_status": upstream.status_code},
    )


async def _fetch(
    resources: Resources,
    session_id: str,
    artifact: Artifact,
    range_header: str | None,
    query: str,
) -> httpx.Response:
    """Open a signed, streamed GET of one artifact on the gateway."""
    path = ARTIFACTS_PATH.format(session_id=session_id, artifact=artifact.value)
    url = httpx.URL(resources.settings.gateway_s2s_url + signed_path(path, query))
    signature = resources.signer.headers("GET", url.raw_path.decode(), b"")
    # identity: no transfer compression, so Content-Length matches the raw bytes.
    headers = {"Accept-Encoding": "identity", **signature}
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
