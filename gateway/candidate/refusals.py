"""Every way the gateway turns a candidate away, named once.

A `Refusal` carries what each edge needs to say it: the ``error`` code and
message the page shows, the HTTP status of the candidate API and of the
WebRTC offer, and the WebSocket close code (which the WebRTC page derives
from the ``error`` event, docs/candidate-protocol.md).

`Refused` is the exception that carries one through the code.
"""

from __future__ import annotations

import enum
from typing import NamedTuple

from starlette.responses import JSONResponse

from gateway.http import error_response
from gateway.transports.transport import CloseCode

EXPIRED = "Your session expired; reload the page."


class _Terms(NamedTuple):
    code: str
    message: str
    http_status: int
    close_code: CloseCode


class Refusal(enum.Enum):
    code: str
    message: str
    http_status: int
    close_code: CloseCode

    TICKET_INVALID = _Terms("TICKET_INVALID", EXPIRED, 401, CloseCode.TICKET_INVALID)
    SESSION_UNKNOWN = _Terms("SESSION_UNKNOWN", EXPIRED, 401, CloseCode.TICKET_INVALID)
    SESSION_FINISHED = _Terms(
        "SESSION_FINISHED", "This interview has already finished.", 409, CloseCode.SESSION_CLOSED
    )
    CONSENT_REQUIRED = _Terms(
        "CONSENT_REQUIRED", "Please accept the consent notice first.", 403, CloseCode.FORBIDDEN
    )
    ORIGIN_NOT_ALLOWED = _Terms(
        "ORIGIN_NOT_ALLOWED", "This page may not start an interview.", 403, CloseCode.FORBIDDEN
    )
    SUPERSEDED = _Terms(
        "SUPERSEDED",
        "The interview continues in another window or tab.",
        409,
        CloseCode.SESSION_CLOSED,
    )
    GATEWAY_DRAINING = _Terms(
        "GATEWAY_DRAINING",
        "This server is not starting new interviews; reconnecting you to another one.",
        503,
        CloseCode.TRY_AGAIN_LATER,
    )
    DISK_LOW = _Terms(
        "GATEWAY_DISK_LOW",
        "This server cannot record another interview; reconnecting you to another one.",
        503,
        CloseCode.TRY_AGAIN_LATER,
    )
    CPU_HIGH = _Terms(
        "GATEWAY_CPU_HIGH",
        "This server is too busy to start another interview; reconnecting you to another one.",
        503,
        CloseCode.TRY_AGAIN_LATER,
    )
    SESSION_MOVED = _Terms(
        "SESSION_MOVED",
        "The interview continues on another server; reconnecting you to it.",
        503,
        CloseCode.TRY_AGAIN_LATER,
    )
    REPLICA_FORBIDDEN = _Terms(
        "REPLICA_FORBIDDEN", "This request is not signed by a replica.", 403, CloseCode.FORBIDDEN
    )
    TOO_MANY_CONNECTIONS = _Terms(
        "TOO_MANY_CONNECTIONS",
        "Close the interview in your other tabs and try again.",
        429,
        CloseCode.TRY_AGAIN_LATER,
    )
    SHUTTING_DOWN = _Terms(
        "SHUTTING_DOWN", "The interview service is restarting.", 503, CloseCode.TRY_AGAIN_LATER
    )
    BAD_HELLO = _Terms(
        "BAD_MESSAGE", "The first message must be a hello.", 400, CloseCode.BAD_HELLO
    )
    HELLO_TIMEOUT = _Terms("HELLO_TIMEOUT", "No hello received.", 408, CloseCode.HELLO_TIMEOUT)
    FRAME_TOO_LARGE = _Terms("FRAME_TOO_LARGE", "audio frame too large", 413, CloseCode.TOO_BIG)
    MESSAGE_TOO_LARGE = _Terms("MESSAGE_TOO_LARGE", "message too large", 413, CloseCode.TOO_BIG)
    AUDIO_FLOOD = _Terms("POLICY", "audio frame rate too high", 429, CloseCode.POLICY)
    MESSAGE_FLOOD = _Terms("POLICY", "control message rate too high", 429, CloseCode.POLICY)
    EVENTS_BACKLOG = _Terms("POLICY", "client too slow to receive events", 429, CloseCode.POLICY)

    def __init__(self, code: str, message: str, http_status: int, close_code: CloseCode) -> None:
        self.code = code
        self.message = message
        self.http_status = http_status
        self.close_code = close_code

    def response(self) -> JSONResponse:
        """The refusal as the candidate API's error envelope."""
        return error_response(self.http_status, self.code, self.message)


class Refused(Exception):
    """A candidate is turned away; `refusal` says how."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal
