"""A hostile HTTP/1.1 client on a raw socket: it says what it likes, as slowly as it likes.

`exchange` writes a request head, then the body in parts with a pause
between them (a body that trickles in), and reads the answer until the
server closes the connection or ``timeout_sec`` passes. `Answer` holds the
status, the headers, the body, how long the answer took and whether the
server closed the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    elapsed_sec: float
    closed: bool

    def error_code(self) -> str:
        found: Any = json.loads(self.body)
        return str(found["error"]["code"])


def head(method: str, path: str, host: str, headers: Sequence[tuple[str, str]] = ()) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", *(f"{k}: {v}" for k, v in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def exchange(
    base_url: str,
    request_head: bytes,
    body_parts: Sequence[bytes] = (),
    *,
    pause_sec: float = 0.0,
    timeout_sec: float = 10.0,
    local_host: str | None = None,
) -> Answer:
    """Send ``request_head`` and ``body_parts`` (``pause_sec`` apart); the server's answer."""
    url = urlsplit(base_url)
    assert url.hostname is not None and url.port is not None
    local = (local_host, 0) if local_host else None
    reader, writer = await asyncio.open_connection(url.hostname, url.port, local_addr=local)
    started = time.monotonic()
    answer = bytearray()
    closed = False

    async def send() -> None:
        writer.write(request_head)
        await writer.drain()
        for part in body_parts:
            await asyncio.sleep(pause_sec)
            writer.write(part)
            await writer.drain()

    sending = asyncio.create_task(send())
    try:
        async with asyncio.timeout(timeout_sec):
            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    closed = True
                    break
                answer += chunk
                if _complete(answer):
                    break
    except TimeoutError:
        pass
    except ConnectionResetError:
        closed = True
    finally:
        sending.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await sending
    elapsed = time.monotonic() - started
    if not closed:
        # The answer is complete; does the server hang up, or keep waiting for the body?
        try:
            async with asyncio.timeout(1.0):
                closed = not await reader.read(65536)
        except TimeoutError:
            pass
        except ConnectionError:
            closed = True  # a reset: the server closed with our bytes unread
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()
    return _parse(bytes(answer), elapsed, closed)


def _complete(raw: bytearray) -> bool:
    head_end = raw.find(b"\r\n\r\n")
    if head_end < 0:
        return False
    headers = _headers(bytes(raw[:head_end]))
    length = headers.get("content-length")
    return length is not None and len(raw) - head_end - 4 >= int(length)


def _headers(raw_head: bytes) -> dict[str, str]:
    lines = raw_head.decode("latin-1").split("\r\n")[1:]
    return {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}


def _parse(raw: bytes, elapsed: float, closed: bool) -> Answer:
    head_end = raw.find(b"\r\n\r\n")
    assert head_end > 0, f"no answer from the server: {raw!r}"
    status = int(raw[: raw.find(b"\r\n")].split()[1])
    return Answer(status, _headers(raw[:head_end]), raw[head_end + 4 :], elapsed, closed)
