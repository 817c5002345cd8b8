"""The upstream connection reads ahead only a bounded number of events: a relay that
falls behind stops the socket reading, and the upstream's sends wait (TCP backpressure)."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from gateway.interviewer.realtime.settings import RealtimeSettings
from gateway.interviewer.realtime.upstream import MAX_QUEUED_EVENTS, open_upstream

EVENT = json.dumps({"type": "response.output_audio.delta", "delta": "A" * 16_000})
FLOOD = 20_000  # 320 MB of events, far past any bound


@pytest.mark.fault(
    "realtime upstream flooding",
    injected="20,000 16 KB events sent to a relay that does not read",
    happened="the socket stops reading; the upstream's sends wait (TCP backpressure)",
)
async def test_a_flooding_upstream_is_held_back_by_a_relay_that_does_not_read() -> None:
    sent = 0

    async def flood(socket: ServerConnection) -> None:
        nonlocal sent
        try:
            for _ in range(FLOOD):
                await socket.send(EVENT)
                sent += 1
        except ConnectionClosed:
            pass

    async with serve(flood, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        upstream = await open_upstream(
            RealtimeSettings(api_key="test-key", url=f"ws://127.0.0.1:{port}/v1/realtime")
        )
        try:
            await asyncio.sleep(1.5)  # nobody reads the events meanwhile
            # The read-ahead queue plus what the kernel's socket buffers hold.
            assert sent < MAX_QUEUED_EVENTS * 4, sent
        finally:
            await upstream.close()
