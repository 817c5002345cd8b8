"""Redis errors, translated once: any `RedisError` becomes `StateStoreUnavailable`."""

from __future__ import annotations

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
        raise StateStoreUnavailable(f"{what} unreachable: {exc}") from exc
