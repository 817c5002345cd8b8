"""The control plane's exceptions, one hierarchy, and the error envelope.

    ControlPlaneError
    ├── ConfigError              a setting is missing or invalid (start-up)
    ├── StoreError               the SQLite database failed
    ├── DestinationRefused       a webhook URL is malformed or points at a private address
    └── ApiError                 an HTTP outcome, rendered as the error envelope
        ├── InvalidJson          400 INVALID_JSON
        ├── ValidationFailed     400 VALIDATION_ERROR
        ├── BadRequest           400 BAD_REQUEST         (S2S bodies)
        ├── BadRange             400 BAD_RANGE           (not one byte range)
        ├── Unauthorized         401 UNAUTHORIZED
        ├── S2SUnauthorized      401 S2S_UNAUTHORIZED
        ├── InsufficientCredits  402 INSUFFICIENT_CREDITS
        ├── MissingPermission    403 MISSING_PERMISSION
        ├── Forbidden            403 FORBIDDEN           (another client's resource)
        ├── NotFound             404 NOT_FOUND
        ├── SessionNotFound      404 SESSION_NOT_FOUND   (S2S events)
        ├── TokenInvalid         404 TOKEN_INVALID
        ├── ArtifactNotFound     404 ARTIFACT_NOT_FOUND
        ├── ArtifactNotReady     409 ARTIFACT_NOT_READY
        ├── InvalidTransition    409 INVALID_TRANSITION
        ├── TokenExpired         410 TOKEN_EXPIRED
        ├── ArtifactDeleted      410 ARTIFACT_DELETED    (erased on request or by retention)
        ├── PayloadTooLarge      413 PAYLOAD_TOO_LARGE
        └── GatewayUnavailable   502 GATEWAY_UNAVAILABLE

Before any endpoint, `zenhire.bodies.BoundedBodies` answers a malformed
``Content-Length`` with ``400 BAD_REQUEST``, a body that does not arrive in
time with ``408 BODY_TIMEOUT`` and one past the bound with ``413
PAYLOAD_TOO_LARGE``.

Every error response, including Starlette's own 404/405 and unexpected
500s, has the body ``{"error": {"code", "message", "timestamp", "details"}}``.
Foreign errors (sqlite3, httpx, pydantic) are translated once, at the seam that
meets them, with ``raise ... from exc``.
"""

from __future__ import annotations

import http
from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from controlplane.clock import format_timestamp, utc_now

INTERNAL_ERROR = "INTERNAL_ERROR"


class ControlPlaneError(Exception):
    """Base of every error the control plane raises on purpose."""


class ConfigError(ControlPlaneError):
    """A setting is missing or invalid; the message names its key."""


class StoreError(ControlPlaneError):
    """The SQLite database could not be opened or queried."""


class DestinationRefused(ControlPlaneError):
    """A webhook URL may not receive deliveries; the message says why."""


class ApiError(ControlPlaneError):
    """An outcome of an HTTP request; subclasses fix the status and code."""

    status_code = 500
    code = INTERNAL_ERROR

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidJson(ApiError):
    status_code, code = 400, "INVALID_JSON"


class ValidationFailed(ApiError):
    status_code, code = 400, "VALIDATION_ERROR"


class BadRequest(ApiError):
    status_code, code = 400, "BAD_REQUEST"


class Unauthorized(ApiError):
    status_code, code = 401, "UNAUTHORIZED"


class S2SUnauthorized(ApiError):
    status_code, code = 401, "S2S_UNAUTHORIZED"


class InsufficientCredits(ApiError):
    status_code, code = 402, "INSUFFICIENT_CREDITS"


class MissingPermission(ApiError):
    status_code, code = 403, "MISSING_PERMISSION"


class Forbidden(ApiError):
    status_code, code = 403, "FORBIDDEN"


class NotFound(ApiError):
    status_code, code = 404, "NOT_FOUND"


class SessionNotFound(ApiError):
    status_code, code = 404, "SESSION_NOT_FOUND"


class TokenInvalid(ApiError):
    status_code, code = 404, "TOKEN_INVALID"


class ArtifactNotFound(ApiError):
    status_code, code = 404, "ARTIFACT_NOT_FOUND"


class ArtifactNotReady(ApiError):
    status_code, code = 409, "ARTIFACT_NOT_READY"


class InvalidTransition(ApiError):
    status_code, code = 409, "INVALID_TRANSITION"


class TokenExpired(ApiError):
    status_code, code = 410, "TOKEN_EXPIRED"


class ArtifactDeleted(ApiError):
    status_code, code = 410, "ARTIFACT_DELETED"


class PayloadTooLarge(ApiError):
    status_code, code = 413, "PAYLOAD_TOO_LARGE"


class BadRange(ApiError):
    status_code, code = 400, "BAD_RANGE"


class GatewayUnavailable(ApiError):
    status_code, code = 502, "GATEWAY_UNAVAILABLE"


def error_response(
    status_code: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """The error envelope as a response."""
    body = {
        "error": {
            "code": code,
            "message": message,
            "timestamp": format_timestamp(utc_now()),
            "details": details,
        }
    }
    return JSONResponse(body, status_code=status_code, headers=headers)


async def handle_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status_code, exc.code, exc.message, exc.details)


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's routing errors (unknown route 404, 405) in our envelope."""
    assert isinstance(exc, HTTPException)
    status = http.HTTPStatus(exc.status_code)
    code = status.name
    return error_response(exc.status_code, code, status.phrase, headers=exc.headers)


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    """Answer an unexpected error with 500 in the envelope.

    Starlette's ServerErrorMiddleware re-raises after sending this response,
    so the server logs the traceback once.
    """
    return error_response(500, INTERNAL_ERROR, "Internal error.")
