"""One replica's Redis outbox as a process of its own, for tests that kill it.

    python -m tests.state.outbox_replica REDIS_URL REPLICA_ID CONTROL_URL FOLDER SESSION_ID

It enqueues one ``session.started`` event of SESSION_ID and delivers until
killed; the test points CONTROL_URL at a listener that never answers, so the
process reads the event and never acknowledges it.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from redis.asyncio import Redis

from gateway.s2s.controlplane import HttpControlPlane, event_body
from gateway.s2s.journal import Journal
from gateway.s2s.outbox import Outbox
from gateway.s2s.redis_outbox import RedisOutbox
from gateway.s2s.stream import EventStream
from zenhire.backoff import Backoff
from zenhire.loopback.stack import SECRET
from zenhire.signing import Direction, Signer
from zenhire.timestamps import now_iso

FAST_RETRIES = Backoff(attempts=5000, total_sec=86_400, base_sec=0.1, cap_sec=0.5)
CLAIM_IDLE_SEC = 1.0
# Longer than any test waits: an attempt in flight when the process is killed.
HANGING_TIMEOUT_SEC = 600.0


@asynccontextmanager
async def redis_outbox(
    redis_url: str,
    replica_id: str,
    control_url: str,
    folder: Path,
    *,
    backoff: Backoff = FAST_RETRIES,
    timeout_sec: float = 5.0,
) -> AsyncIterator[RedisOutbox]:
    """A replica's outbox as `gateway.app.event_outbox` builds it, on its own client."""
    redis = Redis.from_url(
        redis_url, decode_responses=True, socket_connect_timeout=1.0, socket_timeout=2.0
    )
    async with httpx.AsyncClient(timeout=timeout_sec) as client:
        signer = Signer.of((SECRET,), Direction.TO_CONTROL_PLANE)
        control_plane = HttpControlPlane(client, control_url, signer)
        outbox = RedisOutbox(
            EventStream(redis, replica_id),
            Outbox(folder / "outbox.sqlite3", control_plane, backoff),
            Journal(folder / "journal.sqlite3"),
            control_plane,
            backoff,
            CLAIM_IDLE_SEC,
        )
        try:
            yield outbox
        finally:
            await outbox.close()
            await redis.aclose()


def started_event(event_id: str, session_id: str) -> bytes:
    return event_body(event_id, "session.started", session_id, now_iso(), {})


async def main(redis_url: str, replica_id: str, control_url: str, folder: str, sid: str) -> None:
    async with redis_outbox(
        redis_url, replica_id, control_url, Path(folder), timeout_sec=HANGING_TIMEOUT_SEC
    ) as outbox:
        event_id = f"started-{sid}"
        await outbox.enqueue(event_id, sid, "session.started", started_event(event_id, sid))
        await outbox.run()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:6]))
