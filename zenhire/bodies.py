"""Request bodies bounded in size and time before any endpoint reads them.

`BoundedBodies` is the outermost ASGI middleware of both services, the one
place a body's bound is enforced (the endpoints then read what it hands
on). For every HTTP request:

- a ``Content-Length`` that is not a plain number, or a ``Transfer-Encoding``
  beside one, is ``400`` (HTTP/1.1 request smuggling lives there);
- a ``Content-Length`` above the path's bound (`BodyLimits.bound`) is ``413``
  before one byte of the body is read;
- `screen`, when given, may answer before the body is read (the control
  plane's S2S endpoints check the signature headers there);
- a body that arrives (chunked bodies have no length) is counted as it
  comes, ``413`` the moment it passes the bound, and must be complete
  within ``timeout_sec`` of the request's start: a body that trickles in
  is ``408``, so a slow client cannot hold a connection and a task open.

The body is then replayed to the endpoint from memory (every bound is a few
KiB, so holding it is cheaper than streaming it). A refusal carries
``Connection: close``: what is left of the body is never read.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_TIMEOUT_SEC = 10.0
MAX_LENGTH_DIGITS = 12

Refuse = Callable[[int, str, str, dict[str, Any] | None], Response]
Screen = Callable[[Scope], Response | None]


@dataclass(frozen=True)
class BodyLimits:
    """The bound of each path's body (exact paths; `default_bytes` elsewhere) and the deadline."""

    default_bytes: int
    timeout_sec: float = DEFAULT_TIMEOUT_SEC
    by_path: Mapping[str, int] = field(default_factory=dict)
    too_large_code: str = "BODY_TOO_LARGE"

    def bound(self, path: str) -> int:
        return self.by_path.get(path, self.default_bytes)


class BodyRefused(Exception):
    def __init__(self, status: int, code: str, message: str, limit: int | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.limit = status, code, message, limit


HTTP_TOO_LARGE = 413
# Before a 413, this much of the body already on its way is read and dropped, while it
# keeps coming (an attacker's 10 GB is cut off all the same).
DRAIN_MAX_BYTES = 1024 * 1024
DRAIN_IDLE_SEC = 0.2
SLOW_BODY = BodyRefused(
    408, "BODY_TIMEOUT", "The request body did not arrive in time; send it again."
)


class BoundedBodies:
    """See the module docstring. ``refuse`` renders the service's error envelope."""

    def __init__(
        self, app: ASGIApp, limits: BodyLimits, refuse: Refuse, screen: Screen | None = None
    ) -> None:
        self.app = app
        self.limits = limits
        self.refuse = refuse
        self.screen = screen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.bound(scope["path"])
        headers = Headers(scope=scope)
        try:
            carries_body = _declared(headers, limit, self.limits.too_large_code)
        except BodyRefused as refused:
            await self._send_refusal(refused, scope, receive, send)
            return
        screened = self.screen(scope) if self.screen is not None else None
        if screened is not None:
            screened.headers["Connection"] = "close"
            await screened(scope, receive, send)
            return
        if not carries_body:
            await self.app(scope, receive, send)
            return
        try:
            async with asyncio.timeout(self.limits.timeout_sec):
                body = await _read(receive, limit, self.limits.too_large_code)
        except TimeoutError:
            await self._send_refusal(SLOW_BODY, scope, receive, send)
            return
        except BodyRefused as refused:
            await self._send_refusal(refused, scope, receive, send)
            return
        if body is None:
            return  # the client went away mid-body: nobody to answer
        await self.app(scope, _replay(body, receive), send)

    async def _send_refusal(
        self, refused: BodyRefused, scope: Scope, receive: Receive, send: Send
    ) -> None:
        details = None if refused.limit is None else {"limit": refused.limit}
        response = self.refuse(refused.status, refused.code, refused.message, details)
        response.headers["Connection"] = "close"
        if refused.status == HTTP_TOO_LARGE:
            await _drain(receive)
        await response(scope, receive, send)


async def _drain(receive: Receive) -> None:
    """Read (and drop) what of the refused body is already on its way, up to a bound,
    so that closing the connection does not reset it before the client has read its
    413. A client that sends nothing more is answered after `DRAIN_IDLE_SEC`."""
    seen = 0
    with contextlib.suppress(TimeoutError):
        while seen <= DRAIN_MAX_BYTES:
            message = await asyncio.wait_for(receive(), DRAIN_IDLE_SEC)
            if message["type"] == "http.disconnect" or not message.get("more_body"):
                return
            seen += len(message.get("body", b""))


def _declared(headers: Headers, limit: int, too_large_code: str) -> bool:
    """Whether the request says it carries a body; raise `BodyRefused` for a bad framing."""
    length = headers.get("content-length")
    chunked = "transfer-encoding" in headers
    if length is None:
        return chunked
    if chunked or not length.isascii() or not length.isdigit():
        raise BodyRefused(400, "BAD_REQUEST", "The Content-Length header is malformed.")
    if len(length) > MAX_LENGTH_DIGITS or int(length) > limit:
        raise BodyRefused(
            413, too_large_code, f"The request body exceeds {limit} bytes.", limit=limit
        )
    return int(length) > 0


async def _read(receive: Receive, limit: int, too_large_code: str) -> bytes | None:
    """The whole body, or None if the client disconnected first."""
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        body += message.get("body", b"")
        if len(body) > limit:
            raise BodyRefused(
                413, too_large_code, f"The request body exceeds {limit} bytes.", limit=limit
            )
        if not message.get("more_body", False):
            return bytes(body)


def _replay(body: bytes, receive: Receive) -> Callable[[], Awaitable[Message]]:
    """A ``receive`` that hands ``body`` over once, then waits for the disconnect as usual."""
    pending = [body]

    async def replayed() -> Message:
        if pending:
            return {"type": "http.request", "body": pending.pop(), "more_body": False}
        return await receive()

    return replayed
