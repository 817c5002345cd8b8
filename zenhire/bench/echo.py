"""The two baselines: what stock parts cost for the same audio, doing nothing else.

    python -m zenhire.bench.echo ws  --port N   a bare Starlette WebSocket echo (/echo)
    python -m zenhire.bench.echo rtc --port N   a stock aiortc audio echo peer (POST /offer)

The aiortc echo is aiortc as its examples use it: the received track
(decoded on aiortc's decoder thread) is sent back as it comes (encoded on
its executor), with the default Opus settings. It accepts the
``events`` data channel the candidates open and ignores it. Both serve
``/healthz``.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack
from av.frame import Frame
from av.packet import Packet
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def echo_socket(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            await websocket.send_bytes(await websocket.receive_bytes())
    except WebSocketDisconnect:
        pass


def websocket_echo() -> Starlette:
    return Starlette(routes=[Route("/healthz", healthz), WebSocketRoute("/echo", echo_socket)])


class Echo(MediaStreamTrack):
    kind = "audio"

    def __init__(self, source: MediaStreamTrack) -> None:
        super().__init__()
        self._source = source

    async def recv(self) -> Frame | Packet[Any]:
        return await self._source.recv()


def rtc_echo() -> Starlette:
    peers: set[RTCPeerConnection] = set()

    async def offer(request: Request) -> Response:
        body = await request.json()
        pc = RTCPeerConnection()
        peers.add(pc)

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            pc.addTrack(Echo(track))

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                peers.discard(pc)
                await pc.close()

        await pc.setRemoteDescription(RTCSessionDescription(body["sdp"], body["type"]))
        await pc.setLocalDescription(await pc.createAnswer())
        return JSONResponse({"sdp": pc.localDescription.sdp, "type": pc.localDescription.type})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await asyncio.gather(*(pc.close() for pc in list(peers)))

    return Starlette(
        routes=[Route("/healthz", healthz), Route("/offer", offer, methods=["POST"])],
        lifespan=lifespan,
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m zenhire.bench.echo")
    parser.add_argument("kind", choices=("ws", "rtc"))
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = websocket_echo() if args.kind == "ws" else rtc_echo()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", ws_max_size=1 << 16)


if __name__ == "__main__":
    main()
