"""The WebSocket transport: 20 ms PCM16 frames both ways, events as JSON text.

Protocol (docs/candidate-protocol.md): the page opens
``/api/v1/candidate/ws``, sends ``{"type": "hello", "ticket": ...}`` first,
then receives ``waiting`` events until a live slot is free, then ``live``.
From then on it sends binary 960-byte frames (24 kHz mono PCM16) and
``{"type": "end"}`` to finish; it receives binary interviewer frames, paced
in real time, and the candidate events of DESIGN.md as text.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import time
from collections import deque

from starlette.websockets import WebSocket, WebSocketDisconnect

from audio.frames import FRAME_BYTES
from gateway.candidate.admission import Refusal, check_ticket, join
from gateway.http import origin_allowed
from gateway.interviewer import Outcome
from gateway.s2s.controlplane import Verification
from gateway.services import Services, services
from gateway.session.events import CandidateEvent, Error, encode
from gateway.session.live import LiveSession

log = logging.getLogger("zenhire.websocket")

HELLO_TIMEOUT_SEC = 10.0
MAX_TEXT_CHARS = 4096
# Interviewer audio waiting to be written to a slow socket: beyond this the
# oldest frames are dropped (a stalled client must not hold the clock back).
OUTGOING_AUDIO_MAX_FRAMES = 50
OUTGOING_EVENTS_MAX = 500
# Candidate frames: 50 per second, with a burst allowance for frames a
# network stall delivers at once. Beyond it frames are dropped; a sender
# that keeps flooding is disconnected.
FRAME_RATE_PER_SEC = 55.0
FRAME_BURST = 100
FLOOD_DROP_LIMIT = 250


class CloseCode(enum.IntEnum):
    NORMAL = 1000
    UNSUPPORTED = 1003
    POLICY = 1008
    TOO_BIG = 1009
    INTERNAL = 1011
    TRY_AGAIN_LATER = 1013
    BAD_HELLO = 4400
    TICKET_INVALID = 4401
    FORBIDDEN = 4403
    HELLO_TIMEOUT = 4408
    SESSION_CLOSED = 4409


REFUSAL_CLOSE_CODES = {
    "TICKET_INVALID": CloseCode.TICKET_INVALID,
    "SESSION_UNKNOWN": CloseCode.TICKET_INVALID,
    "SESSION_FINISHED": CloseCode.SESSION_CLOSED,
    "CONSENT_REQUIRED": CloseCode.FORBIDDEN,
    "GATEWAY_DRAINING": CloseCode.TRY_AGAIN_LATER,
}
BAD_HELLO_MESSAGE = "The first message must be a hello."


class _Disconnected(Exception):
    pass


class _Refused(Exception):
    def __init__(self, code: CloseCode, error: str, message: str) -> None:
        super().__init__(message)
        self.code, self.error, self.message = code, error, message


class WebSocketTransport:
    kind = "websocket"

    def __init__(self) -> None:
        self._audio: deque[bytes] = deque(maxlen=OUTGOING_AUDIO_MAX_FRAMES)
        self._events: deque[str] = deque()
        self._ready = asyncio.Event()
        self._closing: tuple[int, str] | None = None

    def offer_audio(self, frame: bytes) -> None:
        self._audio.append(frame)
        self._ready.set()

    def offer_event(self, event: CandidateEvent) -> None:
        if len(self._events) >= OUTGOING_EVENTS_MAX:
            self.close(CloseCode.POLICY, "client too slow to receive events")
            return
        self._events.append(encode(event))
        self._ready.set()

    def close(self, code: int, reason: str) -> None:
        if self._closing is None:
            self._closing = (code, reason)
            self._ready.set()

    async def pump(self, websocket: WebSocket) -> None:
        """Write queued events and audio until a close is requested."""
        try:
            while True:
                await self._ready.wait()
                self._ready.clear()
                while self._events:
                    await websocket.send_text(self._events.popleft())
                while self._audio:
                    await websocket.send_bytes(self._audio.popleft())
                if self._closing is not None:
                    code, reason = self._closing
                    await websocket.close(code, reason)
                    return
        except (WebSocketDisconnect, RuntimeError, OSError):
            # The peer went away mid-write; the reader reports the disconnect.
            raise _Disconnected from None


class _FrameBudget:
    """A token bucket over candidate frames."""

    def __init__(self) -> None:
        self._tokens = float(FRAME_BURST)
        self._stamp = time.monotonic()
        self.dropped = 0

    def allow(self) -> bool:
        now = time.monotonic()
        self._tokens = min(FRAME_BURST, self._tokens + (now - self._stamp) * FRAME_RATE_PER_SEC)
        self._stamp = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        self.dropped += 1
        return False


async def candidate_socket(websocket: WebSocket) -> None:
    found = services(websocket)
    origin = websocket.headers.get("origin")
    if not origin_allowed(origin, found.settings.allowed_origins):
        log.warning("websocket refused: origin not allowed", extra={"origin": origin})
        await websocket.close(CloseCode.FORBIDDEN)
        return
    await websocket.accept()
    transport = WebSocketTransport()
    try:
        verification = await _hello(websocket, found)
    except _Refused as refused:
        await websocket.send_text(encode(Error(refused.error, refused.message)))
        await websocket.close(refused.code, refused.error)
        return
    except WebSocketDisconnect:
        return
    holder: list[LiveSession] = []
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(transport.pump(websocket))
            group.create_task(_read(websocket, transport, holder))
            group.create_task(_admit(found, verification, transport, holder))
    except* (_Disconnected, WebSocketDisconnect):
        pass
    except* Exception:
        log.exception("websocket connection failed", extra={"session_id": verification.session_id})
    finally:
        if holder:
            holder[0].detach(transport)
        else:
            await found.registry.slots.leave_queue(verification.client_id, verification.session_id)


async def _hello(websocket: WebSocket, found: Services) -> Verification:
    try:
        async with asyncio.timeout(HELLO_TIMEOUT_SEC):
            message = await websocket.receive_text()
    except TimeoutError:
        raise _Refused(CloseCode.HELLO_TIMEOUT, "HELLO_TIMEOUT", "No hello received.") from None
    except (KeyError, RuntimeError):
        raise _Refused(CloseCode.BAD_HELLO, "BAD_MESSAGE", BAD_HELLO_MESSAGE) from None
    try:
        hello = json.loads(message) if len(message) <= MAX_TEXT_CHARS else None
    except json.JSONDecodeError:
        hello = None
    if not isinstance(hello, dict) or hello.get("type") != "hello":
        raise _Refused(CloseCode.BAD_HELLO, "BAD_MESSAGE", BAD_HELLO_MESSAGE)
    try:
        return check_ticket(found, hello.get("ticket"))
    except Refusal as refusal:
        raise _Refused(REFUSAL_CLOSE_CODES[refusal.code], refusal.code, refusal.message) from None


async def _admit(
    found: Services,
    verification: Verification,
    transport: WebSocketTransport,
    holder: list[LiveSession],
) -> None:
    try:
        holder.append(await join(found, verification, transport))
    except Refusal as refusal:
        transport.offer_event(Error(refusal.code, refusal.message))
        transport.close(REFUSAL_CLOSE_CODES[refusal.code], refusal.code)


async def _read(
    websocket: WebSocket, transport: WebSocketTransport, holder: list[LiveSession]
) -> None:
    budget = _FrameBudget()
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise _Disconnected
        data = message.get("bytes")
        if data is not None:
            if len(data) > FRAME_BYTES:
                transport.close(CloseCode.TOO_BIG, "audio frame too large")
                continue
            if not holder:
                continue
            if len(data) != FRAME_BYTES:
                transport.offer_event(
                    Error("FRAME_INVALID", "Audio frames must be 20 ms of PCM16.")
                )
                continue
            if budget.allow():
                holder[0].receive_audio(data)
            elif budget.dropped > FLOOD_DROP_LIMIT:
                transport.close(CloseCode.POLICY, "audio frame rate too high")
            continue
        _control(message.get("text") or "", transport, holder)


def _control(text: str, transport: WebSocketTransport, holder: list[LiveSession]) -> None:
    if len(text) > MAX_TEXT_CHARS:
        transport.close(CloseCode.TOO_BIG, "message too large")
        return
    try:
        message = json.loads(text)
    except json.JSONDecodeError:
        message = None
    kind = message.get("type") if isinstance(message, dict) else None
    if kind == "end" and holder:
        holder[0].end(Outcome("completed", message="The candidate ended the interview."))
    elif kind not in ("ping", "end"):
        transport.offer_event(Error("BAD_MESSAGE", "Unknown message."))
