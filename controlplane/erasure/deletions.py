"""Deletion records: one per erased session, with the receipt of what went where."""

from __future__ import annotations

import enum
import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from controlplane.store import Store


class DeletionStatus(enum.StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"
    FAILED = "failed"  # the gateway could not be reached for the whole retry schedule


class DeletionReason(enum.StrEnum):
    REQUEST = "request"  # DELETE /sessions/{id}/artifacts
    RETENTION = "retention"  # the client's retention_days ran out


@dataclass(frozen=True)
class Deletion:
    id: str
    session_id: str
    client_id: str
    reason: DeletionReason
    status: DeletionStatus
    attempts: int
    requested_at: str
    next_attempt_at: str
    completed_at: str | None
    receipt: dict[str, Any] | None
    error: str | None


class Deletions:
    """Typed queries over the ``deletions`` table."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def add(self, deletion: Deletion) -> None:
        self._store.execute(
            "INSERT INTO deletions (id, session_id, client_id, reason, status, requested_at,"
            " next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                deletion.id,
                deletion.session_id,
                deletion.client_id,
                deletion.reason.value,
                deletion.status.value,
                deletion.requested_at,
                deletion.next_attempt_at,
            ],
        )

    def get(self, deletion_id: str) -> Deletion | None:
        row = self._store.fetch_one("SELECT * FROM deletions WHERE id = ?", [deletion_id])
        return None if row is None else _deletion(row)

    def for_session(self, session_id: str) -> Deletion | None:
        row = self._store.fetch_one("SELECT * FROM deletions WHERE session_id = ?", [session_id])
        return None if row is None else _deletion(row)

    def due(self, now: str) -> list[Deletion]:
        rows = self._store.fetch_all(
            "SELECT * FROM deletions WHERE status = 'pending' AND next_attempt_at <= ?"
            " ORDER BY next_attempt_at",
            [now],
        )
        return [_deletion(row) for row in rows]

    def next_due_at(self) -> str | None:
        row = self._store.fetch_one(
            "SELECT MIN(next_attempt_at) AS due FROM deletions WHERE status = 'pending'"
        )
        return None if row is None else row["due"]

    def retry_later(self, deletion: Deletion, next_at: str, error: str) -> None:
        self._store.execute(
            "UPDATE deletions SET attempts = attempts + 1, next_attempt_at = ?, error = ?"
            " WHERE id = ?",
            [next_at, error, deletion.id],
        )

    def fail(self, deletion: Deletion, error: str) -> None:
        self._store.execute(
            "UPDATE deletions SET attempts = attempts + 1, status = 'failed', error = ?"
            " WHERE id = ?",
            [error, deletion.id],
        )

    def complete(self, deletion: Deletion, completed_at: str, receipt: dict[str, Any]) -> None:
        self._store.execute(
            "UPDATE deletions SET attempts = attempts + 1, status = 'completed',"
            " completed_at = ?, receipt = ?, error = NULL WHERE id = ?",
            [completed_at, json.dumps(receipt), deletion.id],
        )


def _deletion(row: sqlite3.Row) -> Deletion:
    return Deletion(
        id=row["id"],
        session_id=row["session_id"],
        client_id=row["client_id"],
        reason=DeletionReason(row["reason"]),
        status=DeletionStatus(row["status"]),
        attempts=row["attempts"],
        requested_at=row["requested_at"],
        next_attempt_at=row["next_attempt_at"],
        completed_at=row["completed_at"],
        receipt=None if row["receipt"] is None else json.loads(row["receipt"]),
        error=row["error"],
    )
