"""A replica's local copies of the events it put in the Redis stream, kept until
Redis says they were delivered.

Redis restarted without its data (no persistence, a failover to an empty
replica, a FLUSHALL) loses every undelivered event in the stream. The
replica that enqueued an event keeps a copy here, in a SQLite file of its
own (``ZENHIRE_DATA_DIR``, named by its replica id), and compares the copies
with Redis now and then (`gateway.s2s.redis_outbox`): a copy Redis no longer
knows is added again; one Redis knows as delivered is dropped. A copy added
again may be an event the control plane already took before Redis forgot
it: it is delivered again and ignored there (events are idempotent on
``event_id``).

Like the SQLite outbox, every statement runs on the journal's own thread.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from gateway.disk import DiskWork, writer_thread

# Statements waiting for the journal's thread; only a few are ever in flight.
MAX_QUEUED_STATEMENTS = 1_000
SCHEMA = """
CREATE TABLE IF NOT EXISTS copies (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    session_id TEXT NOT NULL,
    type TEXT NOT NULL,
    body BLOB NOT NULL,
    created_at REAL NOT NULL
);
"""


@dataclass(frozen=True)
class Copy:
    event_id: str
    session_id: str
    type: str
    body: bytes
    created_at: float


class Journal:
    def __init__(self, path: Path, *, inline_io: bool = False) -> None:
        # Opened at start-up, before any interview: the only statements on the caller's thread.
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        self._thread = None if inline_io else writer_thread("outbox-journal")
        self._work = DiskWork("outbox journal", self._thread, max_queued=MAX_QUEUED_STATEMENTS)

    async def close(self) -> None:
        try:
            await self._work.close(self._db.close)
        finally:
            if self._thread is not None:
                self._thread.shutdown(wait=False)

    async def keep(self, copy: Copy) -> None:
        """Write a copy; raise `sqlite3.Error` when the file takes no writes."""
        await self._work.call(lambda: self._insert(copy))

    async def copies(self) -> list[Copy]:
        """Every copy, in the order they were kept."""
        rows = await self._work.call(
            lambda: self._db.execute(
                "SELECT event_id, session_id, type, body, created_at FROM copies ORDER BY seq"
            ).fetchall()
        )
        return [Copy(str(e), str(s), str(t), bytes(b), float(c)) for e, s, t, b, c in rows]

    async def drop(self, event_ids: list[str]) -> None:
        if event_ids:
            await self._work.call(lambda: self._delete(event_ids))

    def _insert(self, copy: Copy) -> None:
        with self._db:
            self._db.execute(
                "INSERT OR IGNORE INTO copies (event_id, session_id, type, body, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (copy.event_id, copy.session_id, copy.type, copy.body, copy.created_at),
            )

    def _delete(self, event_ids: list[str]) -> None:
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("DELETE FROM copies WHERE event_id = ?", [(e,) for e in event_ids])
