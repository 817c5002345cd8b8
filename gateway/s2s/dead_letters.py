"""Dead letters of the S2S outbox: events that were never accepted, and their re-drive.

An operator lists them and, once the cause is mended (the control plane
back, a secret fixed), sends them again: re-driving makes an event pending
with a fresh age bound and no attempts, and the running gateway delivers it
within `gateway.s2s.outbox.IDLE_WAKE_SEC` (the outbox file is SQLite in WAL
mode, so this works beside a running gateway). ``zenhire gateway outbox``
is the command.

With Redis (``ZENHIRE_REDIS_URL``), the dead letters of every replica are in
Redis (`StreamDeadLetters`, `gateway.s2s.stream`); a re-driven one goes back
in the stream, and whichever replica is alive delivers it. Each replica's
local outbox may hold dead letters too (events Redis could not take):
`dead_letter_boxes` is both, as the command shows them.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from redis import Redis

from gateway.s2s.outbox import DEAD_STATES
from gateway.s2s.stream import DeadLetterStream
from gateway.settings import Settings
from zenhire.timestamps import iso

REDIS_TIMEOUT_SEC = 5.0


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


class DeadLetterBox(Protocol):
    def letters(self) -> list[DeadLetter]: ...

    def redrive(self, event_ids: Sequence[str] | None = None) -> int: ...


class StreamDeadLetters:
    """The dead letters in Redis. Raise `StateStoreUnavailable` when Redis is unreachable."""

    def __init__(self, url: str) -> None:
        self._redis = Redis.from_url(
            url,
            decode_responses=True,
            socket_connect_timeout=REDIS_TIMEOUT_SEC,
            socket_timeout=REDIS_TIMEOUT_SEC,
        )
        self._stream = DeadLetterStream(self._redis)

    def letters(self) -> list[DeadLetter]:
        return [
            DeadLetter(
                x.event_id,
                x.session_id,
                x.type,
                x.state,
                x.attempts,
                iso(x.created_at),
                x.last_error,
            )
            for x in self._stream.letters()
        ]

    def redrive(self, event_ids: Sequence[str] | None = None) -> int:
        """Put these dead letters (all of them for ``None``) back in the stream; how many."""
        chosen = [x.event_id for x in self._stream.letters()] if event_ids is None else event_ids
        return self._stream.redrive(list(chosen), time.time())


def dead_letter_boxes(settings: Settings) -> list[DeadLetterBox]:
    """Where ``zenhire gateway outbox`` looks: this replica's outbox file and, with
    Redis, the stream's dead letters (then the file may be on another host)."""
    url = settings.operations.redis_url
    path = settings.outbox_path
    boxes: list[DeadLetterBox] = []
    if url is None or path.exists():
        boxes.append(DeadLetters(path))
    if url is not None:
        boxes.append(StreamDeadLetters(url))
    return boxes
