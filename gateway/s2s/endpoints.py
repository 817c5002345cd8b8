"""S2S artifact endpoints: the control plane fetches and erases recordings and transcripts.

``GET /s2s/v1/sessions/{session_id}/recording`` (audio/wav, byte ranges),
``.../transcript`` (application/json) and ``DELETE .../artifacts`` (a
deletion receipt; ``404`` when nothing is held, ``409 SESSION_LIVE`` while
the interview still runs here), signed as in docs/s2s.md (the signature
covers the query).

The recording takes three optional query parameters that make it a clip of
its own (`audio.clip`): ``from_ms`` and ``to_ms`` (whole milliseconds on the
recording's timeline, ``to_ms`` exclusive, each defaulting to the recording's
edge) and ``channels`` (``both``, the default, or ``candidate``: the left
channel alone). Bounds past the end are clipped; a malformed value or
``to_ms < from_ms`` is ``400 BAD_REQUEST``. Byte ranges apply to the clip.

``Range`` is one byte range (`zenhire.ranges`): ``206``; past the end,
``416 RANGE_NOT_SATISFIABLE``; anything else, ``400 BAD_RANGE`` before the
artifact is read.
Artifacts stream from the store (a local directory or S3, one ranged read
per request); a store that cannot be reached is ``503
ARTIFACT_STORE_UNAVAILABLE`` (the control plane retries an erasure, and
answers a fetch ``502``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from audio.clip import Clip
from audio.wav import HEADER_BYTES, WavFormatError
from gateway.errors import ArtifactNotFound, ArtifactStoreUnavailable
from gateway.http import error_response
from gateway.s2s.artifacts import ArtifactStore, recording_key, transcript_key
from gateway.services import Services, services
from zenhire.ranges import BadRange, ByteRange, Unsatisfiable, parse
from zenhire.signing import SignatureError, target_of
from zenhire.timestamps import now_iso

log = logging.getLogger("zenhire.s2s")

SESSION_ID = re.compile(r"[A-Za-z0-9-]{1,64}")
# Up to 9 digits: about 11 days, far past any interview's budget.
MILLISECONDS = re.compile(r"\d{1,9}")
CHANNELS = {"both": None, "candidate": (0,)}
CLIP_PARAMETERS = ("from_ms", "to_ms", "channels")
WAV = "audio/wav"


class BadClip(ValueError):
    """The clip's query parameters are malformed; the message says which."""

    code = "BAD_REQUEST"


def routes() -> list[BaseRoute]:
    return [
        Route("/s2s/v1/sessions/{session_id}/recording", recording),
        Route("/s2s/v1/sessions/{session_id}/transcript", transcript),
        Route("/s2s/v1/sessions/{session_id}/artifacts", erase, methods=["DELETE"]),
    ]


def _refused(request: Request, found: Services) -> Response | None:
    """The answer to a request that is not a signed, fresh S2S request for a valid id."""
    try:
        target = target_of(request.scope["raw_path"], request.scope["query_string"])
        found.signer.verify(request.headers, request.method, target, b"", nonces=found.nonces)
    except SignatureError:
        return error_response(401, "S2S_UNAUTHORIZED", "Missing or invalid S2S signature.")
    if not SESSION_ID.fullmatch(request.path_params["session_id"]):
        return error_response(404, "ARTIFACT_NOT_FOUND", "No such artifact.")
    return None


async def erase(request: Request) -> Response:
    """Delete every artifact held for the session; the receipt lists what was deleted."""
    found = services(request)
    refused = _refused(request, found)
    if refused is not None:
        return refused
    session_id = request.path_params["session_id"]
    if found.registry.live(session_id) is not None:
        return error_response(
            409, "SESSION_LIVE", "The interview is still running; erase it once it has ended."
        )
    try:
        erased = await found.registry.erase(session_id)
    except ArtifactStoreUnavailable:
        log.exception("the artifact store failed", extra={"session_id": session_id})
        return _store_unavailable()
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
    return await _artifact(request, recording_key, WAV)


async def transcript(request: Request) -> Response:
    return await _artifact(request, transcript_key, "application/json")


async def _artifact(request: Request, key_of: Callable[[str], str], media_type: str) -> Response:
    found = services(request)
    refused = _refused(request, found)
    if refused is not None:
        return refused
    session_id = request.path_params["session_id"]
    key = key_of(session_id)
    try:
        # Before the artifact is touched: a malformed Range costs no read.
        wanted = _range_of(request)
        size = await found.artifacts.size(key)
        if media_type == WAV and any(name in request.query_params for name in CLIP_PARAMETERS):
            return await _clip(request, found.artifacts, key, size, wanted)
    except ArtifactNotFound:
        return error_response(404, "ARTIFACT_NOT_FOUND", "No such artifact.")
    except ArtifactStoreUnavailable:
        log.exception("the artifact store failed", extra={"session_id": session_id})
        return _store_unavailable()
    except (BadClip, BadRange) as exc:
        return error_response(400, exc.code, str(exc))
    try:
        start, end, status = _bounds(wanted, size)
    except Unsatisfiable:
        return _unsatisfiable(size)
    return StreamingResponse(
        found.artifacts.read(key, start, end),
        status_code=status,
        headers=_range_headers(start, end, size, status),
        media_type=media_type,
    )


async def _clip(
    request: Request, artifacts: ArtifactStore, key: str, size: int, wanted: ByteRange | None
) -> Response:
    from_ms, to_ms, keep = _clip_query(request)
    head = b"".join([chunk async for chunk in artifacts.read(key, 0, HEADER_BYTES - 1)])
    try:
        clip = Clip.plan(head, size, from_ms, to_ms, keep)
    except WavFormatError:
        raise  # our own recording is unreadable: an internal error, not the caller's
    except ValueError as exc:
        raise BadClip(str(exc)) from exc
    try:
        start, end, status = _bounds(wanted, clip.size)
    except Unsatisfiable:
        return _unsatisfiable(clip.size)
    return StreamingResponse(
        _clip_bytes(artifacts, key, clip, start, end),
        status_code=status,
        headers=_range_headers(start, end, clip.size, status),
        media_type=WAV,
    )


def _clip_query(request: Request) -> tuple[int, int | None, tuple[int, ...] | None]:
    query = request.query_params
    bounds: list[int | None] = []
    for name in ("from_ms", "to_ms"):
        raw = query.get(name)
        if raw is not None and not MILLISECONDS.fullmatch(raw):
            raise BadClip(f"{name} must be a whole number of milliseconds (at most 9 digits).")
        bounds.append(None if raw is None else int(raw))
    channels = query.get("channels", "both")
    if channels not in CHANNELS:
        raise BadClip("channels must be one of " + ", ".join(CHANNELS) + ".")
    from_ms, to_ms = bounds[0] or 0, bounds[1]
    if to_ms is not None and to_ms < from_ms:
        raise BadClip("to_ms must not come before from_ms.")
    return from_ms, to_ms, CHANNELS[channels]


async def _clip_bytes(
    artifacts: ArtifactStore, key: str, clip: Clip, start: int, end: int
) -> AsyncIterator[bytes]:
    read = clip.read_plan(start, end)
    if read.header:
        yield read.header
    if read.first > read.last:
        return
    picker = clip.picker(read)
    async for chunk in artifacts.read(key, read.first, read.last):
        picked = picker.feed(chunk)
        if picked:
            yield picked


def _range_of(request: Request) -> ByteRange | None:
    """The request's byte range, None without one; raise `BadRange` for a malformed one."""
    header = request.headers.get("range")
    return parse(header) if header else None


def _bounds(wanted: ByteRange | None, size: int) -> tuple[int, int, int]:
    """``(start, end, status)`` of the answer; raise `Unsatisfiable` past the end."""
    if wanted is None:
        return 0, size - 1, 200
    return (*wanted.bounds(size), 206)


def _store_unavailable() -> Response:
    return error_response(
        503, "ARTIFACT_STORE_UNAVAILABLE", "The artifact store is unavailable; retry later."
    )


def _unsatisfiable(size: int) -> Response:
    refusal = error_response(
        416, "RANGE_NOT_SATISFIABLE", "The range lies past the artifact's end."
    )
    refusal.headers["Content-Range"] = f"bytes */{size}"
    return refusal


def _range_headers(start: int, end: int, size: int, status: int) -> dict[str, str]:
    headers = {"Accept-Ranges": "bytes", "Content-Length": str(end - start + 1)}
    if status == 206:
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return headers
