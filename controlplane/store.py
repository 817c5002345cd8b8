"""SQLite storage of clients, personas, sessions and received S2S events.

The schema of every table is in `controlplane.schema`; the queries of API
keys and projects, webhooks and deletions live beside their records
(`controlplane.keys`, `controlplane.webhooks.outbox`,
`controlplane.erasure.deletions`) and run through `Store.execute`.

Concurrency model: the server owns one connection, opened in the app's
lifespan with ``check_same_thread=False`` and used directly from the event
loop. Every handler runs its queries without awaiting in between, so no two
requests interleave inside a transaction; the queries are sub-millisecond
point lookups on a local file, which keeps running them inline cheaper and
simpler than hopping to a thread per query. Other processes (``zenhire``'s
admin commands) open their own connection to the same file: the database is in
WAL mode with a busy timeout, and writes use ``BEGIN IMMEDIATE`` so a writer
waits for the lock up front instead of failing on a stale read snapshot.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from controlplane.errors import StoreError
from controlplane.records import (
    CandidateRating,
    Client,
    ConsentMode,
    Persona,
    Question,
    Session,
    SessionError,
    SessionStatus,
)
from controlplane.schema import migrate

BUSY_TIMEOUT_MS = 5_000

_CLIENT_COLUMNS = (
    "id, name, interview_permission, credit_balance, max_concurrent, max_duration_sec,"
    " retention_days"
)


class Store:
    """Typed queries over one SQLite connection; see the module docstring."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection

    @classmethod
    def open(cls, path: Path) -> Store:
        """Open (creating if needed) the database at ``path``."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            connection.row_factory = sqlite3.Row
            connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA foreign_keys = ON")
            migrate(connection)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the database at {path}: {exc}") from exc
        return cls(connection)

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run the block's writes atomically (``BEGIN IMMEDIATE`` … ``COMMIT``)."""
        self._execute("BEGIN IMMEDIATE")
        try:
            yield
            self._execute("COMMIT")
        except BaseException:
            self._db.rollback()
            raise

    def _execute(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        try:
            return self._db.execute(sql, params)
        except sqlite3.Error as exc:
            raise StoreError(f"query failed: {exc}") from exc

    def _one(self, sql: str, params: tuple[Any, ...]) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self._execute(sql, params).fetchone()
        return row

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one write; the number of rows it changed."""
        return self._execute(sql, tuple(params)).rowcount

    def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        return self._one(sql, tuple(params))

    def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        rows: list[sqlite3.Row] = self._execute(sql, tuple(params)).fetchall()
        return rows

    # Clients

    def add_client(self, client: Client, api_key_hash: str, created_at: str) -> None:
        self._execute(
            "INSERT INTO clients (id, name, api_key_hash, interview_permission, credit_balance,"
            " max_concurrent, max_duration_sec, created_at, retention_days)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                client.id,
                client.name,
                api_key_hash,
                int(client.interview_permission),
                client.credit_balance,
                client.max_concurrent,
                client.max_duration_sec,
                created_at,
                client.retention_days,
            ),
        )

    def client(self, client_id: str) -> Client | None:
        row = self._one(f"SELECT {_CLIENT_COLUMNS} FROM clients WHERE id = ?", (client_id,))
        return None if row is None else _client(row)

    def clients_with_retention(self) -> list[Client]:
        rows = self.fetch_all(
            f"SELECT {_CLIENT_COLUMNS} FROM clients WHERE retention_days IS NOT NULL"
        )
        return [_client(row) for row in rows]

    def charge(self, client_id: str, credits: int) -> None:
        """Deduct ``credits`` from the balance (a negative amount refunds)."""
        self._execute(
            "UPDATE clients SET credit_balance = credit_balance - ? WHERE id = ?",
            (credits, client_id),
        )

    # Personas

    def add_persona(self, persona: Persona) -> None:
        self._execute(
            "INSERT INTO personas (id, client_id, role_name, language, status, created_at,"
            " questions) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                persona.id,
                persona.client_id,
                persona.role_name,
                persona.language,
                persona.status,
                persona.created_at,
                json.dumps([question.__dict__ for question in persona.questions]),
            ),
        )

    def persona(self, persona_id: str) -> Persona | None:
        row = self._one("SELECT * FROM personas WHERE id = ?", (persona_id,))
        return None if row is None else _persona(row)

    def personas_of(self, client_id: str) -> list[Persona]:
        rows = self._execute(
            "SELECT * FROM personas WHERE client_id = ? ORDER BY created_at, id", (client_id,)
        ).fetchall()
        return [_persona(row) for row in rows]

    # Sessions

    def add_session(self, session: Session, token_hash: str) -> None:
        self._execute(
            "INSERT INTO sessions (id, client_id, persona_id, token_hash, token_expires_at,"
            " status, consent_mode, candidate_ref, created_at, extra_time_pct, reinvited_from,"
            " project_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                session.id,
                session.client_id,
                session.persona_id,
                token_hash,
                session.token_expires_at,
                session.status.value,
                session.consent_mode.value,
                session.candidate_ref,
                session.created_at,
                session.extra_time_pct,
                session.reinvited_from,
                session.project_id,
            ),
        )

    def session(self, session_id: str) -> Session | None:
        row = self._one("SELECT * FROM sessions WHERE id = ?", (session_id,))
        return None if row is None else _session(row)

    def session_by_token_hash(self, token_hash: str) -> Session | None:
        row = self._one("SELECT * FROM sessions WHERE token_hash = ?", (token_hash,))
        return None if row is None else _session(row)

    def sessions_of(
        self,
        client_id: str,
        *,
        filters: dict[str, str],
        after: tuple[str, str] | None,
        limit: int,
    ) -> list[Session]:
        """The client's sessions, newest first, matching ``filters`` (column = value).

        ``after`` is the ``(created_at, id)`` of the last session of the previous page.
        """
        where = ["client_id = ?"]
        params: list[Any] = [client_id]
        for column, value in sorted(filters.items()):
            assert column in _SESSION_FILTERS, column
            where.append(f"{column} = ?")
            params.append(value)
        if after is not None:
            where.append("(created_at < ? OR (created_at = ? AND id < ?))")
            params.extend([after[0], after[0], after[1]])
        rows = self.fetch_all(
            f"SELECT * FROM sessions WHERE {' AND '.join(where)}"
            " ORDER BY created_at DESC, id DESC LIMIT ?",
            [*params, limit],
        )
        return [_session(row) for row in rows]

    def sessions_expiring(self, now: str) -> list[Session]:
        """``initiated`` sessions whose token expired before ``now``."""
        rows = self.fetch_all(
            "SELECT * FROM sessions WHERE status = 'initiated' AND token_expires_at <= ?",
            [now],
        )
        return [_session(row) for row in rows]

    def sessions_to_retire(self, client_id: str, ended_before: str) -> list[Session]:
        """The client's ended sessions with artifacts, ended before ``ended_before``,
        and not yet erased."""
        rows = self.fetch_all(
            "SELECT * FROM sessions WHERE client_id = ? AND artifacts_deleted_at IS NULL"
            " AND (recording_key IS NOT NULL OR transcript_key IS NOT NULL)"
            " AND ended_at IS NOT NULL AND ended_at < ?",
            [client_id, ended_before],
        )
        return [_session(row) for row in rows]

    def save_session(self, session: Session) -> None:
        """Write back the columns that events and the lifecycle change."""
        error = session.error
        rating = session.rating
        self._execute(
            "UPDATE sessions SET status = ?, duration_sec = ?, credit_charged = ?,"
            " recording_key = ?, transcript_key = ?, error_code = ?, error_message = ?,"
            " started_at = ?, completed_at = ?, ended_at = ?, credit_reserved = ?,"
            " artifacts_deleted_at = ?, rating_score = ?, rating_comment = ?, rated_at = ?"
            " WHERE id = ?",
            (
                session.status.value,
                session.duration_sec,
                session.credit_charged,
                session.recording_key,
                session.transcript_key,
                None if error is None else error.code,
                None if error is None else error.message,
                session.started_at,
                session.completed_at,
                session.ended_at,
                session.credit_reserved,
                session.artifacts_deleted_at,
                None if rating is None else rating.score,
                None if rating is None else rating.comment,
                None if rating is None else rating.rated_at,
                session.id,
            ),
        )

    # Events

    def event_seen(self, event_id: str) -> bool:
        return self._one("SELECT 1 FROM events WHERE event_id = ?", (event_id,)) is not None

    def add_event(
        self,
        event_id: str,
        session_id: str,
        type_: str,
        occurred_at: str,
        received_at: str,
        data_json: str,
    ) -> None:
        self._execute(
            "INSERT INTO events (event_id, session_id, type, occurred_at, received_at, data)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (event_id, session_id, type_, occurred_at, received_at, data_json),
        )


_SESSION_FILTERS = frozenset({"persona_id", "status", "candidate_ref", "project_id"})


def _client(row: sqlite3.Row) -> Client:
    return Client(
        id=row["id"],
        name=row["name"],
        interview_permission=bool(row["interview_permission"]),
        credit_balance=row["credit_balance"],
        max_concurrent=row["max_concurrent"],
        max_duration_sec=row["max_duration_sec"],
        retention_days=row["retention_days"],
    )


def _persona(row: sqlite3.Row) -> Persona:
    return Persona(
        id=row["id"],
        client_id=row["client_id"],
        role_name=row["role_name"],
        language=row["language"],
        status=row["status"],
        created_at=row["created_at"],
        questions=tuple(Question(**question) for question in json.loads(row["questions"])),
    )


def _session(row: sqlite3.Row) -> Session:
    error = (
        None
        if row["error_code"] is None
        else SessionError(code=row["error_code"], message=row["error_message"] or "")
    )
    return Session(
        id=row["id"],
        client_id=row["client_id"],
        persona_id=row["persona_id"],
        status=SessionStatus(row["status"]),
        consent_mode=ConsentMode(row["consent_mode"]),
        candidate_ref=row["candidate_ref"],
        token_expires_at=row["token_expires_at"],
        duration_sec=row["duration_sec"],
        credit_charged=row["credit_charged"],
        recording_key=row["recording_key"],
        transcript_key=row["transcript_key"],
        error=error,
        created_at=row["created_at"],
        started_at=row["started_at"],
        completed_at=row["completed_at"],
        ended_at=row["ended_at"],
        extra_time_pct=row["extra_time_pct"],
        credit_reserved=row["credit_reserved"],
        reinvited_from=row["reinvited_from"],
        artifacts_deleted_at=row["artifacts_deleted_at"],
        project_id=row["project_id"],
        rating=_rating(row),
    )


def _rating(row: sqlite3.Row) -> CandidateRating | None:
    if row["rating_score"] is None:
        return None
    return CandidateRating(row["rating_score"], row["rating_comment"], row["rated_at"])
