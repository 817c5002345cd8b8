"""Operator actions on the control plane's database, for the ``zenhire`` CLI.

They open their own connection, so they are safe to run while the server is
serving the same database file (WAL mode; see `controlplane.store`).
"""

from __future__ import annotations

import uuid

from controlplane.clock import format_timestamp, utc_now
from controlplane.credentials import digest, new_api_key
from controlplane.keys import Keys, project_name
from controlplane.records import ApiKey, Client
from controlplane.settings import Settings
from controlplane.store import Store

DEFAULT_CREDITS = 1000
DEFAULT_MAX_CONCURRENT = 2
DEFAULT_MAX_DURATION_SEC = 1800


def create_client(
    settings: Settings,
    *,
    name: str,
    credits: int = DEFAULT_CREDITS,
    max_concurrent: int = DEFAULT_MAX_CONCURRENT,
    max_duration_sec: int = DEFAULT_MAX_DURATION_SEC,
    interview_permission: bool = True,
    retention_days: int | None = None,
    project: str | None = None,
) -> dict[str, object]:
    """Create an integrator client and its first API key.

    The raw key is in the result only; the database keeps its SHA-256 digest.
    ``retention_days`` (``None``: unlimited) has the client's artifacts erased
    that many days after their session ended; ``project`` names the first
    key's project (``None``: the key has none). Raise `ValueError` for an empty
    name, negative credits, limits (or retention) below 1, or a bad project name.
    """
    if not name.strip():
        raise ValueError("name must not be empty")
    if credits < 0:
        raise ValueError("credits must not be negative")
    if max_concurrent < 1 or max_duration_sec < 1:
        raise ValueError("max_concurrent and max_duration_sec must be at least 1")
    if retention_days is not None and retention_days < 1:
        raise ValueError("retention_days must be at least 1")
    project = None if project is None else project_name(project)
    api_key = new_api_key()
    client = Client(
        id=str(uuid.uuid4()),
        name=name.strip(),
        interview_permission=interview_permission,
        credit_balance=credits,
        max_concurrent=max_concurrent,
        max_duration_sec=max_duration_sec,
        retention_days=retention_days,
    )
    now = format_timestamp(utc_now())
    store = Store.open(settings.database_path)
    try:
        with store.transaction():
            store.add_client(client, digest(api_key), now)
            key = _add_key(Keys(store), client.id, api_key, project, now)
    finally:
        store.close()
    return {
        "client_id": client.id,
        "api_key": api_key,
        "key_id": key.id,
        "project_id": key.project_id,
        "name": client.name,
        "credits": client.credit_balance,
        "max_concurrent": client.max_concurrent,
        "max_duration_sec": client.max_duration_sec,
        "retention_days": client.retention_days,
    }


def create_key(
    settings: Settings, *, client_id: str, project: str | None = None
) -> dict[str, object]:
    """Another API key of an existing client: ``{key_id, api_key, project_id}``.

    ``project`` names the key's project, made if the client has none of that
    name (``None``: the key has no project). The raw key is in the result only.
    Raise `ValueError` for an unknown client or a bad project name.
    """
    project = None if project is None else project_name(project)
    api_key = new_api_key()
    store = Store.open(settings.database_path)
    try:
        with store.transaction():
            if store.client(client_id) is None:
                raise ValueError(f"no client with id {client_id!r}")
            key = _add_key(Keys(store), client_id, api_key, project, format_timestamp(utc_now()))
    finally:
        store.close()
    return {"key_id": key.id, "api_key": api_key, "project_id": key.project_id}


def revoke_key(settings: Settings, *, key_id: str) -> dict[str, object]:
    """Disable a key from the next request on: ``{key_id, client_id, revoked_at}``.

    Revoking a revoked key changes nothing. Raise `ValueError` for an unknown key.
    """
    store = Store.open(settings.database_path)
    try:
        keys = Keys(store)
        with store.transaction():
            if keys.get(key_id) is None:
                raise ValueError(f"no API key with id {key_id!r}")
            keys.revoke(key_id, format_timestamp(utc_now()))
            key = keys.get(key_id)
    finally:
        store.close()
    assert key is not None
    return {"key_id": key.id, "client_id": key.client_id, "revoked_at": key.revoked_at}


def _add_key(keys: Keys, client_id: str, api_key: str, project: str | None, now: str) -> ApiKey:
    project_id = None if project is None else keys.project(client_id, project, now)
    key = ApiKey(id=str(uuid.uuid4()), client_id=client_id, project_id=project_id, created_at=now)
    keys.add(key, digest(api_key))
    return key
