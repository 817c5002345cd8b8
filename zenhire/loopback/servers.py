"""Real uvicorn servers on 127.0.0.1 with an OS-chosen port, for tests."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager

import uvicorn
from starlette.types import ASGIApp

STARTUP_TIMEOUT_SEC = 10.0


def free_port() -> int:
    """A loopback TCP port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@asynccontextmanager
async def serve(app: ASGIApp, port: int | None = None) -> AsyncIterator[str]:
    """Run ``app`` under uvicorn in this event loop; yield its base URL.

    The server (and the app's lifespan) stops when the block exits.
    """
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port or 0))
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on", ws_max_size=1 << 16)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(STARTUP_TIMEOUT_SEC):
            while not server.started:
                if task.done():
                    await task
                    raise RuntimeError("server exited during start-up")
                await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{bound_port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


class Restartable:
    """A server that a test can stop and start again on the same port."""

    def __init__(self, make_app: Callable[[], ASGIApp], port: int) -> None:
        self.make_app = make_app
        self.port = port
        self._running: AsyncExitStack | None = None

    async def start(self) -> None:
        assert self._running is None, "already running"
        running = AsyncExitStack()
        await running.enter_async_context(serve(self.make_app(), port=self.port))
        self._running = running

    async def stop(self) -> None:
        if self._running is not None:
            running, self._running = self._running, None
            await running.aclose()
