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
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gateway.errors import ControlPlaneUnavailable
from gateway.s2s.controlplane import ControlPlane, Delivery
from zenhire.backoff import Backoff

log = logging.getLogger("zenhire.outbox")

IDLE_WAKE_SEC = 5.0
DEAD_STATES = ("expired", "rejected")
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


@dataclass(frozen=True)
class Backlog:
    pending: int
    oldest_age_sec: float
    dead: int = 0


class Outbox:
    def __init__(
        self,
        path: Path,
        control_plane: ControlPlane,
        backoff: Backoff,
        clock: Callable[[], float] = time.time,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        self._control_plane = control_plane
        self._backoff = backoff
        self._clock = clock
        self._wake = asyncio.Event()

    def close(self) -> None:
        self._db.close()

    def enqueue(self, event_id: str, session_id: str, type_: str, body: bytes) -> None:
        """Store an event durably; `run` delivers it soon after."""
        now = self._clock()
        self._db.execute(
            "INSERT OR IGNORE INTO events (event_id, session_id, type, body, created_at,"
            " next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)",
            (event_id, session_id, type_, body, now, now),
        )
        self._wake.set()

    def backlog(self) -> Backlog:
        row = self._db.execute(
            "SELECT COUNT(*), MIN(created_at) FROM events WHERE state = 'pending'"
        ).fetchone()
        count, oldest = row
        (dead,) = self._db.execute(
            f"SELECT COUNT(*) FROM events WHERE state IN {DEAD_STATES!r}"
        ).fetchone()
        return Backlog(count, self._clock() - oldest if oldest is not None else 0.0, dead)

    def state_of(self, event_id: str) -> str | None:
        row = self._db.execute(
            "SELECT state FROM events WHERE event_id = ?", (event_id,)
        ).fetchone()
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
        now = self._clock()
        rows = self._db.execute(
            "SELECT seq, event_id, session_id, type, body, created_at, attempts, next_attempt_at"
            " FROM events WHERE state = 'pending' ORDER BY seq"
        ).fetchall()
        blocked: set[str] = set()
        next_due: float | None = None
        for seq, event_id, session_id, type_, body, created_at, attempts, raw_due in rows:
            due = float(raw_due)
            if session_id in blocked:
                continue
            if due > now:
                blocked.add(session_id)
                next_due = due if next_due is None else min(next_due, due)
                continue
            retry_at = await self._attempt(seq, event_id, type_, bytes(body), created_at, attempts)
            if retry_at is not None:
                blocked.add(session_id)
                next_due = retry_at if next_due is None else min(next_due, retry_at)
        return next_due

    async def _attempt(
        self, seq: int, event_id: str, type_: str, body: bytes, created_at: float, attempts: int
    ) -> float | None:
        attempts += 1
        try:
            outcome = await self._control_plane.deliver(body)
        except ControlPlaneUnavailable as exc:
            return self._retry_later(seq, event_id, type_, created_at, attempts, str(exc))
        if outcome is Delivery.ACCEPTED:
            self._set_state(seq, "delivered", attempts, None)
            log.info("event delivered", extra={"event_id": event_id, "event_type": type_})
        else:
            self._set_state(seq, "rejected", attempts, "rejected by the control plane")
            log.error("event rejected", extra={"event_id": event_id, "event_type": type_})
        return None

    def _retry_later(
        self, seq: int, event_id: str, type_: str, created_at: float, attempts: int, error: str
    ) -> float | None:
        retry_at = self._clock() + self._backoff.delay(attempts)
        if self._backoff.gives_up(attempts, retry_at - created_at):
            self._set_state(seq, "expired", attempts, error)
            log.error(
                "event delivery abandoned",
                extra={"event_id": event_id, "event_type": type_, "attempts": attempts},
            )
            return None
        self._db.execute(
            "UPDATE events SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE seq = ?",
            (attempts, retry_at, error, seq),
        )
        log.warning(
            "event delivery failed, will retry",
            extra={"event_id": event_id, "event_type": type_, "attempts": attempts},
        )
        return retry_at

    def _set_state(self, seq: int, state: str, attempts: int, error: str | None) -> None:
        self._db.execute(
            "UPDATE events SET state = ?, attempts = ?, last_error = ? WHERE seq = ?",
            (state, attempts, error, seq),
        )
