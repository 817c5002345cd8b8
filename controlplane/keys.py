"""A client's API keys and projects, and the queries over their tables.

A client has any number of keys and of projects. A key belongs to its
client and to at most one of that client's projects; a session started
with a key records the key's project (`Session.project_id`), and every key
of a client sees all of the client's sessions. Projects are named per
client (``UNIQUE (client_id, name)``) and made the first time a key names
one. A key is stored as its SHA-256 digest and looked up by it; revoking a
key sets ``revoked_at``, and `controlplane.access` refuses it on the next
request, since nothing caches keys.
"""

from __future__ import annotations

import sqlite3
import uuid

from controlplane.records import ApiKey
from controlplane.store import Store

MAX_PROJECT_NAME_CHARS = 100


def project_name(raw: str) -> str:
    """``raw`` stripped; raise `ValueError` if empty or longer than the limit."""
    name = raw.strip()
    if not name:
        raise ValueError("the project name must not be empty")
    if len(name) > MAX_PROJECT_NAME_CHARS:
        raise ValueError(f"the project name exceeds {MAX_PROJECT_NAME_CHARS} characters")
    return name


class Keys:
    """Typed queries over ``api_keys`` and ``projects``, through one `Store`."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def project(self, client_id: str, name: str, created_at: str) -> str:
        """The id of the client's project called ``name``, made if it is new."""
        row = self._store.fetch_one(
            "SELECT id FROM projects WHERE client_id = ? AND name = ?", (client_id, name)
        )
        if row is not None:
            project_id: str = row["id"]
            return project_id
        project_id = str(uuid.uuid4())
        self._store.execute(
            "INSERT INTO projects (id, client_id, name, created_at) VALUES (?, ?, ?, ?)",
            (project_id, client_id, name, created_at),
        )
        return project_id

    def add(self, key: ApiKey, key_hash: str) -> None:
        self._store.execute(
            "INSERT INTO api_keys (id, client_id, project_id, key_hash, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (key.id, key.client_id, key.project_id, key_hash, key.created_at),
        )

    def by_hash(self, key_hash: str) -> ApiKey | None:
        return _key(self._store.fetch_one(f"{_SELECT} WHERE key_hash = ?", (key_hash,)))

    def get(self, key_id: str) -> ApiKey | None:
        return _key(self._store.fetch_one(f"{_SELECT} WHERE id = ?", (key_id,)))

    def revoke(self, key_id: str, revoked_at: str) -> None:
        """Mark the key revoked (an already revoked key keeps its first ``revoked_at``)."""
        self._store.execute(
            "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
            (revoked_at, key_id),
        )


_SELECT = "SELECT id, client_id, project_id, created_at, revoked_at FROM api_keys"


def _key(row: sqlite3.Row | None) -> ApiKey | None:
    if row is None:
        return None
    return ApiKey(
        id=row["id"],
        client_id=row["client_id"],
        project_id=row["project_id"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )
