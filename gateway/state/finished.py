"""Which sessions have finished, remembered beyond the process that saw them.

An interview that ended must not start again from its old link, even on
another replica, even before the control plane has accepted its terminal
event (while the event waits in an outbox, the control plane still calls
the session live). Each replica remembers its own finished sessions in a
bounded map; every replica also marks them finished in the ownership store
(`Ownership.finish`: ``zenhire:own:{<session>}:finished`` with Redis, for as
long as a link can live), fenced by the interview's token, so that only its
last owner marks it and a join on any replica finds it.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Generic, TypeVar

from gateway.errors import StateStoreUnavailable
from gateway.state.ownership import Ownership

log = logging.getLogger("zenhire.state")

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


class FinishedSessions:
    """Finished sessions: this replica's in a bounded map, every replica's in ``ownership``."""

    def __init__(self, ownership: Ownership, limit: int = LOCAL_LIMIT) -> None:
        self._ownership = ownership
        self._ids: Bounded[str, None] = Bounded(limit)

    def add(self, session_id: str) -> None:
        """Remember it here (`finish` also marks it for every replica)."""
        self._ids[session_id] = None

    def seen_here(self, session_id: str) -> bool:
        return session_id in self._ids

    async def finish(self, session_id: str, token: int) -> bool:
        """Mark it finished here and for every replica, unless ``token`` is fenced;
        True: this replica is its last owner and reports it (the one terminal event)."""
        try:
            reporting = await self._ownership.finish(session_id, token)
        except StateStoreUnavailable as exc:
            # Reported all the same: an event sent twice is told apart by the control
            # plane (and nobody could claim the interview while the store was down),
            # an event never sent is lost. Once the control plane has it, its verify
            # answer says the session is over.
            log.warning(
                "could not mark a finished session for every replica; reporting it",
                extra={"session_id": session_id, "error": str(exc)},
            )
            reporting = True
        if reporting:
            self.add(session_id)
        return reporting

    async def anywhere(self, session_id: str) -> bool:
        """Whether it finished here or on any replica that shares the ownership store."""
        if self.seen_here(session_id):
            return True
        try:
            found = await self._ownership.is_finished(session_id)
        except StateStoreUnavailable as exc:
            log.warning("finished sessions unreadable", extra={"error": str(exc)})
            return False
        if found:
            self.add(session_id)
        return found
