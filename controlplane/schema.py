"""The control plane's SQLite schema, and the upgrade of databases made by older releases."""

from __future__ import annotations

import sqlite3

SCHEMA = """
CREATE TABLE IF NOT EXISTS clients (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    api_key_hash TEXT NOT NULL UNIQUE,
    interview_permission INTEGER NOT NULL,
    credit_balance INTEGER NOT NULL,
    max_concurrent INTEGER NOT NULL DEFAULT 2,
    max_duration_sec INTEGER NOT NULL DEFAULT 1800,
    created_at TEXT NOT NULL,
    retention_days INTEGER
);
CREATE TABLE IF NOT EXISTS personas (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES clients (id),
    role_name TEXT NOT NULL,
    language TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    questions TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS personas_by_client ON personas (client_id, created_at);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES clients (id),
    persona_id TEXT NOT NULL REFERENCES personas (id),
    token_hash TEXT NOT NULL UNIQUE,
    token_expires_at TEXT NOT NULL,
    status TEXT NOT NULL,
    consent_mode TEXT NOT NULL,
    candidate_ref TEXT,
    duration_sec INTEGER,
    credit_charged INTEGER NOT NULL DEFAULT 0,
    recording_key TEXT,
    transcript_key TEXT,
    error_code TEXT,
    error_message TEXT,
    created_at TEXT NOT NULL,
    started_at TEXT,
    completed_at TEXT,
    ended_at TEXT,
    extra_time_pct INTEGER NOT NULL DEFAULT 0,
    credit_reserved INTEGER NOT NULL DEFAULT 0,
    reinvited_from TEXT,
    artifacts_deleted_at TEXT,
    project_id TEXT,
    rating_score INTEGER,
    rating_comment TEXT,
    rated_at TEXT
);
CREATE INDEX IF NOT EXISTS sessions_by_client ON sessions (client_id, created_at, id);
CREATE INDEX IF NOT EXISTS sessions_by_status ON sessions (status, token_expires_at);
CREATE INDEX IF NOT EXISTS sessions_by_project ON sessions (client_id, project_id, created_at);
CREATE TABLE IF NOT EXISTS projects (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES clients (id),
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (client_id, name)
);
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES clients (id),
    project_id TEXT REFERENCES projects (id),
    key_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX IF NOT EXISTS api_keys_by_client ON api_keys (client_id);
CREATE TABLE IF NOT EXISTS events (
    event_id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id),
    type TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    received_at TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS webhooks (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES clients (id),
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    description TEXT,
    secret TEXT NOT NULL,
    previous_secret TEXT,
    previous_secret_until TEXT,
    created_at TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS webhooks_by_client ON webhooks (client_id, created_at);
CREATE TABLE IF NOT EXISTS deliveries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    webhook_id TEXT NOT NULL REFERENCES webhooks (id),
    session_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    first_attempt_at TEXT,
    next_attempt_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (status, next_attempt_at);
CREATE INDEX IF NOT EXISTS deliveries_by_queue ON deliveries (webhook_id, session_id, status, seq);
CREATE TABLE IF NOT EXISTS delivery_attempts (
    delivery_id TEXT NOT NULL REFERENCES deliveries (id),
    number INTEGER NOT NULL,
    attempted_at TEXT NOT NULL,
    status_code INTEGER,
    error TEXT,
    duration_ms INTEGER NOT NULL,
    PRIMARY KEY (delivery_id, number)
);
CREATE TABLE IF NOT EXISTS deletions (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL UNIQUE REFERENCES sessions (id),
    client_id TEXT NOT NULL REFERENCES clients (id),
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    requested_at TEXT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    completed_at TEXT,
    receipt TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS deletions_due ON deletions (status, next_attempt_at);
"""

# Columns added after a table's first release: (table, column, declaration).
# `Store.open` adds the missing ones to a database made by an older release.
ADDED_COLUMNS = (
    ("clients", "retention_days", "INTEGER"),
    ("personas", "questions", "TEXT NOT NULL DEFAULT '[]'"),
    ("sessions", "extra_time_pct", "INTEGER NOT NULL DEFAULT 0"),
    ("sessions", "credit_reserved", "INTEGER NOT NULL DEFAULT 0"),
    ("sessions", "reinvited_from", "TEXT"),
    ("sessions", "artifacts_deleted_at", "TEXT"),
    ("sessions", "project_id", "TEXT"),
    ("sessions", "rating_score", "INTEGER"),
    ("sessions", "rating_comment", "TEXT"),
    ("sessions", "rated_at", "TEXT"),
)

# A client made before `api_keys` existed holds its one key in
# `clients.api_key_hash`; it becomes that client's key without a project. The
# column stays (NOT NULL UNIQUE in old files) and holds each client's first
# key's digest, but only `api_keys` authenticates.
LEGACY_KEYS = """
INSERT INTO api_keys (id, client_id, project_id, key_hash, created_at)
SELECT 'key-' || id, id, NULL, api_key_hash, created_at FROM clients
WHERE api_key_hash NOT IN (SELECT key_hash FROM api_keys)
"""


def migrate(connection: sqlite3.Connection) -> None:
    """Bring the database up to `SCHEMA`, adding the `ADDED_COLUMNS` it lacks."""
    for table, column, declaration in ADDED_COLUMNS:
        present = {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}
        if present and column not in present:
            connection.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
    connection.executescript(SCHEMA)
    connection.execute(LEGACY_KEYS)
