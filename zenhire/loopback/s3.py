"""A real S3 endpoint on loopback for tests and the bench: moto's standalone server.

`s3_server` runs ``python -m moto.server`` as a separate process on a free
port and creates a bucket in it. moto keeps objects in memory, so an outage
is not a restart of moto (that would lose every object): `TcpProxy` is a real
TCP relay between the gateway and moto that a test stops (connections cut,
port refused) and starts again on the same port.

`s3_environment` is what a gateway needs to use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from zenhire.loopback.servers import free_port
from zenhire.tasks import TaskGroup

BUCKET = "zenhire-test"
STARTUP_TIMEOUT_SEC = 30.0
STOP_TIMEOUT_SEC = 10.0
POLL_SEC = 0.1
RELAY_CHUNK_BYTES = 64 * 1024
# moto accepts any credentials; these only have to look like AWS's.
TEST_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing-secret"}
REGION = "us-east-1"


@contextmanager
def s3_server(bucket: str = BUCKET) -> Iterator[str]:
    """Run moto's S3 server until the block exits, with ``bucket``; yield its URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process)
        httpx.put(f"{url}/{bucket}").raise_for_status()
        yield url
    finally:
        process.terminate()
        process.wait(timeout=STOP_TIMEOUT_SEC)


def s3_environment(endpoint_url: str, bucket: str = BUCKET, **extra: str) -> dict[str, str]:
    """The variables of a gateway keeping its artifacts at ``endpoint_url``."""
    return {
        "ZENHIRE_S3_BUCKET": bucket,
        "ZENHIRE_S3_ENDPOINT_URL": endpoint_url,
        "AWS_REGION": REGION,
        **TEST_CREDENTIALS,
        **extra,
    }


def object_keys(endpoint_url: str, prefix: str, bucket: str = BUCKET) -> list[str]:
    """The keys under ``prefix``, read straight from moto (ListObjectsV2)."""
    answer = httpx.get(f"{endpoint_url}/{bucket}", params={"list-type": "2", "prefix": prefix})
    answer.raise_for_status()
    text = answer.text
    keys = []
    for part in text.split("<Key>")[1:]:
        keys.append(part.split("</Key>", 1)[0])
    return keys


def _wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SEC
    while True:
        assert process.poll() is None, "moto's server exited during start-up"
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(POLL_SEC)


class TcpProxy:
    """Relays ``listen_port`` on 127.0.0.1 to ``target_port``; `stop` is an outage."""

    def __init__(self, target_port: int, listen_port: int | None = None) -> None:
        self.target_port = target_port
        self.port = listen_port or free_port()
        self._server: asyncio.Server | None = None
        self._relays: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def stop(self) -> None:
        """Refuse new connections and cut the open ones. Idempotent."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for relay in list(self._relays):
            relay.cancel()
        if self._relays:
            await asyncio.wait(self._relays)
        if server is not None:
            await server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._relays.add(task)
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            self._relays.discard(task)
            return
        try:
            async with TaskGroup() as group:
                group.create_task(_pipe(reader, up_writer))
                group.create_task(_pipe(up_reader, writer))
        except* (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            for stream in (writer, up_writer):
                stream.transport.abort()
            self._relays.discard(task)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while chunk := await reader.read(RELAY_CHUNK_BYTES):
        writer.write(chunk)
        await writer.drain()
    with contextlib.suppress(OSError):
        writer.write_eof()
