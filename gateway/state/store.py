"""The state shared by gateway replicas: live slots, the live-session directory and
interview ownership (leases, fencing tokens, checkpoints, and which sessions
have finished: `gateway.state.finished`).

With ``ZENHIRE_REDIS_URL`` unset both live in this process (one replica);
with it set, in Redis, shared by every replica that points at the same
server. `open_state` opens one Redis client for the process's lifetime.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from gateway.settings import Settings
from gateway.state.directory import Directory, MemoryDirectory
from gateway.state.ownership import MemoryOwnership, Ownership
from gateway.state.redis_directory import RedisDirectory
from gateway.state.redis_ownership import RedisOwnership
from gateway.state.redis_slots import RedisSlots
from gateway.state.slots import MemorySlots, SlotStore

REDIS_CONNECT_TIMEOUT_SEC = 2.0
# Commands, not blocking reads: the directory's BLPOP passes its own timeout.
REDIS_SOCKET_TIMEOUT_SEC = 10.0
PING_TIMEOUT_SEC = 2.0


@dataclass(frozen=True)
class StateStore:
    kind: str  # "memory" | "redis"
    slots: SlotStore
    directory: Directory
    ownership: Ownership
    ping: Callable[[], Awaitable[bool]]
    redis: Redis | None = None


async def _always() -> bool:
    return True


@asynccontextmanager
async def open_state(settings: Settings, waiter_ttl_sec: float) -> AsyncIterator[StateStore]:
    operations = settings.operations
    url = operations.redis_url
    if url is None:
        yield StateStore(
            "memory",
            MemorySlots(waiter_ttl_sec),
            MemoryDirectory(),
            MemoryOwnership(operations.replica_id, operations.internal_url),
            _always,
        )
        return
    redis = Redis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=REDIS_CONNECT_TIMEOUT_SEC,
        socket_timeout=REDIS_SOCKET_TIMEOUT_SEC,
    )

    async def ping() -> bool:
        try:
            async with asyncio.timeout(PING_TIMEOUT_SEC):
                return bool(await redis.ping())
        except (RedisError, OSError, TimeoutError):
            return False

    try:
        yield StateStore(
            "redis",
            RedisSlots(redis, waiter_ttl_sec, settings.operations.slot_lease_sec),
            RedisDirectory(redis),
            RedisOwnership(
                redis, operations.replica_id, operations.internal_url, operations.owner_lease_sec
            ),
            ping,
            redis,
        )
    finally:
        await redis.aclose()
