"""The gateway's HTTP edge, shared by every place that serves HTTP.

JSON object bodies (`json_object`; their bounds, `BODY_LIMITS`, are enforced
before they are read by `zenhire.bodies.BoundedBodies`), the error envelope
of the seeds (`error_response`), the browser-origin check, and security
headers on every response (`SecurityHeaders`): a strict
Content-Security-Policy (no third-party assets, no inline script), no
referrer, no sniffing, no framing.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zenhire.bodies import BodyLimits
from zenhire.timestamps import now_iso

MAX_JSON_BODY_BYTES = 8 * 1024


def body_limits(timeout_sec: float, by_path: dict[str, int]) -> BodyLimits:
    """Every body `MAX_JSON_BODY_BYTES` at most, except the paths of ``by_path``."""
    return BodyLimits(MAX_JSON_BODY_BYTES, timeout_sec, by_path, too_large_code="BODY_TOO_LARGE")


class BadRequest(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def error_response(
    status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> JSONResponse:
    timestamp = now_iso()
    body = {
        "error": {
            "code": code,
            "message": message,
            "timestamp": timestamp,
            "details": details or {},
        }
    }
    return JSONResponse(body, status_code=status)


async def json_object(request: Request) -> dict[str, Any]:
    """The request's JSON object body; raise `BadRequest` for anything else.

    Its size was bounded before it arrived here (`body_limits`)."""
    raw = await request.body()
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise BadRequest("INVALID_JSON", "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise BadRequest("INVALID_JSON", "The request body must be a JSON object.")
    return body


def origin_allowed(origin: str | None, allowed: tuple[str, ...]) -> bool:
    """Browsers always send ``Origin``; a request without one is no browser's."""
    return origin is None or origin.rstrip("/") in allowed


CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
HSTS = "max-age=31536000; includeSubDomains"
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "microphone=(self), camera=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class SecurityHeaders:
    """`HEADERS` on every HTTP response; HSTS too where candidates arrive over https
    (``https_only``: the public URL is https, or the request came over https)."""

    def __init__(self, app: ASGIApp, https_only: bool = False) -> None:
        self.app = app
        self.https_only = https_only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
                if self.https_only or scope.get("scheme") == "https":
                    headers.setdefault("Strict-Transport-Security", HSTS)
            await send(message)

        await self.app(scope, receive, send_with_headers)
