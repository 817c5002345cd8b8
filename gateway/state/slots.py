"""Live-interview slots: the per-client cap on concurrent live interviews.

A slot is taken when a live interview starts (not when a link is minted)
and freed when it ends. A candidate who finds every slot busy joins the
client's waiting room: a first-come, first-served queue. Waiters must
retry within ``waiter_ttl_sec`` or lose their place, so a closed tab never
blocks the queue. `SlotStore` is the seam; `MemorySlots` keeps the state in
this process (one gateway replica); `gateway.state.redis_slots.RedisSlots` shares
it between replicas, with slot leases that each replica renews (`renew`)
while its interviews are live, so a dead replica's slots free themselves.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Admission:
    admitted: bool
    position: int  # 1-based place in the waiting room; 0 when admitted


@dataclass(frozen=True)
class Usage:
    used: int
    waiting: int


@dataclass(frozen=True)
class Waiter:
    session_id: str
    position: int
    waiting_sec: float


@dataclass(frozen=True)
class ClientSlots:
    """One client's slots, for operators: ``cap`` is the last cap asked for."""

    client_id: str
    used: int
    cap: int
    waiting: tuple[Waiter, ...]


class SlotStore(Protocol):
    async def acquire(self, client_id: str, session_id: str, cap: int) -> Admission: ...

    async def release(self, client_id: str, session_id: str) -> None: ...

    async def leave_queue(self, client_id: str, session_id: str) -> None: ...

    async def usage(self, client_id: str) -> Usage: ...

    async def renew(self, holders: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """Extend the leases of these ``(client_id, session_id)`` slots, putting back
        any the store lost; return those it had lost."""
        ...

    async def clients(self) -> list[ClientSlots]:
        """Every client holding a slot or waiting for one."""
        ...


@dataclass
class _Client:
    holders: set[str] = field(default_factory=set)
    waiters: dict[str, float] = field(default_factory=dict)  # session -> last seen; insertion order
    joined: dict[str, float] = field(default_factory=dict)  # waiter -> when it first asked
    cap: int = 0


class MemorySlots:
    def __init__(self, waiter_ttl_sec: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clients: dict[str, _Client] = {}
        self._waiter_ttl_sec = waiter_ttl_sec
        self._clock = clock

    async def acquire(self, client_id: str, session_id: str, cap: int) -> Admission:
        client = self._clients.setdefault(client_id, _Client())
        client.cap = cap
        if session_id in client.holders:
            return Admission(True, 0)
        now = self._clock()
        self._expire_waiters(client, now)
        client.waiters[session_id] = now
        client.joined.setdefault(session_id, now)
        queue = list(client.waiters)
        position = queue.index(session_id) + 1
        if len(client.holders) + position <= cap:
            del client.waiters[session_id]
            client.joined.pop(session_id, None)
            client.holders.add(session_id)
            return Admission(True, 0)
        return Admission(False, position)

    async def release(self, client_id: str, session_id: str) -> None:
        client = self._clients.get(client_id)
        if client is not None:
            client.holders.discard(session_id)
            client.waiters.pop(session_id, None)
            client.joined.pop(session_id, None)

    async def leave_queue(self, client_id: str, session_id: str) -> None:
        client = self._clients.get(client_id)
        if client is not None:
            client.waiters.pop(session_id, None)
            client.joined.pop(session_id, None)

    async def usage(self, client_id: str) -> Usage:
        client = self._clients.get(client_id)
        if client is None:
            return Usage(0, 0)
        self._expire_waiters(client, self._clock())
        return Usage(len(client.holders), len(client.waiters))

    async def renew(self, holders: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """Nothing to renew: slots in this process die with it."""
        return []

    async def clients(self) -> list[ClientSlots]:
        now = self._clock()
        found = []
        for client_id, client in sorted(self._clients.items()):
            self._expire_waiters(client, now)
            if client.holders or client.waiters:
                waiting = tuple(
                    Waiter(session_id, position, round(now - client.joined.get(session_id, now), 1))
                    for position, session_id in enumerate(client.waiters, start=1)
                )
                found.append(ClientSlots(client_id, len(client.holders), client.cap, waiting))
        return found

    def _expire_waiters(self, client: _Client, now: float) -> None:
        for session_id, seen in list(client.waiters.items()):
            if now - seen > self._waiter_ttl_sec:
                del client.waiters[session_id]
                client.joined.pop(session_id, None)
