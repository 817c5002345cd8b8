"""The live-session directory in Redis, shared by every gateway replica.

    zenhire:replicas               set of replica ids that published lately
    zenhire:replica:<id>           that replica's snapshot (JSON), expiring
    zenhire:recent                 finished sessions (JSON), newest first, trimmed
    zenhire:commands:<id>          commands for that replica (a list it pops)

A per-replica command list rather than pub/sub: a command sent while the
replica is between two reads waits for it instead of being lost. The list
expires, so commands for a replica that died do not pile up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from redis.asyncio import Redis

from gateway.session.telemetry import Finished
from gateway.state.directory import (
    RECENT_MAX,
    Command,
    ReplicaSnapshot,
    finished_from_json,
    finished_to_json,
)
from gateway.state.redis_errors import unreachable_as

log = logging.getLogger("zenhire.state")

REPLICAS_KEY = "zenhire:replicas"
SNAPSHOT_PREFIX = "zenhire:replica:"
RECENT_KEY = "zenhire:recent"
COMMANDS_PREFIX = "zenhire:commands:"

T = TypeVar("T")


def _parsed(parse: Callable[[str], T], raw: object, what: str) -> T | None:
    """``parse(raw)``, or None for a value no replica of ours wrote: skipped, and logged."""
    try:
        return parse(str(raw))
    except (ValueError, KeyError, TypeError, AttributeError):
        log.warning("skipped a malformed %s in the state store", what)
        return None


COMMANDS_TTL_SEC = 60
MS_PER_SEC = 1000


class RedisDirectory:
    """A `gateway.state.directory.Directory` over a ``decode_responses=True`` Redis client."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def publish(self, snapshot: ReplicaSnapshot, ttl_sec: float) -> None:
        with unreachable_as("directory"):
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.set(
                    SNAPSHOT_PREFIX + snapshot.replica_id,
                    snapshot.to_json(),
                    px=round(ttl_sec * MS_PER_SEC),
                )
                pipe.sadd(REPLICAS_KEY, snapshot.replica_id)
                await pipe.execute()

    async def withdraw(self, replica_id: str) -> None:
        with unreachable_as("directory"):
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.delete(SNAPSHOT_PREFIX + replica_id)
                pipe.srem(REPLICAS_KEY, replica_id)
                await pipe.execute()

    async def replicas(self) -> list[ReplicaSnapshot]:
        with unreachable_as("directory"):
            ids = sorted(str(member) for member in await self._redis.smembers(REPLICAS_KEY))
            values = await self._redis.mget([SNAPSHOT_PREFIX + i for i in ids]) if ids else []
            gone = [replica for replica, value in zip(ids, values, strict=True) if value is None]
            if gone:
                await self._redis.srem(REPLICAS_KEY, *gone)
        found = (_parsed(ReplicaSnapshot.from_json, v, "replica snapshot") for v in values if v)
        return [snapshot for snapshot in found if snapshot is not None]

    async def add_finished(self, finished: list[Finished]) -> None:
        if not finished:
            return
        with unreachable_as("directory"):
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.lpush(RECENT_KEY, *[finished_to_json(item) for item in finished])
                pipe.ltrim(RECENT_KEY, 0, RECENT_MAX - 1)
                await pipe.execute()

    async def recent(self) -> list[Finished]:
        with unreachable_as("directory"):
            values = await self._redis.lrange(RECENT_KEY, 0, RECENT_MAX - 1)
        found = (_parsed(finished_from_json, value, "finished session") for value in values)
        return [finished for finished in found if finished is not None]

    async def send(self, replica_id: str, command: Command) -> None:
        key = COMMANDS_PREFIX + replica_id
        with unreachable_as("directory"):
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.rpush(key, command.to_json())
                pipe.expire(key, COMMANDS_TTL_SEC)
                await pipe.execute()

    async def receive(self, replica_id: str, timeout_sec: float) -> Command | None:
        with unreachable_as("directory"):
            found = await self._redis.blpop([COMMANDS_PREFIX + replica_id], timeout=timeout_sec)
        if found is None:
            return None
        return _parsed(Command.from_json, found[1], "operator command")
