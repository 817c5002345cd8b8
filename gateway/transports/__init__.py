"""How a candidate's audio and events travel: WebSocket or WebRTC.

    WS   /api/v1/candidate/ws              `websocket`: PCM16 frames and JSON text
    POST /api/v1/candidate/webrtc/offer    `signaling` → `webrtc.Peer` (`peers` owns them)

Both transports hold one `channel.CandidateChannel`, which owns what they
share (the bounded event queue, the close request, control messages and
the per-connection budgets), and keep only their I/O. `transport` is the
`Transport` a live session sees and the close codes both speak.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Route, WebSocketRoute


def routes() -> list[BaseRoute]:
    # Imported when called: the live session imports `transport` from this package,
    # and the transports import the live session.
    from gateway.transports.signaling import OFFER_PATH, webrtc_offer
    from gateway.transports.websocket import candidate_socket

    return [
        WebSocketRoute("/api/v1/candidate/ws", candidate_socket),
        Route(OFFER_PATH, webrtc_offer, methods=["POST"]),
    ]
