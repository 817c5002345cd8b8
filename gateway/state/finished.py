"""Which sessions have finished, remembered beyond the process that saw them.

An interview that ended must not start again from its old link, even on
another replica, even before the control plane has accepted its terminal
event (while the event waits in an outbox, the control plane still calls
the session live). Each replica remembers its own finished sessions in a
bounded map; with Redis, every replica also writes them to
``zenhire:finished:<session>`` for as long as a link can live, so a join on
any replica finds them.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Generic, Protocol, TypeVar

from redis.asyncio import Redis

from gateway.errors import StateStoreUnavailable
from gateway.state.redis_errors import unreachable_as

log = logging.getLogger("zenhire.state")

PREFIX = "zenhire:finished:"
# Candidate links live seven days at the control plane; a day's margin for clocks.
FINISHED_TTL_SEC = 8 * 24 * 3600
# Ids remembered in one process: a few MB at most, whatever a replica's uptime.
LOCAL_LIMIT = 100_000

K = TypeVar("K")
V = TypeVar("V")


class Bounded(Generic[K, V]):
    """A map that forgets its oldest entries past ``limit`` (insertion order)."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._items: OrderedDict[K, V] = OrderedDict()

    def __setitem__(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self._limit:
            self._items.popitem(last=False)

    def setdefault(self, key: K, value: V) -> V:
        if key not in self._items:
            self[key] = value
        return self._items[key]

    def get(self, key: K) -> V | None:
        return self._items.get(key)

    def pop(self, key: K) -> V | None:
        return self._items.pop(key, None)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)


class FinishedSessions(Protocol):
    def add(self, session_id: str) -> None:
        """Remember it here at once (`publish` shares it)."""
        ...

    def seen_here(self, session_id: str) -> bool: ...

    async def publish(self, session_id: str) -> None:
        """Share it with every replica; a store that is down is logged, not raised."""
        ...

    async def anywhere(self, session_id: str) -> bool:
        """Whether it finished here or on any replica that shares this store."""
        ...


class LocalFinished:
    """One replica's finished sessions (no shared store)."""

    def __init__(self, limit: int = LOCAL_LIMIT) -> None:
        self._ids: Bounded[str, None] = Bounded(limit)

    def add(self, session_id: str) -> None:
        self._ids[session_id] = None

    def seen_here(self, session_id: str) -> bool:
        return session_id in self._ids

    async def publish(self, session_id: str) -> None:
        return None

    async def anywhere(self, session_id: str) -> bool:
        return self.seen_here(session_id)


class RedisFinished(LocalFinished):
    """Finished sessions of every replica sharing one Redis."""

    def __init__(self, redis: Redis, limit: int = LOCAL_LIMIT) -> None:
        super().__init__(limit)
        self._redis = redis

    async def publish(self, session_id: str) -> None:
        try:
            with unreachable_as("finished sessions"):
                await self._redis.set(PREFIX + session_id, "1", ex=FINISHED_TTL_SEC)
        except StateStoreUnavailable as exc:
            # The outbox still carries the terminal event; once the control plane has
            # it, its verify answer says the session is over.
            log.warning(
                "could not share a finished session",
                extra={"session_id": session_id, "error": str(exc)},
            )

    async def anywhere(self, session_id: str) -> bool:
        if self.seen_here(session_id):
            return True
        try:
            with unreachable_as("finished sessions"):
                found = await self._redis.exists(PREFIX + session_id)
        except StateStoreUnavailable as exc:
            log.warning("finished sessions unreadable", extra={"error": str(exc)})
            return False
        if found:
            self.add(session_id)
        return bool(found)
