"""Operator actions on the control plane's database, for the ``zenhire`` CLI.

They open their own connection, so they are safe to run while the server is
serving the same database file (WAL mode; see `controlplane.store`).
"""

from __future__ import annotations

import uuid

from controlplane.clock import format_timestamp, utc_now
from controlplane.credentials import digest, new_api_key
from controlplane.records import Client
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
) -> dict[str, object]:
    """Create an integrator client and its API key.

    The raw key is in the result only; the database keeps its SHA-256 digest.
    ``retention_days`` (``None``: unlimited) has the client's artifacts erased
    that many days after their session ended. Raise `ValueError` for an empty
    name, negative credits, or limits (or retention) below 1.
    """
    if not name.strip():
        raise ValueError("name must not be empty")
    if credits < 0:
        raise ValueError("credits must not be negative")
    if max_concurrent < 1 or max_duration_sec < 1:
        raise ValueError("max_concurrent and max_duration_sec must be at least 1")
    if retention_days is not None and retention_days < 1:
        raise ValueError("retention_days must be at least 1")
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
    store = Store.open(settings.database_path)
    try:
        with store.transaction():
            store.add_client(client, digest(api_key), format_timestamp(utc_now()))
    finally:
        store.close()
    return {
        "client_id": client.id,
        "api_key": api_key,
        "name": client.name,
        "credits": client.credit_balance,
        "max_concurrent": client.max_concurrent,
        "max_duration_sec": client.max_duration_sec,
        "retention_days": client.retention_days,
    }
