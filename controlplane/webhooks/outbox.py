"""Webhook endpoints and their deliveries, durable in the control plane's SQLite.

A delivery is one event for one endpoint; it keeps its ``webhook-id`` across
attempts, so a receiver can deduplicate. Deliveries for the same endpoint and
session form a queue: only its oldest pending delivery (the head) is due, so
a session's events arrive in the order they happened, even across retries.
`enqueue` runs inside the transaction that changes the session, so an event
is recorded if and only if the change is.
"""

from __future__ import annotations

import enum
import json
import sqlite3
import uuid
from dataclasses import dataclass
from typing import Any

from controlplane.clock import parse_timestamp
from controlplane.store import Store

MESSAGE_PREFIX = "msg_"


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # retries exhausted; a manual retry may revive it


class WebhookEvent(enum.StrEnum):
    STARTED = "session.started"
    COMPLETED = "session.completed"
    FAILED = "session.failed"
    EXPIRED = "session.expired"
    ARTIFACTS_DELETED = "session.artifacts_deleted"


ALL_EVENTS = tuple(event.value for event in WebhookEvent)


@dataclass(frozen=True)
class Webhook:
    id: str
    client_id: str
    url: str
    events: tuple[str, ...]
    description: str | None
    secret: str
    previous_secret: str | None
    previous_secret_until: str | None
    created_at: str

    def signing_secrets(self, now: str) -> tuple[str, ...]:
        """The current secret, and the previous one while its overlap lasts."""
        if self.previous_secret and self.previous_secret_until and now < self.previous_secret_until:
            return (self.secret, self.previous_secret)
        return (self.secret,)


@dataclass(frozen=True)
class Attempt:
    number: int
    attempted_at: str
    status_code: int | None
    error: str | None
    duration_ms: int


@dataclass(frozen=True)
class Delivery:
    seq: int
    id: str
    webhook_id: str
    session_id: str
    event_type: str
    body: str
    status: DeliveryStatus
    attempts: int
    created_at: str
    first_attempt_at: str | None
    next_attempt_at: str

    def age_sec(self, now: str) -> float:
        """Seconds since the first attempt of the current schedule."""
        start = parse_timestamp(self.first_attempt_at or now)
        return (parse_timestamp(now) - start).total_seconds()


_HEAD = (
    "d.status = 'pending' AND w.deleted = 0 AND d.seq = (SELECT MIN(h.seq) FROM deliveries h"
    " WHERE h.webhook_id = d.webhook_id AND h.session_id = d.session_id"
    " AND h.status = 'pending')"
)


class Outbox:
    """Typed queries over the ``webhooks``, ``deliveries`` and ``delivery_attempts`` tables."""

    def __init__(self, store: Store) -> None:
        self._store = store

    # Endpoints

    def add(self, webhook: Webhook) -> None:
        self._store.execute(
            "INSERT INTO webhooks (id, client_id, url, events, description, secret, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                webhook.id,
                webhook.client_id,
                webhook.url,
                json.dumps(list(webhook.events)),
                webhook.description,
                webhook.secret,
                webhook.created_at,
            ],
        )

    def webhook(self, webhook_id: str) -> Webhook | None:
        row = self._store.fetch_one(
            "SELECT * FROM webhooks WHERE id = ? AND deleted = 0", [webhook_id]
        )
        return None if row is None else _webhook(row)

    def webhooks_of(self, client_id: str) -> list[Webhook]:
        rows = self._store.fetch_all(
            "SELECT * FROM webhooks WHERE client_id = ? AND deleted = 0 ORDER BY created_at, id",
            [client_id],
        )
        return [_webhook(row) for row in rows]

    def remove(self, webhook_id: str) -> None:
        """Stop the endpoint; its pending deliveries stay, never attempted again."""
        self._store.execute("UPDATE webhooks SET deleted = 1 WHERE id = ?", [webhook_id])

    def rotate(self, webhook_id: str, secret: str, previous: str, until: str) -> None:
        self._store.execute(
            "UPDATE webhooks SET secret = ?, previous_secret = ?, previous_secret_until = ?"
            " WHERE id = ?",
            [secret, previous, until, webhook_id],
        )

    # Deliveries

    def enqueue(self, client_id: str, event: WebhookEvent, body: dict[str, Any], now: str) -> int:
        """A delivery of ``body`` to every endpoint of the client that takes ``event``."""
        text = json.dumps(body, separators=(",", ":"))
        count = 0
        for webhook in self.webhooks_of(client_id):
            if event.value not in webhook.events:
                continue
            self._store.execute(
                "INSERT INTO deliveries (id, webhook_id, session_id, event_type, body, status,"
                " created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)",
                [
                    MESSAGE_PREFIX + uuid.uuid4().hex,
                    webhook.id,
                    body["data"]["id"],
                    event.value,
                    text,
                    now,
                    now,
                ],
            )
            count += 1
        return count

    def due(self, now: str, limit: int) -> list[Delivery]:
        """Heads of their queues whose next attempt is due, oldest first."""
        rows = self._store.fetch_all(
            f"SELECT d.* FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE {_HEAD}"
            " AND d.next_attempt_at <= ? ORDER BY d.next_attempt_at, d.seq LIMIT ?",
            [now, limit],
        )
        return [_delivery(row) for row in rows]

    def next_due_at(self, excluding: set[str]) -> str | None:
        """When the earliest head not in ``excluding`` (those in flight) is due."""
        rows = self._store.fetch_all(
            "SELECT d.id, d.next_attempt_at FROM deliveries d"
            f" JOIN webhooks w ON w.id = d.webhook_id WHERE {_HEAD}"
            " ORDER BY d.next_attempt_at LIMIT ?",
            [len(excluding) + 1],
        )
        for row in rows:
            if row["id"] not in excluding:
                due: str = row["next_attempt_at"]
                return due
        return None

    def delivery(self, delivery_id: str) -> Delivery | None:
        row = self._store.fetch_one("SELECT * FROM deliveries WHERE id = ?", [delivery_id])
        return None if row is None else _delivery(row)

    def deliveries_of(self, webhook_id: str, before_seq: int | None, limit: int) -> list[Delivery]:
        """The endpoint's deliveries, newest first, older than ``before_seq``."""
        rows = self._store.fetch_all(
            "SELECT * FROM deliveries WHERE webhook_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
            [webhook_id, before_seq if before_seq is not None else 2**62, limit],
        )
        return [_delivery(row) for row in rows]

    def attempts_of(self, delivery_id: str) -> list[Attempt]:
        rows = self._store.fetch_all(
            "SELECT * FROM delivery_attempts WHERE delivery_id = ? ORDER BY number",
            [delivery_id],
        )
        return [
            Attempt(
                number=row["number"],
                attempted_at=row["attempted_at"],
                status_code=row["status_code"],
                error=row["error"],
                duration_ms=row["duration_ms"],
            )
            for row in rows
        ]

    def record(
        self, delivery: Delivery, attempt: Attempt, status: DeliveryStatus, next_at: str | None
    ) -> None:
        """Store one attempt and the delivery's state after it."""
        with self._store.transaction():
            self._store.execute(
                "INSERT INTO delivery_attempts (delivery_id, number, attempted_at, status_code,"
                " error, duration_ms) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    delivery.id,
                    attempt.number,
                    attempt.attempted_at,
                    attempt.status_code,
                    attempt.error,
                    attempt.duration_ms,
                ],
            )
            self._store.execute(
                "UPDATE deliveries SET status = ?, attempts = ?, next_attempt_at = ?,"
                " first_attempt_at = COALESCE(first_attempt_at, ?) WHERE id = ?",
                [
                    status.value,
                    attempt.number,
                    next_at or delivery.next_attempt_at,
                    attempt.attempted_at,
                    delivery.id,
                ],
            )

    def retry(self, delivery_id: str, now: str) -> None:
        """Make the delivery due now, on a fresh schedule."""
        self._store.execute(
            "UPDATE deliveries SET status = 'pending', next_attempt_at = ?, first_attempt_at = NULL"
            " WHERE id = ?",
            [now, delivery_id],
        )


def _webhook(row: sqlite3.Row) -> Webhook:
    return Webhook(
        id=row["id"],
        client_id=row["client_id"],
        url=row["url"],
        events=tuple(json.loads(row["events"])),
        description=row["description"],
        secret=row["secret"],
        previous_secret=row["previous_secret"],
        previous_secret_until=row["previous_secret_until"],
        created_at=row["created_at"],
    )


def _delivery(row: sqlite3.Row) -> Delivery:
    return Delivery(
        seq=row["seq"],
        id=row["id"],
        webhook_id=row["webhook_id"],
        session_id=row["session_id"],
        event_type=row["event_type"],
        body=row["body"],
        status=DeliveryStatus(row["status"]),
        attempts=row["attempts"],
        created_at=row["created_at"],
        first_attempt_at=row["first_attempt_at"],
        next_attempt_at=row["next_attempt_at"],
    )


def event_body(event: WebhookEvent, session: dict[str, Any], now: str) -> dict[str, Any]:
    """The Standard Webhooks payload: ``{type, timestamp, data}``."""
    return {"type": event.value, "timestamp": now, "data": session}
