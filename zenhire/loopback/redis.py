"""A real redis-server (Debian's package) on a free loopback port, for tests.

No persistence (``--save "" --appendonly no``); the data directory is a
temporary folder. `flush` empties it between tests that share one server.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from zenhire.loopback.servers import free_port

STARTUP_TIMEOUT_SEC = 10.0
STOP_TIMEOUT_SEC = 10.0
POLL_SEC = 0.02


@contextmanager
def redis_server(folder: Path, port: int | None = None) -> Iterator[str]:
    """Run redis-server (on ``port``, or a free one) until the block exits; yield its
    ``redis://`` URL. Started again on the same port, it comes back empty."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server is missing: run scripts/install --test"
    port = port or free_port()
    folder.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            binary,
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(folder),
            "--loglevel", "warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    try:
        _wait_until_up(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=STOP_TIMEOUT_SEC)


def _wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SEC
    while True:
        assert process.poll() is None, "redis-server exited during start-up"
        try:
            with redis.Redis.from_url(url) as client:
                client.ping()
                return
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(POLL_SEC)


def flush(url: str) -> None:
    with redis.Redis.from_url(url) as client:
        client.flushdb()
