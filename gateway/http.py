"""JSON bodies and errors at the gateway's HTTP edge."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

MAX_JSON_BODY_BYTES = 8 * 1024


class BadRequest(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def error_response(
    status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> JSONResponse:
    now = datetime.now(UTC)
    timestamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    body = {
        "error": {
            "code": code,
            "message": message,
            "timestamp": timestamp,
            "details": details or {},
        }
    }
    return JSONResponse(body, status_code=status)


async def json_object(request: Request, max_bytes: int = MAX_JSON_BODY_BYTES) -> dict[str, Any]:
    """The request's JSON object body; raise `BadRequest` for anything else."""
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > max_bytes:
            raise BadRequest("BODY_TOO_LARGE", "The request body is too large.", 413)
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadRequest("INVALID_JSON", "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise BadRequest("INVALID_JSON", "The request body must be a JSON object.")
    return body


def origin_allowed(origin: str | None, allowed: tuple[str, ...]) -> bool:
    """Browsers always send ``Origin``; a request without one is no browser's."""
    return origin is None or origin.rstrip("/") in allowed
