"""Redis errors, translated once: any `RedisError` becomes `StateStoreUnavailable`,
unless the task is being cancelled: the client turns a cancellation in the
middle of a command into a connection error, and the caller's loop would take
it for an outage and go on."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from redis.exceptions import RedisError

from gateway.errors import StateStoreUnavailable


@contextmanager
def unreachable_as(what: str) -> Iterator[None]:
    """Raise `StateStoreUnavailable` ("<what> unreachable: …") for a Redis error inside."""
    try:
        yield
    except RedisError as exc:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise asyncio.CancelledError from exc
        raise StateStoreUnavailable(f"{what} unreachable: {exc}") from exc
