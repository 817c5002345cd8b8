"""The live-session directory: what every replica sharing the state store runs.

Each replica publishes a `ReplicaSnapshot` (its live sessions, whether it is
draining, its events backlog) every second or so; a snapshot that is not
refreshed disappears, so a dead replica drops off the console by itself.
Finished sessions go to a short shared "recent" list. Operators act on
another replica (end one of its sessions, drain it) by sending that replica
a `Command`, which it receives and carries out.

`Directory` is the seam; `MemoryDirectory` serves a single replica in this
process, `gateway.state.redis_directory.RedisDirectory` many replicas.
"""

from __future__ import annotations

import asyncio
import enum
import json
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from gateway.session.telemetry import Finished

RECENT_MAX = 50


@dataclass(frozen=True)
class LiveSummary:
    """One live interview, as the console shows it."""

    session_id: str
    replica_id: str
    client_id: str
    role_name: str
    language: str
    transport: str
    started_at: str
    elapsed_sec: int
    remaining_sec: int
    connected: bool
    reconnects: int
    frames_in: int
    frames_out: int
    state: str | None
    input_level: float | None
    output_level: float | None
    upstream_rtt_ms: float | None
    packet_loss_pct: float | None
    jitter_ms: float | None


@dataclass(frozen=True)
class ReplicaSnapshot:
    replica_id: str
    draining: bool
    published_at: float  # unix seconds
    outbox_pending: int
    outbox_oldest_age_sec: float
    sessions: tuple[LiveSummary, ...]
    # Where other replicas reach this one (forwarded joins); "" from an older replica.
    internal_url: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> ReplicaSnapshot:
        raw: dict[str, Any] = json.loads(text)
        sessions = tuple(LiveSummary(**session) for session in raw.pop("sessions"))
        return cls(**raw, sessions=sessions)


class Action(enum.StrEnum):
    END_SESSION = "end_session"
    DRAIN = "drain"
    UNDRAIN = "undrain"


@dataclass(frozen=True)
class Command:
    """An operator's request for one replica; ``operator`` is who asked."""

    action: Action
    operator: str
    session_id: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Command:
        raw = json.loads(text)
        return cls(Action(raw["action"]), str(raw["operator"]), str(raw.get("session_id", "")))


def finished_to_json(finished: Finished) -> str:
    return json.dumps(asdict(finished), separators=(",", ":"))


def finished_from_json(text: str) -> Finished:
    return Finished(**json.loads(text))


class Directory(Protocol):
    async def publish(self, snapshot: ReplicaSnapshot, ttl_sec: float) -> None:
        """Replace this replica's snapshot; it vanishes unless republished within ``ttl_sec``."""
        ...

    async def withdraw(self, replica_id: str) -> None:
        """Remove a replica's snapshot at once (it is shutting down)."""
        ...

    async def replicas(self) -> list[ReplicaSnapshot]:
        """Every replica's current snapshot, by replica id."""
        ...

    async def add_finished(self, finished: list[Finished]) -> None: ...

    async def recent(self) -> list[Finished]:
        """The latest finished sessions of every replica, newest first."""
        ...

    async def send(self, replica_id: str, command: Command) -> None: ...

    async def receive(self, replica_id: str, timeout_sec: float) -> Command | None:
        """The next command for ``replica_id``, or None after ``timeout_sec``."""
        ...


class MemoryDirectory:
    def __init__(self) -> None:
        self._snapshots: dict[str, ReplicaSnapshot] = {}
        self._recent: deque[Finished] = deque(maxlen=RECENT_MAX)
        self._commands: dict[str, asyncio.Queue[Command]] = {}

    async def publish(self, snapshot: ReplicaSnapshot, ttl_sec: float) -> None:
        # One process: the snapshot cannot outlive its publisher, so no expiry.
        self._snapshots[snapshot.replica_id] = snapshot

    async def withdraw(self, replica_id: str) -> None:
        self._snapshots.pop(replica_id, None)

    async def replicas(self) -> list[ReplicaSnapshot]:
        return [self._snapshots[key] for key in sorted(self._snapshots)]

    async def add_finished(self, finished: list[Finished]) -> None:
        self._recent.extend(finished)

    async def recent(self) -> list[Finished]:
        return list(reversed(self._recent))

    async def send(self, replica_id: str, command: Command) -> None:
        self._queue(replica_id).put_nowait(command)

    async def receive(self, replica_id: str, timeout_sec: float) -> Command | None:
        try:
            async with asyncio.timeout(timeout_sec):
                return await self._queue(replica_id).get()
        except TimeoutError:
            return None

    def _queue(self, replica_id: str) -> asyncio.Queue[Command]:
        return self._commands.setdefault(replica_id, asyncio.Queue())
