"""The S2S outbox on a real Redis stream, delivering to a real control plane: at
least once, by whichever replica is alive, and nothing lost when Redis is not."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import ExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from gateway.s2s.controlplane import event_body
from gateway.s2s.redis_outbox import RedisOutbox
from gateway.s2s.stream import DEAD_KEY, GROUP, STREAM_KEY, EventStream
from tests.operator import OPERATOR_ENV
from tests.s2s.test_outbox import _dead_letter_gauge, _ended_while_control_plane_is_down
from tests.state.outbox_replica import CLAIM_IDLE_SEC, redis_outbox, started_event
from zenhire.backoff import Backoff
from zenhire.loopback.redis import redis_server
from zenhire.loopback.servers import free_port
from zenhire.loopback.stack import Stack, running_stack
from zenhire.timestamps import now_iso

pytestmark = pytest.mark.timeout(60)

WAIT_SEC = 15.0
POLL_SEC = 0.05


@asynccontextmanager
async def _control_plane(tmp_path: Path) -> AsyncIterator[Stack]:
    """The reference control plane (its sessions to report on); no gateway."""
    async with running_stack(tmp_path, start_gateway=False) as stack:
        yield stack


@asynccontextmanager
async def _delivering(outbox: RedisOutbox) -> AsyncIterator[RedisOutbox]:
    """``outbox.run()`` for the length of the block."""
    task = asyncio.create_task(outbox.run())
    try:
        yield outbox
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def _enqueue_started(outbox: RedisOutbox, session_id: str) -> str:
    event_id = f"started-{session_id}"
    durable = await outbox.enqueue(
        event_id, session_id, "session.started", started_event(event_id, session_id)
    )
    assert durable
    return event_id


async def _until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    try:
        async with asyncio.timeout(WAIT_SEC):
            while True:
                if await check():
                    return
                await asyncio.sleep(POLL_SEC)
    except TimeoutError:
        raise AssertionError(f"not within {WAIT_SEC} s: {what}") from None


async def _stream_state(redis_url: str) -> tuple[int, list[dict[str, Any]]]:
    """How many entries the stream holds, and the group's pending entries."""
    async with Redis.from_url(redis_url, decode_responses=True) as redis:
        try:
            pending = await redis.xpending_range(STREAM_KEY, GROUP, "-", "+", 100)
        except ResponseError:  # no group yet (a Redis that came back empty)
            pending = []
        return int(await redis.xlen(STREAM_KEY)), list(pending)


async def _outbox_command(redis_url: str, data_dir: Path, *args: str) -> list[dict[str, Any]]:
    """``zenhire gateway outbox ...`` as an operator runs it, on a host with no outbox file."""
    env = {**os.environ, "ZENHIRE_DATA_DIR": str(data_dir), "ZENHIRE_REDIS_URL": redis_url}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "zenhire.cli", "gateway", "outbox", *args,
        env=env, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, _ = await process.communicate()
    assert process.returncode == 0
    return [json.loads(line) for line in stdout.decode().splitlines()]


async def test_an_event_is_delivered_acknowledged_and_its_local_copy_dropped(
    tmp_path: Path, redis: str
) -> None:
    async with (
        _control_plane(tmp_path) as stack,
        redis_outbox(redis, "replica-a", stack.control_url, tmp_path / "a") as outbox,
    ):
        session_id, _ = await stack.create_session()
        event_id = await _enqueue_started(outbox, session_id)
        await outbox.deliver_due()
        assert (await stack.session(session_id))["status"] == "active"
        assert await outbox.state_of(event_id) == "delivered"
        assert await _stream_state(redis) == (0, [])
        backlog = await outbox.backlog()
        assert (backlog.pending, backlog.dead) == (0, 0)


@pytest.mark.fault(
    "control plane down (Redis outbox)",
    injected="control plane stopped while an event waits in the Redis stream",
    happened="retried with backoff from the stream; delivered once it is back",
)
async def test_an_event_waits_in_the_stream_while_the_control_plane_is_down(
    tmp_path: Path, redis: str
) -> None:
    async with (
        _control_plane(tmp_path) as stack,
        redis_outbox(redis, "replica-a", stack.control_url, tmp_path / "a") as outbox,
    ):
        session_id, _ = await stack.create_session()
        await stack.control.stop()
        event_id = await _enqueue_started(outbox, session_id)
        async with _delivering(outbox):
            await asyncio.sleep(1.0)  # several attempts refused
            assert await outbox.state_of(event_id) == "pending"
            assert (await outbox.backlog()).pending == 1
            await stack.control.start()
            await stack.wait_for_status(session_id, "active", timeout_sec=WAIT_SEC)
        assert await _stream_state(redis) == (0, [])


@pytest.mark.fault(
    "replica killed holding events",
    injected="SIGKILL of a replica process that read an event and never acknowledged it",
    happened="another replica claims it once idle past the claim bound and delivers it",
)
async def test_a_killed_replicas_pending_event_is_claimed_and_delivered_by_another(
    tmp_path: Path, redis: str
) -> None:
    with socket.socket() as silent:
        # A control plane that takes the request and never answers: the attempt hangs.
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        silent_url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        async with _control_plane(tmp_path) as stack:
            session_id, _ = await stack.create_session()
            replica_a = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tests.state.outbox_replica",
                redis, "replica-a", silent_url, str(tmp_path / "a"), session_id,
            )  # fmt: skip
            try:

                async def read_by_a() -> bool:
                    _, pending = await _stream_state(redis)
                    return [p["consumer"] for p in pending] == ["replica-a"]

                await _until(read_by_a, "replica-a read the event")
                await asyncio.sleep(1.5)  # past the claim bound: a's touches keep it a's
                assert [p["consumer"] for p in (await _stream_state(redis))[1]] == ["replica-a"]
            finally:
                replica_a.kill()
                await replica_a.wait()
            async with (
                redis_outbox(redis, "replica-b", stack.control_url, tmp_path / "b") as outbox,
                _delivering(outbox),
            ):
                await stack.wait_for_status(session_id, "active", timeout_sec=WAIT_SEC)
                await _until(lambda: _is(_stream_state(redis), (0, [])), "the stream is empty")


async def _is(value: Awaitable[object], expected: object) -> bool:
    return await value == expected


@pytest.mark.fault(
    "control plane down past every retry (Redis outbox)",
    injected="control plane unreachable for longer than the outbox's age bound",
    happened="a dead letter in Redis (metric, `outbox list`); `outbox redrive` delivers it",
)
async def test_an_expired_event_is_a_dead_letter_in_redis_and_is_redriven(
    tmp_path: Path, redis: str
) -> None:
    short = Backoff(attempts=5000, total_sec=1.0, base_sec=0.1, cap_sec=0.3)
    async with (
        _control_plane(tmp_path) as stack,
        redis_outbox(
            redis, "replica-a", stack.control_url, tmp_path / "a", backoff=short
        ) as outbox,
        _delivering(outbox),
    ):
        session_id, _ = await stack.create_session()
        await stack.control.stop()
        event_id = await _enqueue_started(outbox, session_id)
        await _until(lambda: _is(outbox.state_of(event_id), "expired"), "a dead letter")
        assert (await outbox.backlog()).dead == 1
        letters = await _outbox_command(redis, tmp_path / "operator", "list")
        assert [(x["event_id"], x["state"]) for x in letters] == [(event_id, "expired")]
        await stack.control.start()
        assert await _outbox_command(redis, tmp_path / "operator", "redrive", "--all") == [
            {"redriven": 1}
        ]
        await stack.wait_for_status(session_id, "active", timeout_sec=WAIT_SEC)
        assert await _outbox_command(redis, tmp_path / "operator", "list") == []
        assert (await outbox.backlog()).dead == 0


@pytest.mark.fault(
    "Redis down at enqueue",
    injected="redis-server stopped before a session's event is enqueued",
    happened="the event goes to the replica's local SQLite outbox, which delivers it",
)
async def test_an_event_enqueued_while_redis_is_down_is_kept_locally_and_delivered(
    tmp_path: Path,
) -> None:
    with ExitStack() as servers:
        url = servers.enter_context(redis_server(tmp_path / "redis"))
        async with (
            _control_plane(tmp_path) as stack,
            redis_outbox(url, "replica-a", stack.control_url, tmp_path / "a") as outbox,
        ):
            session_id, _ = await stack.create_session()
            servers.close()  # redis-server stopped
            event_id = await _enqueue_started(outbox, session_id)
            assert await outbox.state_of(event_id) == "pending"  # in the local outbox
            await outbox.deliver_due()
            assert (await stack.session(session_id))["status"] == "active"
            assert await outbox.state_of(event_id) == "delivered"


@pytest.mark.fault(
    "Redis restarted empty",
    injected="redis-server restarted without persistence between XADD and delivery",
    happened="the enqueuing replica adds the event back from its local copy; delivered",
)
async def test_an_event_redis_lost_in_a_restart_is_added_back_and_delivered(
    tmp_path: Path,
) -> None:
    port = free_port()
    with ExitStack() as first:
        url = first.enter_context(redis_server(tmp_path / "redis", port))
        async with (
            _control_plane(tmp_path) as stack,
            redis_outbox(url, "replica-a", stack.control_url, tmp_path / "a") as outbox,
        ):
            session_id, _ = await stack.create_session()
            await stack.control.stop()
            await _enqueue_started(outbox, session_id)
            await outbox.deliver_due()  # refused: the event stays in the stream
            first.close()
            with redis_server(tmp_path / "redis", port):
                assert await _stream_state(url) == (0, [])  # Redis came back empty
                await stack.control.start()
                async with _delivering(outbox):
                    await stack.wait_for_status(session_id, "active", timeout_sec=WAIT_SEC)
                    await _until(lambda: _is(_stream_state(url), (0, [])), "the stream is empty")


async def test_a_sessions_later_event_waits_behind_an_earlier_one_another_replica_holds(
    tmp_path: Path, redis: str
) -> None:
    """Per-session order across replicas: ``completed`` is not delivered before the
    ``started`` a stopped replica read, which is claimed and delivered first."""
    async with (
        _control_plane(tmp_path) as stack,
        Redis.from_url(redis, decode_responses=True) as client,
        redis_outbox(redis, "replica-b", stack.control_url, tmp_path / "b") as outbox,
    ):
        session_id, _ = await stack.create_session()
        stopped = EventStream(client, "replica-a")
        started_id = f"started-{session_id}"
        await stopped.add(
            started_id, session_id, "session.started", started_event(started_id, session_id), 0.0
        )
        await stopped.take(CLAIM_IDLE_SEC)  # read by replica-a, which then stops
        completed_id = f"completed-{session_id}"
        data = {"recording_key": "r", "transcript_key": "t", "duration_sec": 1}
        body = event_body(completed_id, "session.completed", session_id, now_iso(), data)
        assert await outbox.enqueue(completed_id, session_id, "session.completed", body)
        await outbox.deliver_due()
        assert await outbox.state_of(completed_id) == "pending"
        assert (await stack.session(session_id))["status"] == "initiated"
        async with _delivering(outbox):
            await stack.wait_for_status(session_id, "completed", timeout_sec=WAIT_SEC)
        assert await outbox.state_of(started_id) == "delivered"
        assert (await outbox.backlog()).dead == 0


@pytest.mark.fault(
    "control plane down past every retry (gateway on Redis)",
    injected="an interview ends on a gateway with Redis while the control plane is down",
    happened="a dead letter in Redis, on the gauge and `outbox list`; redriven, completed",
)
async def test_a_gateway_on_redis_reports_its_dead_letter_and_redrives_it(
    tmp_path: Path, redis: str
) -> None:
    env = {**OPERATOR_ENV, "ZENHIRE_REDIS_URL": redis, "ZENHIRE_OUTBOX_MAX_AGE_SEC": "1.5"}
    async with running_stack(tmp_path, gateway_env=env) as stack:
        session_id = await _ended_while_control_plane_is_down(stack)
        data_dir = stack.gateway_settings.data_dir

        async def letters() -> list[dict[str, Any]]:
            return await _outbox_command(redis, data_dir, "list")

        await _until(lambda: _is_nonempty(letters()), "a dead letter")
        (letter,) = await letters()
        assert (letter["session_id"], letter["type"], letter["state"]) == (
            session_id,
            "session.completed",
            "expired",
        )
        assert await _dead_letter_gauge(stack) == 1
        async with Redis.from_url(redis, decode_responses=True) as client:
            assert list(await client.hkeys(DEAD_KEY)) == [letter["event_id"]]  # not the SQLite's
        await stack.control.start()
        assert await _outbox_command(redis, data_dir, "redrive", "--all") == [{"redriven": 1}]
        await stack.wait_for_status(session_id, "completed", timeout_sec=WAIT_SEC)
        assert await letters() == []
        assert await _dead_letter_gauge(stack) == 0


async def _is_nonempty(value: Awaitable[list[Any]]) -> bool:
    return bool(await value)
