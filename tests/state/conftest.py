"""A real redis-server for the state tests: one per module, emptied before each test
that asks for ``redis``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from zenhire.loopback.redis import flush, redis_server


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
def redis(redis_url: str) -> str:
    flush(redis_url)
    return redis_url
