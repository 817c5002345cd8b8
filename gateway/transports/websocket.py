"""The WebSocket transport: 20 ms PCM16 frames both ways, events as JSON text.

Protocol (docs/candidate-protocol.md): the page opens
``/api/v1/candidate/ws``, sends ``{"type": "hello", "ticket": ...}`` first,
then receives ``waiting`` events until a live slot is free, then ``live``.
From then on it sends binary 960-byte frames (24 kHz mono PCM16) and
``{"type": "end"}`` to finish; it receives binary interviewer frames, paced
in real time, and the candidate events of DESIGN.md as text.

The connection's rules live in its `CandidateChannel`; this module only
reads and writes the socket:

    held      an open socket counts against its address and the replica
              (`gateway.limits`): past a cap, an ``error`` and close 1013
    probe     before the hello, up to `PROBES_MAX` ``{"type": "probe", "seq"}`` echoed
              back at once: the readiness check's round trip over this path
    hello     the first message, within `HELLO_TIMEOUT_SEC`, names the ticket
    ├── owned by another replica? piped to it (`gateway.transports.forwarding`)
    ├── admit    channel.admit(): `waiting` events, then `live`
    ├── read     binary → channel.receive_audio, text → channel.receive_text
    └── write    channel events, then queued interviewer audio; then the close
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque

from starlette.websockets import WebSocket, WebSocketDisconnect

from gateway.candidate.admission import check_ticket
from gateway.candidate.refusals import Refusal, Refused
from gateway.http import origin_allowed
from gateway.limits import Limited, client_address
from gateway.s2s.controlplane import Verification
from gateway.services import Services, services
from gateway.session.events import Error, encode
from gateway.transports.channel import MAX_TEXT_CHARS, CandidateChannel
from gateway.transports.forwarding import forwarded, owner_elsewhere, proxy_socket
from gateway.transports.transport import CloseCode
from zenhire.signing import target_of
from zenhire.tasks import first_to_finish, while_running

log = logging.getLogger("zenhire.websocket")

HELLO_TIMEOUT_SEC = 10.0
# The readiness check's round trips on one connection before its hello (or close).
PROBES_MAX = 5
MAX_PROBE_SEQ = 1_000_000
# Interviewer audio waiting to be written to a slow socket: beyond this the
# oldest frames are dropped (a stalled client must not hold the clock back).
OUTGOING_AUDIO_MAX_FRAMES = 50


async def candidate_socket(websocket: WebSocket) -> None:
    found = services(websocket)
    target = target_of(websocket.scope["raw_path"], websocket.scope["query_string"])
    try:
        from_replica = forwarded(found, websocket.headers, "GET", target, b"")
    except Refused as refused:
        await websocket.close(refused.refusal.close_code)
        return
    origin = websocket.headers.get("origin")
    if not from_replica and not origin_allowed(origin, found.settings.allowed_origins):
        log.warning("websocket refused: origin not allowed", extra={"origin": origin})
        await websocket.close(Refusal.ORIGIN_NOT_ALLOWED.close_code)
        return
    if from_replica:
        # Counted where the candidate connected: here every forwarded socket would
        # come from that replica's one address.
        await _connection(websocket, found, from_replica=True)
        return
    try:
        held = found.limits.websockets.hold(client_address(websocket.scope))
    except Limited as limited:
        # Accepted to say why: the page retries a 1013 with backoff. A flood's
        # sockets may be gone already; nothing is owed to them.
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await websocket.accept()
            await websocket.send_text(encode(Error(limited.code, limited.message)))
            await websocket.close(CloseCode.TRY_AGAIN_LATER, limited.code)
        return
    try:
        await _connection(websocket, found, from_replica=False)
    finally:
        held.release()


async def _connection(websocket: WebSocket, found: Services, *, from_replica: bool) -> None:
    await websocket.accept()
    try:
        hello, verification = await _hello(websocket, found)
    except Refused as refused:
        refusal = refused.refusal
        await websocket.send_text(encode(Error(refusal.code, refusal.message)))
        await websocket.close(refusal.close_code, refusal.code)
        return
    except WebSocketDisconnect:
        return
    if not from_replica:
        owner = await owner_elsewhere(found, verification.session_id)
        if owner is not None and await proxy_socket(found, websocket, owner, hello):
            return
    audio: deque[bytes] = deque(maxlen=OUTGOING_AUDIO_MAX_FRAMES)
    channel = CandidateChannel("websocket", found, verification, audio.append, wake_on_audio=True)
    try:
        await while_running(
            first_to_finish(_write(websocket, channel, audio), _read(websocket, channel)),
            channel.admit(),
        )
    except* WebSocketDisconnect:
        pass
    except* Exception:
        log.exception("websocket connection failed", extra={"session_id": verification.session_id})
    finally:
        await channel.release()


async def _hello(websocket: WebSocket, found: Services) -> tuple[str, Verification]:
    """The hello's text and the verification of its ticket."""
    try:
        async with asyncio.timeout(HELLO_TIMEOUT_SEC):
            for _ in range(PROBES_MAX + 1):
                message = await websocket.receive_text()
                hello = _message(message)
                if _probe_seq(hello) is None:
                    break
                await websocket.send_text(json.dumps({"type": "probe", "seq": _probe_seq(hello)}))
    except TimeoutError:
        raise Refused(Refusal.HELLO_TIMEOUT) from None
    except (KeyError, RuntimeError):
        raise Refused(Refusal.BAD_HELLO) from None
    if not isinstance(hello, dict) or hello.get("type") != "hello":
        raise Refused(Refusal.BAD_HELLO)
    return message, await check_ticket(found, hello.get("ticket"))


def _message(text: str) -> object:
    try:
        return json.loads(text) if len(text) <= MAX_TEXT_CHARS else None
    except json.JSONDecodeError:
        return None


def _probe_seq(message: object) -> int | None:
    """The sequence number of a well-formed probe, else None."""
    if not isinstance(message, dict) or message.get("type") != "probe":
        return None
    seq = message.get("seq")
    if type(seq) is not int or not 0 <= seq <= MAX_PROBE_SEQ:
        return None
    return seq


async def _write(websocket: WebSocket, channel: CandidateChannel, audio: deque[bytes]) -> None:
    """Write queued events and audio until a close is requested or the peer is gone."""
    try:
        while True:
            await channel.wait()
            for text in channel.take_events():
                await websocket.send_text(text)
            while audio:
                await websocket.send_bytes(audio.popleft())
            if channel.closing is not None:
                code, reason = channel.closing
                await websocket.close(code, reason)
                return
    except (WebSocketDisconnect, RuntimeError, OSError):
        return  # the peer went away mid-write


async def _read(websocket: WebSocket, channel: CandidateChannel) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        data = message.get("bytes")
        if data is not None:
            channel.receive_audio(data)
        else:
            channel.receive_text(message.get("text") or "")
