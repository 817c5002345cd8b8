"""Dead letters of the S2S outbox: events that were never accepted, and their re-drive.

An operator lists them and, once the cause is mended (the control plane
back, a secret fixed), sends them again: re-driving makes an event pending
with a fresh age bound and no attempts, and the running gateway delivers it
within `gateway.s2s.outbox.IDLE_WAKE_SEC` (the outbox file is SQLite in WAL
mode, so this works beside a running gateway). ``zenhire gateway outbox``
is the command.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gateway.s2s.outbox import DEAD_STATES
from zenhire.timestamps import iso


@dataclass(frozen=True)
class DeadLetter:
    event_id: str
    session_id: str
    type: str
    state: str
    attempts: int
    created_at: str
    last_error: str | None


class DeadLetters:
    def __init__(self, path: Path) -> None:
        if not path.exists():
            raise FileNotFoundError(f"no outbox at {path}")
        self._path = path

    def letters(self) -> list[DeadLetter]:
        with sqlite3.connect(self._path) as db:
            rows = db.execute(
                "SELECT event_id, session_id, type, state, attempts, created_at, last_error"
                f" FROM events WHERE state IN {DEAD_STATES!r} ORDER BY seq"
            ).fetchall()
        return [
            DeadLetter(event, session, type_, state, attempts, iso(created), error)
            for event, session, type_, state, attempts, created, error in rows
        ]

    def redrive(self, event_ids: Sequence[str] | None = None) -> int:
        """Make these dead letters (all of them for ``None``) pending again; how many."""
        now = time.time()
        where = f"state IN {DEAD_STATES!r}"
        params: list[object] = [now, now]
        if event_ids is not None:
            where += f" AND event_id IN ({','.join('?' * len(event_ids))})"
            params.extend(event_ids)
        with sqlite3.connect(self._path) as db:
            changed = db.execute(
                "UPDATE events SET state = 'pending', attempts = 0, created_at = ?,"
                f" next_attempt_at = ?, last_error = NULL WHERE {where}",
                params,
            ).rowcount
        return int(changed)
