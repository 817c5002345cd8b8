"""Two gateway replicas sharing one real redis-server: one console, one cap."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from redis.asyncio import Redis

from gateway.app import create_app as create_gateway
from gateway.state.redis_slots import RedisSlots
from tests.operator import AUTH, OPERATOR_ENV, end_session, live_ids, overview, wait_overview
from zenhire.loopback.candidate import Candidate
from zenhire.loopback.redis import redis_server
from zenhire.loopback.servers import free_port, serve
from zenhire.loopback.stack import Stack, gateway_settings, running_stack
from zenhire.tasks import TaskGroup

pytestmark = pytest.mark.timeout(90)


def _env(redis_url: str, replica_id: str) -> dict[str, str]:
    return {
        **OPERATOR_ENV,
        "ZENHIRE_REDIS_URL": redis_url,
        "ZENHIRE_REPLICA_ID": replica_id,
        "ZENHIRE_WAITING_RETRY_SEC": "0.3",
    }


@asynccontextmanager
async def _second_replica(stack: Stack, tmp_path: Path, redis_url: str) -> AsyncIterator[str]:
    port = free_port()
    settings = gateway_settings(
        tmp_path / "gateway-b", port, stack.control_url, _env(redis_url, "replica-b")
    )
    async with serve(create_gateway(settings), port=port) as url:
        yield url


async def test_a_session_on_one_replica_shows_on_the_other_and_the_cap_is_shared(
    tmp_path: Path, redis: str
) -> None:
    async with (
        running_stack(tmp_path, max_concurrent=1, gateway_env=_env(redis, "replica-a")) as stack,
        _second_replica(stack, tmp_path, redis) as replica_b,
    ):
        first_id, first_token = await stack.create_session()
        second_id, second_token = await stack.create_session()
        first = Candidate(stack.gateway_url)
        await first.open(stack.http, first_token)
        second = Candidate(replica_b)
        await second.open(stack.http, second_token)
        async with TaskGroup() as group:
            group.create_task(first.interview([]))
            seen = await wait_overview(stack.http, replica_b, lambda o: first_id in live_ids(o))
            (session,) = seen["sessions"]
            assert session["replica_id"] == "replica-a"
            assert session["client_id"] == stack.client_id
            assert {r["replica_id"] for r in seen["replicas"]} == {"replica-a", "replica-b"}
            assert seen["state_store"] == {"kind": "redis", "reachable": True}

            group.create_task(second.interview([]))
            waiting = await wait_overview(
                stack.http, stack.gateway_url, lambda o: o["totals"]["waiting"] == 1
            )
            (client,) = waiting["clients"]
            assert (client["used"], client["cap"]) == (1, 1)
            assert client["waiting"][0]["session_id"] == second_id
            assert second.kinds("waiting")[0]["position"] == 1
            assert not second.kinds("live"), "the cap holds across replicas"

            ended = await end_session(stack.http, replica_b, first_id)
            assert ended.status_code == 202
            assert ended.json()["replica_id"] == "replica-a", "sent to the replica that has it"
            await wait_overview(stack.http, stack.gateway_url, lambda o: second_id in live_ids(o))
            assert (await end_session(stack.http, stack.gateway_url, second_id)).status_code == 202

        assert first.kinds("ended")[-1]["reason"] == "ENDED_BY_OPERATOR"
        assert (await stack.wait_for_status(first_id, "failed"))["error"]["code"] == (
            "ENDED_BY_OPERATOR"
        )
        assert second.kinds("live"), "admitted on replica B once A's slot was freed"
        found = await overview(stack.http, replica_b)
        assert {item["session_id"] for item in found["recent"]} >= {first_id}


@pytest.mark.fault(
    "replica dies holding slots",
    injected="slot holder stops renewing",
    happened="its slots free themselves when the lease runs out",
)
async def test_a_dead_replicas_slot_lease_runs_out(redis: str) -> None:
    """A holder nobody renews loses its slot; a renewed one keeps it."""
    async with Redis.from_url(redis, decode_responses=True) as client:
        slots = RedisSlots(client, waiter_ttl_sec=5.0, lease_sec=0.4)
        assert (await slots.acquire("acme", "kept", cap=2)).admitted
        assert (await slots.acquire("acme", "dead", cap=2)).admitted
        assert not (await slots.acquire("acme", "third", cap=2)).admitted
        for _ in range(4):
            await asyncio.sleep(0.2)
            await slots.renew([("acme", "kept")])
        assert (await slots.acquire("acme", "third", cap=2)).admitted
        assert not (await slots.acquire("acme", "fourth", cap=2)).admitted
        (usage,) = await slots.clients()
        assert (usage.used, usage.cap, [w.session_id for w in usage.waiting]) == (2, 2, ["fourth"])


@pytest.mark.fault(
    "racing joins",
    injected="five hellos of one session at once (slot acquisition awaits Redis)",
    happened="one interview; the others attach",
)
async def test_connections_racing_to_start_one_session_start_it_once(
    tmp_path: Path, redis: str
) -> None:
    """Five hellos at once (slot acquisition awaits Redis): one interview, the rest attach."""
    async with running_stack(tmp_path, gateway_env=_env(redis, "replica-a")) as stack:
        session_id, first = await stack.open_candidate(Candidate)
        others = [Candidate(stack.gateway_url, ticket=first.ticket) for _ in range(4)]
        sockets = await asyncio.gather(*(c.connect() for c in [first, *others]))
        try:
            await wait_overview(stack.http, stack.gateway_url, lambda o: session_id in live_ids(o))
            await asyncio.sleep(1.0)  # every hello has been admitted or refused by now
            document = await overview(stack.http, stack.gateway_url)
            assert [s["session_id"] for s in document["sessions"]] == [session_id]
            metrics = await stack.http.get(f"{stack.gateway_url}/metrics", headers=AUTH)
            assert 'zenhire_sessions_started_total{client_id="' in metrics.text
            started = [
                line
                for line in metrics.text.splitlines()
                if line.startswith("zenhire_sessions_started_total{")
            ]
            assert [line.rsplit(" ", 1)[1] for line in started] == ["1.0"]
        finally:
            for socket in sockets:
                await socket.close()


@pytest.mark.fault(
    "malformed state in Redis",
    injected="garbage commands, snapshots and endings written into Redis",
    happened="each is skipped; the interview goes on",
)
async def test_garbage_in_the_state_store_ends_no_interview(tmp_path: Path, redis: str) -> None:
    """Malformed commands, snapshots and endings in Redis are skipped; the interview goes on."""
    async with running_stack(tmp_path, gateway_env=_env(redis, "replica-a")) as stack:
        session_id, candidate = await stack.open_candidate(Candidate)
        async with TaskGroup() as group:
            group.create_task(candidate.interview([]))
            await wait_overview(stack.http, stack.gateway_url, lambda o: session_id in live_ids(o))
            client = Redis.from_url(redis)
            commands = "zenhire:commands:replica-a"
            for garbage in ["not json", "[]", '{"action": "explode", "operator": "x"}', "{}"]:
                await client.rpush(commands, garbage)
            await client.set("zenhire:replica:ghost", '{"replica_id": "ghost"}')
            await client.sadd("zenhire:replicas", "ghost")
            await client.lpush("zenhire:recent", "{broken")
            await client.aclose()
            await asyncio.sleep(2.0)
            document = await overview(stack.http, stack.gateway_url)
            assert session_id in live_ids(document)
            ended = await end_session(stack.http, stack.gateway_url, session_id)
            assert ended.status_code == 202
        session = await stack.wait_for_status(session_id, "failed")
        assert session["error"]["code"] == "ENDED_BY_OPERATOR"


@pytest.mark.fault(
    "Redis flushed",
    injected="FLUSHALL between renewals (unit)",
    happened="renew puts the lease back and reports it",
)
async def test_a_lost_lease_is_put_back_on_renewal(redis: str) -> None:
    async with Redis.from_url(redis, decode_responses=True) as client:
        slots = RedisSlots(client, waiter_ttl_sec=5.0, lease_sec=10.0)
        assert (await slots.acquire("acme", "live", cap=1)).admitted
        assert await slots.renew([("acme", "live")]) == []
        await client.flushall()
        assert await slots.renew([("acme", "live")]) == [("acme", "live")]
        assert not (await slots.acquire("acme", "next", cap=1)).admitted
        (usage,) = await slots.clients()
        assert usage.used == 1


@pytest.mark.fault(
    "Redis flushed",
    injected="FLUSHALL mid-interview",
    happened="the live holder is put back on its next renewal (logged); the cap still holds",
)
async def test_redis_losing_its_data_does_not_lift_the_cap(
    tmp_path: Path, redis: str, caplog: pytest.LogCaptureFixture
) -> None:
    """FLUSHALL mid-interview: the live holder re-registers on its next renewal, so a
    second candidate of a client capped at one still waits."""
    async with running_stack(
        tmp_path, max_concurrent=1, gateway_env=_env(redis, "replica-a")
    ) as stack:
        first_id, first = await stack.open_candidate(Candidate)
        second_id, second = await stack.open_candidate(Candidate)
        async with TaskGroup() as group:
            group.create_task(first.interview([]))
            await wait_overview(stack.http, stack.gateway_url, lambda o: first_id in live_ids(o))
            async with Redis.from_url(redis) as client:
                await client.flushall()
            await asyncio.sleep(1.5)  # one renewal round puts the holder back
            group.create_task(second.interview([]))
            await wait_overview(
                stack.http, stack.gateway_url, lambda o: o["totals"]["waiting"] == 1
            )
            assert not second.kinds("live"), "the cap still counts the live interview"
            assert (await end_session(stack.http, stack.gateway_url, first_id)).status_code == 202
            await wait_overview(stack.http, stack.gateway_url, lambda o: second_id in live_ids(o))
            assert (await end_session(stack.http, stack.gateway_url, second_id)).status_code == 202
        assert any("lost live slots" in r.getMessage() for r in caplog.records)


@pytest.mark.fault(
    "racing replicas",
    injected="an old ticket replayed on a second replica after the interview ended on the first",
    happened="SESSION_FINISHED; no second copy",
)
async def test_a_finished_interview_does_not_start_again_on_another_replica(
    tmp_path: Path, redis: str
) -> None:
    """Replica B verified the link while A ran the interview; once A has finished it,
    B's old ticket cannot start a second copy (B never saw it end)."""
    async with (
        running_stack(tmp_path, gateway_env=_env(redis, "replica-a")) as stack,
        _second_replica(stack, tmp_path, redis) as replica_b,
    ):
        _, token = await stack.create_session()
        on_a = Candidate(stack.gateway_url)
        await on_a.open(stack.http, token)
        on_b = Candidate(replica_b)
        assert (await on_b.open(stack.http, token)).status_code == 200
        await on_a.interview([], end_after_sec=0.5)
        assert on_a.kinds("ended")
        async with await on_b.connect() as socket:
            async for message in socket:
                if isinstance(message, str):
                    event = json.loads(message)
                    assert event["type"] != "live", "a second copy started"
                    if event["type"] == "error":
                        assert event["code"] == "SESSION_FINISHED"
                        break
        document = await overview(stack.http, replica_b)
        assert not [s for s in document["sessions"] if s["replica_id"] == "replica-b"]


@pytest.mark.fault(
    "Redis stopped",
    injected="redis-server stopped mid-interview for a few seconds",
    happened="the interview goes on; the replica stays ready (shared dependencies are metrics)",
)
@pytest.mark.fault(
    "Redis restarted empty",
    injected="redis-server back on the same port without its data",
    happened="the live holder is put back on its next renewal; the cap still holds",
)
async def test_redis_stopped_then_back_empty_ends_no_interview_and_keeps_the_cap(
    tmp_path: Path,
) -> None:
    port = free_port()
    with contextlib.ExitStack() as outage:
        url = outage.enter_context(redis_server(tmp_path / "redis-1", port))
        async with running_stack(
            tmp_path, max_concurrent=1, gateway_env=_env(url, "replica-a")
        ) as stack:
            first_id, first = await stack.open_candidate(Candidate)
            second_id, second = await stack.open_candidate(Candidate)
            async with TaskGroup() as group:
                group.create_task(first.interview([]))
                await wait_overview(
                    stack.http, stack.gateway_url, lambda o: first_id in live_ids(o)
                )
                outage.close()  # Redis goes away
                await asyncio.sleep(3.0)
                ready = await stack.http.get(f"{stack.gateway_url}/readyz")
                assert ready.status_code == 200, ready.text
                assert not first.kinds("ended"), "the interview went on without Redis"
                with redis_server(tmp_path / "redis-2", port):  # back, and empty
                    await asyncio.sleep(2.5)  # a renewal round puts the holder back
                    group.create_task(second.interview([]))
                    await wait_overview(
                        stack.http, stack.gateway_url, lambda o: o["totals"]["waiting"] == 1
                    )
                    assert not second.kinds("live"), "the cap still counts the live interview"
                    ended = await end_session(stack.http, stack.gateway_url, first_id)
                    assert ended.status_code == 202
                    await wait_overview(
                        stack.http, stack.gateway_url, lambda o: second_id in live_ids(o)
                    )
                    ended = await end_session(stack.http, stack.gateway_url, second_id)
                    assert ended.status_code == 202
    assert first.kinds("ended")[-1]["reason"] == "ENDED_BY_OPERATOR"
