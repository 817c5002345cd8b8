"""One loopback port in front of gateway replicas, as a TCP load balancer puts one.

Each new connection goes to the first upstream, in the order given, that
accepts it: an L4 balancer with a preferred backend and failover, whose
health check here is the connect itself (a dead replica refuses it). Bytes
are piped both ways until either side closes; a replica that dies cuts its
connections, and the browser's next request lands on the next replica.
Only HTTP and WebSocket traffic passes through it: WebRTC media goes to the
replica's own UDP candidates, as behind a real balancer (`docs/deploy.md`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from zenhire.loopback.stack import loopback_url
from zenhire.tasks import TaskGroup

CHUNK_BYTES = 1 << 16


@asynccontextmanager
async def balancer(upstreams: Sequence[int], port: int = 0) -> AsyncIterator[str]:
    """Serve on loopback ``port`` (0: a free one) for the block; its URL."""
    connections: set[asyncio.StreamWriter] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.add(writer)
        try:
            upstream = await _first_accepting(upstreams)
            if upstream is not None:
                async with TaskGroup() as group:
                    group.create_task(_pipe(reader, upstream[1]))
                    group.create_task(_pipe(upstream[0], writer))
        finally:
            connections.discard(writer)
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    port = server.sockets[0].getsockname()[1]
    try:
        async with server:
            yield loopback_url(port)
            server.close()
            for writer in list(connections):
                writer.close()
    finally:
        server.close()


async def _first_accepting(
    upstreams: Sequence[int],
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
    for port in upstreams:
        with contextlib.suppress(OSError):
            return await asyncio.open_connection("127.0.0.1", port)
    return None


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until end of stream or a reset, then close the far side."""
    try:
        while chunk := await reader.read(CHUNK_BYTES):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()
