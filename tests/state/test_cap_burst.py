"""A client's cap across gateway replicas (real processes on one real redis-server)
under a burst of candidates starting at the same moment."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from tests.operator import overview, wait_overview
from tests.state.test_takeover import replicas, terminal_events, until
from zenhire.loopback.candidate import Candidate
from zenhire.tasks import TaskGroup

pytestmark = pytest.mark.timeout(90)

CAP = 3
REPLICAS = 3
CANDIDATES = 3 * CAP
# A waiter that has not asked again for three retry intervals loses its place
# (gateway/app.py): on two loaded cores running three replicas and their
# interviews a replica's loop can lag past FAST_OWNERSHIP_ENV's 0.9 s.
RETRY_ENV = {"ZENHIRE_WAITING_RETRY_SEC": "1"}
# Two waiting-room retries in which an admission past the cap would show.
SETTLE_SEC = 2.2


def _live(candidate: Candidate) -> bool:
    return bool(candidate.kinds("live")) and not candidate.kinds("ended")


async def _burst(candidates: list[Candidate]) -> list[ClientConnection]:
    """Every socket open first, then every hello at once: the starts race."""
    sockets = await asyncio.gather(
        *(websockets.connect(c.ws_url, max_size=1 << 20, max_queue=None) for c in candidates)
    )
    hellos = [json.dumps({"type": "hello", "ticket": c.ticket}) for c in candidates]
    await asyncio.gather(*(s.send(hello) for s, hello in zip(sockets, hellos, strict=True)))
    return sockets


@pytest.mark.fault(
    "burst of starts across replicas",
    injected=f"{CANDIDATES} candidates of a client capped at {CAP} starting at the same moment "
    f"on {REPLICAS} replicas",
    happened=f"exactly {CAP} live at any time, the rest in the waiting room and admitted as "
    "slots free; every slot free again at the end",
)
async def test_a_burst_of_starts_on_every_replica_admits_exactly_the_cap(
    tmp_path: Path, redis: str
) -> None:
    started = replicas(tmp_path, redis, count=REPLICAS, max_concurrent=CAP, env=RETRY_ENV)
    async with started as (stack, found):
        candidates: list[Candidate] = []
        session_ids: list[str] = []
        for index in range(CANDIDATES):
            session_id, token = await stack.create_session(candidate_ref=f"cand-{index}")
            candidate = Candidate(found[index % REPLICAS].url)
            await candidate.open(stack.http, token)
            candidates.append(candidate)
            session_ids.append(session_id)
        sockets = dict(zip(session_ids, await _burst(candidates), strict=True))
        by_id = dict(zip(session_ids, candidates, strict=True))

        def live_now() -> list[str]:
            return [s for s, c in by_id.items() if _live(c)]

        def ended(ids: list[str]) -> bool:
            return all(by_id[s].kinds("ended") for s in ids)

        async with TaskGroup() as group:
            for session_id, socket in sockets.items():
                group.create_task(by_id[session_id].converse(socket))
            rounds = 0
            while not ended(session_ids):
                remaining = [s for s in session_ids if not by_id[s].kinds("ended")]
                admitted = min(CAP, len(remaining))
                # (Each lambda is awaited within its own round.)
                await until(lambda: len(live_now()) >= admitted)  # noqa: B023
                await asyncio.sleep(SETTLE_SEC)
                live = live_now()
                assert len(live) == admitted, "the cap holds across replicas"
                document = await overview(stack.http, found[rounds % REPLICAS].url)
                (client,) = document["clients"]
                assert (client["used"], client["cap"]) == (admitted, CAP)
                assert len(client["waiting"]) == len(remaining) - admitted, "nobody dropped"
                if rounds == 0:
                    # The documented answer to a busy cap: the waiting room, in order.
                    waiting = [c for c in candidates if not c.kinds("live")]
                    positions = sorted(c.kinds("waiting")[-1]["position"] for c in waiting)
                    assert positions == list(range(1, CANDIDATES - CAP + 1))
                for session_id in live:
                    await sockets[session_id].send(json.dumps({"type": "end"}))
                await until(lambda: ended(live))  # noqa: B023
                rounds += 1

        assert rounds == CANDIDATES // CAP
        assert [c.kinds("ended")[-1]["reason"] for c in candidates] == ["completed"] * CANDIDATES
        for session_id in session_ids:
            await stack.wait_for_status(session_id, "completed")
        # No slot leaked: the cap is free again, and nobody is left waiting.
        # (Replicas publish their live sessions every few seconds: the last may lag.)
        document = await wait_overview(stack.http, found[1].url, lambda o: not o["sessions"])
        assert [(c["used"], c["waiting"]) for c in document["clients"]] in ([], [(0, [])])
        await asyncio.sleep(1.0)  # a second report would come within the outbox's retry
        assert all(terminal_events(stack, s) == ["session.completed"] for s in session_ids)
