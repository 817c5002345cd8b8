"""Gateway replicas as real processes on one real redis-server: one owner per
interview, forwarded joins, takeover after a crash."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import websockets

from tests.operator import OPERATOR_ENV, live_ids, wait_overview
from zenhire.loopback.candidate import Candidate
from zenhire.loopback.redis import flush, redis_server
from zenhire.loopback.replicas import GatewayProcess
from zenhire.loopback.stack import Stack, running_stack

pytestmark = pytest.mark.timeout(60)

# The goal is 5 s at p95; a loaded test machine gets some slack.
TAKEOVER_LIMIT_SEC = 8.0


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
def redis(redis_url: str) -> str:
    flush(redis_url)
    return redis_url


@asynccontextmanager
async def replicas(
    tmp_path: Path, redis_url: str, count: int = 2, max_concurrent: int = 4
) -> AsyncIterator[tuple[Stack, list[GatewayProcess]]]:
    async with running_stack(tmp_path, start_gateway=False, max_concurrent=max_concurrent) as stack:
        found = [
            GatewayProcess(f"replica-{name}", tmp_path / "replicas", stack.control_url, redis_url)
            for name in "abc"[:count]
        ]
        for replica in found:
            replica.env = OPERATOR_ENV
        try:
            await asyncio.gather(*(replica.start() for replica in found))
            yield stack, found
        finally:
            await asyncio.gather(*(replica.stop() for replica in found))


async def until(check: Callable[[], bool], timeout_sec: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_sec
    while not check():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.05)


async def leg(candidate: Candidate, end_once: Callable[[], bool] | None = None) -> None:
    """One connection's part of the interview, until the gateway closes it or it drops.

    With ``end_once``, the candidate ends the interview a second after that holds
    (the recognizer of a loaded test machine may take long to answer).
    """
    try:
        async with await candidate.connect() as socket, asyncio.TaskGroup() as group:
            group.create_task(candidate.converse(socket))
            if end_once is not None:
                await until(end_once)
                await asyncio.sleep(1.0)
                await socket.send(json.dumps({"type": "end"}))
    except* websockets.ConnectionClosed:
        pass


def terminal_events(stack: Stack, session_id: str) -> list[str]:
    path = stack.control_settings.database_path
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT type FROM events WHERE session_id = ? AND type != 'session.started'",
            (session_id,),
        ).fetchall()
    return [str(row[0]) for row in rows]


async def one_completed(stack: Stack, session_id: str) -> None:
    await stack.wait_for_status(session_id, "completed")
    await asyncio.sleep(1.0)  # a second report would come within the outbox's retry
    assert terminal_events(stack, session_id) == ["session.completed"]


async def started(stack: Stack, replica: GatewayProcess) -> tuple[str, Candidate]:
    session_id, token = await stack.create_session()
    candidate = Candidate(replica.url)
    await candidate.open(stack.http, token)
    return session_id, candidate


async def test_a_killed_owners_interview_continues_on_another_replica(
    tmp_path: Path, redis: str
) -> None:
    """SIGKILL mid-interview → reconnect elsewhere → taken over from the checkpoint."""
    async with replicas(tmp_path, redis) as (stack, (first, second)):
        session_id, candidate = await started(stack, first)
        connection = asyncio.create_task(leg(candidate))
        await until(lambda: bool(candidate.speech_starts))
        await asyncio.sleep(1.0)  # a checkpoint or two
        killed_at = time.monotonic()
        first.kill()
        await connection
        candidate.gateway_url = second.url
        await leg(candidate, end_once=lambda: candidate.heard_after(killed_at) is not None)

        assert candidate.kinds("ended")[-1]["reason"] == "completed"
        resumed = candidate.kinds("live")[-1]
        assert resumed["resumed"] is True and resumed["elapsed_sec"] >= 1
        heard = candidate.heard_after(killed_at)
        assert heard is not None and heard - killed_at < TAKEOVER_LIMIT_SEC
        captions = [e["text"] for e in candidate.kinds("caption") if e["speaker"] == "interviewer"]
        assert any("lost the connection" in text for text in captions)
        await one_completed(stack, session_id)


async def test_a_websocket_join_on_a_non_owner_is_piped_to_the_owner(
    tmp_path: Path, redis: str
) -> None:
    """The reload lands on the other replica: forwarded, the interview stays one copy."""
    async with replicas(tmp_path, redis) as (stack, (owner, other)):
        session_id, candidate = await started(stack, owner)
        first = asyncio.create_task(leg(candidate))
        await until(lambda: bool(candidate.kinds("live")))
        # The other replica knows the ticket's session from its first checkpoint on.
        await asyncio.sleep(1.0)
        reload = Candidate(other.url, ticket=candidate.ticket)
        relayed = asyncio.create_task(leg(reload, end_once=lambda: reload.frames_received > 100))
        await until(lambda: bool(reload.kinds("live")))
        # One copy, on the owner: the other replica only relays.
        seen = await wait_overview(stack.http, other.url, lambda o: session_id in live_ids(o))
        assert [s["replica_id"] for s in seen["sessions"]] == [owner.replica_id]
        await relayed
        await first

        assert candidate.kinds("error")[-1]["code"] == "SUPERSEDED"
        assert reload.kinds("live")[0]["resumed"] is True
        assert reload.kinds("ended")[-1]["reason"] == "completed"
        assert reload.frames_received > 100
        await one_completed(stack, session_id)


async def test_a_rolling_restart_moves_every_live_interview_and_loses_none(
    tmp_path: Path, redis: str
) -> None:
    """SIGTERM each replica in turn: its interviews reconnect elsewhere at once."""
    async with replicas(tmp_path, redis) as (stack, (first, second)):
        session_id, candidate = await started(stack, first)
        connection = asyncio.create_task(leg(candidate))
        await until(lambda: bool(candidate.speech_starts))
        await asyncio.sleep(1.0)
        moved_at = time.monotonic()
        first.terminate()
        await connection
        assert candidate.kinds("reconnect")[-1]["reason"] == "GATEWAY_DRAINING"
        assert await first.wait() == 0
        candidate.gateway_url = second.url
        await leg(candidate, end_once=lambda: candidate.heard_after(moved_at) is not None)

        assert candidate.kinds("live")[-1]["resumed"] is True
        assert candidate.kinds("ended")[-1]["reason"] == "completed"
        heard = candidate.heard_after(moved_at)
        assert heard is not None and heard - moved_at < TAKEOVER_LIMIT_SEC
        await one_completed(stack, session_id)
