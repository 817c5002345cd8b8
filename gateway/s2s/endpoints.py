"""S2S artifact endpoints: the control plane fetches and erases recordings and transcripts.

``GET /s2s/v1/sessions/{session_id}/recording`` (audio/wav, byte ranges),
``.../transcript`` (application/json) and ``DELETE .../artifacts`` (a
deletion receipt; ``404`` when nothing is held, ``409 SESSION_LIVE`` while
the interview still runs here), signed as in docs/s2s.md.
"""

from __future__ import annotations

import logging
import re

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from gateway.errors import ArtifactNotFound
from gateway.http import error_response
from gateway.s2s.artifacts import recording_key, transcript_key
from gateway.services import services
from zenhire.signing import SignatureError, target_of
from zenhire.timestamps import now_iso

log = logging.getLogger("zenhire.s2s")

RANGE = re.compile(r"bytes=(\d*)-(\d*)")
SESSION_ID = re.compile(r"[A-Za-z0-9-]{1,64}")


def routes() -> list[BaseRoute]:
    return [
        Route("/s2s/v1/sessions/{session_id}/recording", recording),
        Route("/s2s/v1/sessions/{session_id}/transcript", transcript),
        Route("/s2s/v1/sessions/{session_id}/artifacts", erase, methods=["DELETE"]),
    ]


async def erase(request: Request) -> Response:
    """Delete every artifact held for the session; the receipt lists what was deleted."""
    found = services(request)
    try:
        target = target_of(request.scope["raw_path"], request.scope["query_string"])
        found.signer.verify(request.headers, "DELETE", target, b"", nonces=found.nonces)
    except SignatureError:
        return error_response(401, "S2S_UNAUTHORIZED", "Missing or invalid S2S signature.")
    session_id = request.path_params["session_id"]
    if not SESSION_ID.fullmatch(session_id):
        return error_response(404, "ARTIFACT_NOT_FOUND", "No such artifact.")
    if found.registry.live(session_id) is not None:
        return error_response(
            409, "SESSION_LIVE", "The interview is still running; erase it once it has ended."
        )
    erased = await found.registry.erase(session_id)
    if not erased:
        return error_response(404, "ARTIFACT_NOT_FOUND", "No artifacts are held for this session.")
    log.info("artifacts erased", extra={"session_id": session_id, "items": len(erased)})
    return JSONResponse(
        {
            "session_id": session_id,
            "deleted": [
                {"artifact": item.artifact, "key": item.key, "store": item.store} for item in erased
            ],
            "deleted_at": now_iso(),
        }
    )


async def recording(request: Request) -> Response:
    return await _artifact(request, recording_key, "audio/wav")


async def transcript(request: Request) -> Response:
    return await _artifact(request, transcript_key, "application/json")


async def _artifact(request: Request, key_of: object, media_type: str) -> Response:
    found = services(request)
    try:
        target = target_of(request.scope["raw_path"], request.scope["query_string"])
        found.signer.verify(request.headers, "GET", target, b"", nonces=found.nonces)
    except SignatureError:
        return error_response(401, "S2S_UNAUTHORIZED", "Missing or invalid S2S signature.")
    session_id = request.path_params["session_id"]
    if not SESSION_ID.fullmatch(session_id):
        return error_response(404, "ARTIFACT_NOT_FOUND", "No such artifact.")
    assert callable(key_of)
    key: str = key_of(session_id)
    try:
        size = await found.artifacts.size(key)
    except ArtifactNotFound:
        return error_response(404, "ARTIFACT_NOT_FOUND", "No such artifact.")
    start, end, status = 0, size - 1, 200
    requested = request.headers.get("range")
    if requested:
        bounds = _range(requested, size)
        if bounds is None:
            return Response(status_code=416, headers={"Content-Range": f"bytes */{size}"})
        start, end = bounds
        status = 206
    headers = {"Accept-Ranges": "bytes", "Content-Length": str(end - start + 1)}
    if status == 206:
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return StreamingResponse(
        found.artifacts.read(key, start, end),
        status_code=status,
        headers=headers,
        media_type=media_type,
    )


def _range(header: str, size: int) -> tuple[int, int] | None:
    """The inclusive byte bounds of a single ``bytes=`` range, or None if unsatisfiable."""
    match = RANGE.fullmatch(header.strip())
    if match is None or size == 0:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:
        suffix = int(last)
        return (max(0, size - suffix), size - 1) if suffix else None
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    return (start, end) if start <= end else None
