"""Finished sessions: bounded in each process, shared through a real redis-server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from redis.asyncio import Redis

from gateway.state.finished import Bounded, RedisFinished
from zenhire.loopback.redis import redis_server
from zenhire.loopback.servers import free_port


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


def test_a_bounded_map_forgets_its_oldest_entries() -> None:
    seen: Bounded[str, int] = Bounded(3)
    for number in range(10):
        seen[f"s{number}"] = number
    assert len(seen) == 3
    assert "s6" not in seen and seen.get("s9") == 9
    seen["s7"] = 70  # written again: the newest now
    seen["s10"] = 10
    assert "s8" not in seen and seen.get("s7") == 70


async def test_one_replica_sees_what_another_finished(redis_url: str) -> None:
    async with Redis.from_url(redis_url) as first, Redis.from_url(redis_url) as second:
        a, b = RedisFinished(first), RedisFinished(second)
        a.add("one")
        await a.publish("one")
        assert not b.seen_here("one")
        assert await b.anywhere("one")
        assert b.seen_here("one"), "remembered locally once read"
        assert not await b.anywhere("two")
        assert 0 < await first.ttl("zenhire:finished:one") <= 8 * 24 * 3600


@pytest.mark.fault(
    "Redis unreachable",
    injected="finished-session lookups against a closed port",
    happened="logged; the replica answers from what it knows",
)
async def test_an_unreachable_store_falls_back_to_what_this_replica_knows() -> None:
    async with Redis.from_url(
        f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.5
    ) as nowhere:
        finished = RedisFinished(nowhere)
        finished.add("here")
        await finished.publish("here")  # logged, not raised
        assert await finished.anywhere("here")
        assert not await finished.anywhere("elsewhere")
