"""Joins that reach a replica other than the interview's owner, forwarded to it.

A live interview has one owner (`gateway.state.ownership`). A candidate's
connection that lands elsewhere (a load balancer's choice, a reconnect)
is carried to the owner rather than starting a second copy:

    WebSocket   this replica opens a WebSocket to the owner's internal URL,
                sends the candidate's hello, and pipes frames both ways
                until either side closes (the owner's close code is passed on)
    WebRTC      the offer is POSTed to the owner, whose answer (and peer)
                serves the candidate; media then flows to the owner directly

Forwarded requests are signed replica-to-replica (`Direction.BETWEEN_REPLICAS`,
the S2S scheme with its own derived key); the owner skips the origin check
for them (this replica did it) and never forwards them again. An owner that
cannot be reached (it died; its lease has not run out yet) is not an
error: the join goes on here and takes the interview over once the lease
is gone.
"""

from __future__ import annotations

import contextlib
import json
import logging

import httpx
import websockets
from starlette.datastructures import Headers
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import ClientConnection

from gateway.candidate.refusals import Refusal, Refused
from gateway.errors import StateStoreUnavailable
from gateway.services import Services
from gateway.state.ownership import Owner
from zenhire.signing import SIGNATURE_HEADER, SignatureError
from zenhire.tasks import first_to_finish

log = logging.getLogger("zenhire.forwarding")

WS_PATH = "/api/v1/candidate/ws"
OFFER_PATH = "/api/v1/candidate/webrtc/offer"
CONNECT_TIMEOUT_SEC = 2.0
OFFER_TIMEOUT_SEC = 10.0
MAX_FRAME_BYTES = 1 << 16
# The close code passed on when the owner's socket ended without one.
GOING_AWAY = 1001


async def owner_elsewhere(found: Services, session_id: str) -> Owner | None:
    """The interview's owner, if it is another replica (and not live here)."""
    if found.registry.live(session_id) is not None:
        return None
    try:
        owner = await found.registry.ownership.owner(session_id)
    except StateStoreUnavailable:
        return None
    if owner is None or owner.replica_id == found.settings.operations.replica_id:
        return None
    return owner


def forwarded(found: Services, headers: Headers, method: str, target: str, body: bytes) -> bool:
    """Whether the request was forwarded by a replica; raise `Refused` for a bad signature."""
    if SIGNATURE_HEADER.lower() not in headers:
        return False
    try:
        found.replicas.verify(headers, method, target, body, nonces=found.nonces)
    except SignatureError:
        log.warning("a forwarded join with a bad replica signature")
        raise Refused(Refusal.REPLICA_FORBIDDEN) from None
    return True


async def proxy_socket(found: Services, websocket: WebSocket, owner: Owner, hello: str) -> bool:
    """Pipe the candidate's socket to the owner's until either ends; False if unreachable."""
    url = owner.internal_url.replace("http", "ws", 1) + WS_PATH
    headers = found.replicas.headers("GET", WS_PATH, b"")
    try:
        upstream = await websockets.connect(
            url,
            additional_headers=headers,
            open_timeout=CONNECT_TIMEOUT_SEC,
            max_size=MAX_FRAME_BYTES,
            max_queue=None,
        )
    except (OSError, TimeoutError, websockets.InvalidHandshake, websockets.InvalidURI):
        log.info("the interview's owner is unreachable", extra={"owner": owner.replica_id})
        return False
    log.info("join forwarded to the owner", extra={"owner": owner.replica_id})
    async with upstream:
        await upstream.send(hello)
        await first_to_finish(_to_owner(websocket, upstream), _to_candidate(upstream, websocket))
        code = upstream.close_code or GOING_AWAY
        reason = upstream.close_reason or ""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):  # the candidate left
        await websocket.close(code, reason)
    return True


async def _to_owner(websocket: WebSocket, upstream: ClientConnection) -> None:
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("bytes")
            await upstream.send(data if data is not None else message.get("text") or "")
    except (WebSocketDisconnect, websockets.ConnectionClosed):
        return


async def _to_candidate(upstream: ClientConnection, websocket: WebSocket) -> None:
    try:
        async for message in upstream:
            if isinstance(message, bytes):
                await websocket.send_bytes(message)
            else:
                await websocket.send_text(message)
    except (WebSocketDisconnect, websockets.ConnectionClosed, RuntimeError, OSError):
        return


async def forward_offer(
    found: Services, http: httpx.AsyncClient, owner: Owner, body: bytes
) -> tuple[int, dict[str, object]] | None:
    """The owner's answer to the offer (status and JSON), or None if it is unreachable."""
    headers = {
        **found.replicas.headers("POST", OFFER_PATH, body),
        "content-type": "application/json",
    }
    try:
        response = await http.post(
            owner.internal_url + OFFER_PATH,
            content=body,
            headers=headers,
            timeout=OFFER_TIMEOUT_SEC,
        )
        answer = response.json()
    except (TimeoutError, httpx.HTTPError, json.JSONDecodeError):
        log.info("the interview's owner is unreachable", extra={"owner": owner.replica_id})
        return None
    log.info("offer forwarded to the owner", extra={"owner": owner.replica_id})
    return response.status_code, answer if isinstance(answer, dict) else {}
