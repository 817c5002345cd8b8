"""One WebSocket connection to a Realtime-protocol upstream, and how to (re)open it.

The key travels only in the ``Authorization: Bearer`` header of the
handshake; websockets' own debug logging (which prints handshake headers)
goes through `RedactingLogger`, and logs name the endpoint by scheme, host
and path only. Foreign errors (websockets, OS, timeouts) are translated here:

    GatewayError
    └── UpstreamError            the realtime upstream failed us
        ├── UpstreamLost         could not connect, or the connection broke
        ├── UpstreamFault        connected, but it misbehaved (error event, silence)
        └── UpstreamUnavailable  gone for good: retries exhausted or key refused
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import websockets
from websockets.asyncio.client import ClientConnection

from gateway.errors import GatewayError
from gateway.interviewer.realtime.protocol import ProtocolError, ServerEvent, encode, parse
from gateway.interviewer.realtime.settings import RealtimeSettings
from zenhire.backoff import Backoff

log = logging.getLogger("zenhire.interviewer.realtime")

REDACTED = "[redacted]"
# Audio deltas of a long response can be large; no legitimate event comes near this.
MAX_EVENT_BYTES = 16 * 1024 * 1024
# Events read ahead of the relay: past this the socket stops reading, so TCP
# backpressure reaches the upstream instead of memory growing here.
MAX_QUEUED_EVENTS = 256
CLOSE_TIMEOUT_SEC = 2.0
# Keepalive pings also measure the upstream's round trip for the operator console.
PING_INTERVAL_SEC = 5.0
HTTP_UNAUTHORIZED = 401
HTTP_FORBIDDEN = 403


class UpstreamError(GatewayError):
    code = "UPSTREAM_UNAVAILABLE"
    http_status = 502


class UpstreamLost(UpstreamError):
    pass


class UpstreamFault(UpstreamError):
    pass


class UpstreamUnavailable(UpstreamError):
    pass


class RedactingLogger(logging.LoggerAdapter[logging.Logger]):
    """A logger that replaces ``secret`` in every message before it is emitted."""

    def __init__(self, logger: logging.Logger, secret: str) -> None:
        super().__init__(logger, {})
        self._secret = secret

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if not self.isEnabledFor(level):
            return
        text = str(msg) % args if args else str(msg)
        self.logger.log(level, text.replace(self._secret, REDACTED), **kwargs)


class Upstream:
    """An open connection: send client events, iterate server events."""

    def __init__(self, socket: ClientConnection, secret: str) -> None:
        self._socket = socket
        self._secret = secret

    async def send(self, event: dict[str, Any]) -> None:
        try:
            await self._socket.send(encode(event))
        except websockets.ConnectionClosed as exc:
            raise UpstreamLost(f"the upstream closed the connection ({exc.rcvd})") from exc
        except OSError as exc:
            raise UpstreamLost(f"the upstream connection failed: {exc}") from exc

    async def events(self) -> AsyncIterator[ServerEvent]:
        """Server events until the connection ends, which raises `UpstreamLost`."""
        try:
            async for message in self._socket:
                try:
                    yield parse(message)
                except ProtocolError as exc:
                    raise UpstreamFault(self.redact(str(exc))) from exc
        except websockets.ConnectionClosed as exc:
            raise UpstreamLost(f"the upstream closed the connection ({exc.rcvd})") from exc
        except OSError as exc:
            raise UpstreamLost(f"the upstream connection failed: {exc}") from exc
        raise UpstreamLost("the upstream closed the connection")

    def redact(self, text: str) -> str:
        return text.replace(self._secret, REDACTED)

    @property
    def round_trip_sec(self) -> float | None:
        """The last keepalive ping's round trip, once one has been measured."""
        latency = self._socket.latency
        return latency if latency > 0 else None

    async def close(self) -> None:
        """Close the connection; safe to call more than once."""
        try:
            await self._socket.close()
        except OSError:
            self._socket.transport.abort()


async def open_upstream(settings: RealtimeSettings) -> Upstream:
    """One connection attempt; raise `UpstreamLost` (or `UpstreamUnavailable` if refused)."""
    try:
        socket = await websockets.connect(
            _with_model(settings.url, settings.model),
            additional_headers={"Authorization": f"Bearer {settings.api_key}"},
            open_timeout=settings.connect_timeout_sec,
            close_timeout=CLOSE_TIMEOUT_SEC,
            max_size=MAX_EVENT_BYTES,
            max_queue=MAX_QUEUED_EVENTS,
            compression=None,
            ping_interval=PING_INTERVAL_SEC,
            logger=RedactingLogger(logging.getLogger("websockets.client"), settings.api_key),
        )
    except websockets.InvalidStatus as exc:
        status = exc.response.status_code
        if status in (HTTP_UNAUTHORIZED, HTTP_FORBIDDEN):
            raise UpstreamUnavailable(f"the upstream refused the key (HTTP {status})") from exc
        raise UpstreamLost(f"the upstream refused the connection (HTTP {status})") from exc
    except (websockets.InvalidHandshake, websockets.InvalidURI, OSError, TimeoutError) as exc:
        raise UpstreamLost(f"cannot connect to the upstream: {type(exc).__name__}") from exc
    return Upstream(socket, settings.api_key)


Opener = Callable[[], Awaitable[Upstream]]


async def connect_with_retry(
    open_: Opener, policy: Backoff, context: Mapping[str, object]
) -> Upstream:
    """Open a connection, retrying within ``policy``; raise `UpstreamUnavailable` past it."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    attempt = 0
    while True:
        attempt += 1
        try:
            return await open_()
        except UpstreamUnavailable:
            raise
        except UpstreamLost as exc:
            delay = policy.delay(attempt)
            if policy.gives_up(attempt, loop.time() + delay - started):
                raise UpstreamUnavailable(
                    f"the upstream stayed unreachable after {attempt} attempts"
                ) from exc
            log.warning(
                "realtime upstream connect failed; retrying",
                extra={**context, "attempt": attempt, "error": str(exc), "delay_sec": delay},
            )
            await asyncio.sleep(delay)


def _with_model(url: str, model: str) -> str:
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode({"model": model})) if q)
    return urlunsplit(parts._replace(query=query))
