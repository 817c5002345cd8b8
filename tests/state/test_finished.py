"""Finished sessions: bounded in each process, shared (fenced) through a real redis-server."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from gateway.state.finished import Bounded, FinishedSessions
from gateway.state.ownership import Lease
from gateway.state.redis_ownership import RedisOwnership
from zenhire.loopback.servers import free_port


def test_a_bounded_map_forgets_its_oldest_entries() -> None:
    seen: Bounded[str, int] = Bounded(3)
    for number in range(10):
        seen[f"s{number}"] = number
    assert len(seen) == 3
    assert "s6" not in seen and seen.get("s9") == 9
    seen["s7"] = 70  # written again: the newest now
    seen["s10"] = 10
    assert "s8" not in seen and seen.get("s7") == 70


def _replica(redis: Redis, name: str) -> tuple[RedisOwnership, FinishedSessions]:
    ownership = RedisOwnership(redis, name, f"http://{name}.internal", lease_sec=3.0)
    return ownership, FinishedSessions(ownership)


async def test_one_replica_sees_what_another_finished(redis_url: str) -> None:
    async with (
        Redis.from_url(redis_url, decode_responses=True) as first,
        Redis.from_url(redis_url, decode_responses=True) as second,
    ):
        (owner_a, a), (_, b) = _replica(first, "replica-a"), _replica(second, "replica-b")
        lease = await owner_a.claim("one")
        assert isinstance(lease, Lease)
        assert await a.finish("one", lease.token), "its owner reports it"
        assert a.seen_here("one") and not b.seen_here("one")
        assert await b.anywhere("one")
        assert b.seen_here("one"), "remembered locally once read"
        assert not await b.anywhere("two")
        assert 0 < await first.ttl("zenhire:own:{one}:finished") <= 8 * 24 * 3600


async def test_a_fenced_owner_neither_reports_nor_marks_the_session(redis_url: str) -> None:
    async with Redis.from_url(redis_url, decode_responses=True) as redis:
        (owner_a, a), (owner_b, b) = _replica(redis, "replica-a"), _replica(redis, "replica-b")
        old = await owner_a.claim("moved")
        assert isinstance(old, Lease)
        await owner_a.release(old)
        new = await owner_b.claim("moved")
        assert isinstance(new, Lease) and new.token > old.token
        assert not await a.finish("moved", old.token)
        assert not a.seen_here("moved") and not await b.anywhere("moved")
        assert await b.finish("moved", new.token)
        assert await a.anywhere("moved")
        # Its owner again (the spool recovered after a crash mid-finalize): still its report.
        assert await b.finish("moved", new.token)
        assert not await a.finish("moved", old.token)


@pytest.mark.fault(
    "Redis unreachable",
    injected="finished-session lookups against a closed port",
    happened="logged; the replica reports and answers from what it knows",
)
async def test_an_unreachable_store_falls_back_to_what_this_replica_knows() -> None:
    async with Redis.from_url(
        f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.5
    ) as nowhere:
        _, finished = _replica(nowhere, "replica-a")
        assert await finished.finish("here", 1), "reported all the same"
        assert await finished.anywhere("here")
        assert not await finished.anywhere("elsewhere")
