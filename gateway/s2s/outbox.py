"""A durable outbox of S2S events: written before anything is sent,
delivered at least once, in order per session.

Events are rows in a SQLite file, so they survive a control plane outage and
a gateway restart. `Outbox.run` delivers due events and retries failures
(network errors, 5xx, 401/403, 408, 425, 429) with exponential backoff and
jitter, bounded by total age (24 h by default) and attempts. Nothing is given
up silently: an event past its bound, or one the control plane rejects as
malformed (any other 4xx), becomes a dead letter (state ``expired`` or
``rejected``), logged as an error, counted by
``zenhire_outbox_dead_letters``, and listed and re-driven with
``zenhire gateway outbox`` (`gateway.s2s.dead_letters`). Rows are kept after
delivery as a delivery log.

Every SQLite statement runs on the outbox's own thread (`gateway.disk`),
never on the event loop: a commit waits for an fsync. When the file cannot
take a write (its disk is full: ``SQLITE_FULL``, or failing), the event is
*held* in memory instead (at most `MAX_HELD_EVENTS`), delivered from there
all the same, and written as soon as the database takes writes again;
`Outbox.enqueue` says whether the event is on disk, so that its caller can
keep what would report it again after a crash.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from gateway.disk import DiskWork, writer_thread
from gateway.errors import ControlPlaneUnavailable, OutboxFull
from gateway.s2s.controlplane import ControlPlane, Delivery
from zenhire.backoff import Backoff

log = logging.getLogger("zenhire.outbox")

IDLE_WAKE_SEC = 5.0
DEAD_STATES = ("expired", "rejected")
# Events kept in memory while the database takes no writes: a few MB at most.
MAX_HELD_EVENTS = 10_000
# Statements waiting for the outbox's thread; only a few are ever in flight.
MAX_QUEUED_STATEMENTS = 1_000
SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    session_id TEXT NOT NULL,
    type TEXT NOT NULL,
    body BLOB NOT NULL,
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS events_pending ON events (state, seq);
"""
COLUMNS = (
    "seq, event_id, session_id, type, body, created_at, attempts, next_attempt_at, state,"
    " last_error"
)


@dataclass(frozen=True)
class Backlog:
    pending: int
    oldest_age_sec: float
    dead: int = 0
    held: int = 0  # not on disk yet (the database takes no writes)


class EventOutbox(Protocol):
    """What a gateway needs of its outbox: this module's `Outbox` (SQLite, one
    replica) or `gateway.s2s.redis_outbox.RedisOutbox` (replicas sharing Redis)."""

    async def enqueue(self, event_id: str, session_id: str, type_: str, body: bytes) -> bool:
        """Store an event for delivery; whether it is durable (on disk, or in Redis)."""
        ...

    async def backlog(self) -> Backlog: ...

    async def state_of(self, event_id: str) -> str | None: ...

    async def run(self) -> None: ...

    async def deliver_due(self) -> float | None: ...

    async def close(self) -> None: ...


@dataclass
class Event:
    """One event as the outbox knows it; ``seq`` is None until it is on disk."""

    seq: int | None
    event_id: str
    session_id: str
    type: str
    body: bytes
    created_at: float
    attempts: int
    next_attempt_at: float
    state: str = "pending"
    last_error: str | None = None

    @classmethod
    def of_row(cls, row: tuple[Any, ...]) -> Event:
        seq, event_id, session_id, type_, body, created, attempts, due, state, error = row
        return cls(
            int(seq),
            str(event_id),
            str(session_id),
            str(type_),
            bytes(body),
            float(created),
            int(attempts),
            float(due),
            str(state),
            None if error is None else str(error),
        )


class Outbox:
    def __init__(
        self,
        path: Path,
        control_plane: ControlPlane,
        backoff: Backoff,
        clock: Callable[[], float] = time.time,
        *,
        inline_io: bool = False,
    ) -> None:
        # Opened at start-up, before any interview: the only statements on the caller's thread.
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        self._thread = None if inline_io else writer_thread("outbox")
        self._work = DiskWork("outbox", self._thread, max_queued=MAX_QUEUED_STATEMENTS)
        self._control_plane = control_plane
        self._backoff = backoff
        self._clock = clock
        self._wake = asyncio.Event()
        # Events whose latest state the database has not taken, oldest first.
        self._held: dict[str, Event] = {}
        self._saving = asyncio.Lock()

    async def close(self) -> None:
        await self._save_held()
        if self._held:
            log.error(
                "outbox events could not be saved before shutdown;"
                " their sessions' spool folders report them on the next start",
                extra={"held": len(self._held)},
            )
        try:
            await self._work.close(self._db.close)
        finally:
            if self._thread is not None:
                self._thread.shutdown(wait=False)

    async def enqueue(self, event_id: str, session_id: str, type_: str, body: bytes) -> bool:
        """Store an event; `run` delivers it soon after. Whether it is on disk.

        Raise `OutboxFull` when the database takes no writes and
        `MAX_HELD_EVENTS` are held already.
        """
        if len(self._held) >= MAX_HELD_EVENTS:
            raise OutboxFull(f"{MAX_HELD_EVENTS} events wait for the outbox's disk")
        now = self._clock()
        self._held[event_id] = Event(None, event_id, session_id, type_, body, now, 0, now)
        await self._save_held()
        self._wake.set()
        return event_id not in self._held

    async def backlog(self) -> Backlog:
        events = await self._events("state = 'pending' OR state IN " + repr(DEAD_STATES))
        pending = [event for event in events if event.state == "pending"]
        oldest = min((event.created_at for event in pending), default=None)
        return Backlog(
            len(pending),
            0.0 if oldest is None else self._clock() - oldest,
            sum(event.state in DEAD_STATES for event in events),
            len(self._held),
        )

    async def state_of(self, event_id: str) -> str | None:
        held = self._held.get(event_id)
        if held is not None:
            return held.state
        row = await self._work.call(
            lambda: self._db.execute(
                "SELECT state FROM events WHERE event_id = ?", (event_id,)
            ).fetchone()
        )
        return None if row is None else str(row[0])

    async def run(self) -> None:
        """Deliver events until cancelled."""
        while True:
            self._wake.clear()
            try:
                next_due = await self.deliver_due()
            except Exception:
                # A pass that failed (the database, an unexpected answer) leaves its events
                # pending; the next pass tries again, and no interview waits on it.
                log.exception("event delivery pass failed")
                next_due = None
            delay = IDLE_WAKE_SEC if next_due is None else max(0.0, next_due - self._clock())
            try:
                async with asyncio.timeout(min(delay, IDLE_WAKE_SEC)):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def deliver_due(self) -> float | None:
        """One delivery pass. Returns when the next pending event is due."""
        await self._save_held()
        now = self._clock()
        blocked: set[str] = set()
        next_due: float | None = None
        for event in await self._events("state = 'pending'"):
            if event.state != "pending" or event.session_id in blocked:
                continue
            if event.next_attempt_at > now:
                blocked.add(event.session_id)
                due = event.next_attempt_at
                next_due = due if next_due is None else min(next_due, due)
                continue
            retry_at = await self._attempt(event)
            if retry_at is not None:
                blocked.add(event.session_id)
                next_due = retry_at if next_due is None else min(next_due, retry_at)
        return next_due

    async def _attempt(self, event: Event) -> float | None:
        event.attempts += 1
        try:
            outcome = await self._control_plane.deliver(event.body)
        except ControlPlaneUnavailable as exc:
            return await self._retry_later(event, str(exc))
        extra = {"event_id": event.event_id, "event_type": event.type}
        if outcome is Delivery.ACCEPTED:
            await self._settle(event, "delivered", None)
            log.info("event delivered", extra=extra)
        else:
            await self._settle(event, "rejected", "rejected by the control plane")
            log.error("event rejected", extra=extra)
        return None

    async def _retry_later(self, event: Event, error: str) -> float | None:
        retry_at = self._clock() + self._backoff.delay(event.attempts)
        extra = {"event_id": event.event_id, "event_type": event.type, "attempts": event.attempts}
        if self._backoff.gives_up(event.attempts, retry_at - event.created_at):
            await self._settle(event, "expired", error)
            log.error("event delivery abandoned", extra={**extra, "error": error})
            return None
        event.next_attempt_at = retry_at
        await self._settle(event, "pending", error)
        log.warning("event delivery failed, will retry", extra={**extra, "error": error})
        return retry_at

    async def _settle(self, event: Event, state: str, error: str | None) -> None:
        event.state, event.last_error = state, error
        if event.seq is None and state == "delivered":
            # Delivered before it ever reached the disk: nothing is left to save.
            self._held.pop(event.event_id, None)
            return
        self._held[event.event_id] = event
        await self._save_held()

    # -- the database, on the outbox's thread -----------------------------------

    async def _events(self, where: str) -> list[Event]:
        """Events on disk matching ``where``, as held in memory where it differs; then
        the held events that are not on disk. In delivery order."""
        rows = await self._work.call(
            lambda: self._db.execute(
                f"SELECT {COLUMNS} FROM events WHERE {where} ORDER BY seq"
            ).fetchall()
        )
        held = dict(self._held)
        saved = [held.pop(event.event_id, event) for event in map(Event.of_row, rows)]
        return saved + [event for event in held.values() if event.seq is None]

    async def _save_held(self) -> None:
        """Write what is held, oldest first; keep holding it if the database refuses."""
        async with self._saving:
            if not self._held:
                return
            held = [dataclasses.replace(event) for event in self._held.values()]
            try:
                seqs = await self._work.call(lambda: self._write(held))
            except sqlite3.Error as exc:
                log.error(
                    "the outbox database takes no writes; events are held in memory",
                    extra={"held": len(self._held), "error": str(exc)},
                )
                return
            for event, seq in zip(held, seqs, strict=True):
                current = self._held.get(event.event_id)
                # Saved, unless a delivery attempt changed it meanwhile: then saved next time.
                if current == event:
                    del self._held[event.event_id]
                elif current is not None:
                    current.seq = seq

    def _write(self, events: list[Event]) -> list[int]:
        seqs = []
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            for event in events:
                if event.seq is None:
                    self._db.execute(
                        "INSERT OR IGNORE INTO events (event_id, session_id, type, body,"
                        " created_at, attempts, next_attempt_at, state, last_error)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            event.event_id,
                            event.session_id,
                            event.type,
                            event.body,
                            event.created_at,
                            event.attempts,
                            event.next_attempt_at,
                            event.state,
                            event.last_error,
                        ),
                    )
                    (seq,) = self._db.execute(
                        "SELECT seq FROM events WHERE event_id = ?", (event.event_id,)
                    ).fetchone()
                else:
                    seq = event.seq
                    self._db.execute(
                        "UPDATE events SET state = ?, attempts = ?, next_attempt_at = ?,"
                        " last_error = ? WHERE seq = ?",
                        (
                            event.state,
                            event.attempts,
                            event.next_attempt_at,
                            event.last_error,
                            event.seq,
                        ),
                    )
                seqs.append(int(seq))
        return seqs
