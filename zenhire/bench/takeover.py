"""How fast an interview comes back when its replica goes away.

``zenhire bench --only takeover --takeover-runs 10`` runs two gateway
replicas as processes on one redis-server beside the reference control
plane. Each run starts an interview on one replica, lets it talk, then either
SIGKILLs the owner (the page reconnects to the other replica, which takes the
interview over once the owner's lease has run out) or SIGTERMs it (a rolling
deploy: the draining owner tells the page to reconnect and lets go at once).
The figure is the time from the signal to the first interviewer audio the
candidate hears again. Slot acquisition against the same Redis is timed too.

The replicas keep artifacts on S3 (moto's server as its own process) with
the shipped 10 s recording segments, and each SIGKILL lands at a random
moment of a segment. Audio lost per takeover is then the part of the
interview's timeline before the kill that no segment of the dead owner
covers (its unsealed last segment): the kill's place on the timeline (time
since the candidate's first ``live``) less the end of the owner's last
segment in the store. The recording's gap (that loss plus the outage, as
silence: up to the taking-over replica's ``live``) is reported beside it.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import websockets
from redis.asyncio import Redis

from audio.frames import SAMPLE_RATE
from gateway.s2s.s3 import S3ArtifactStore
from gateway.session.segments import StoredSegment, segments_prefix, stored_segments
from gateway.settings import Settings
from gateway.state.redis_slots import RedisSlots
from zenhire.loopback.candidate import Candidate
from zenhire.loopback.redis import redis_server
from zenhire.loopback.replicas import GatewayProcess
from zenhire.loopback.s3 import s3_environment, s3_server
from zenhire.loopback.stack import Stack, running_stack

GIVE_UP_SEC = 30.0
# The defaults of gateway.settings: the figure is the one a deployment gets.
PRODUCT_OWNERSHIP_ENV = {"ZENHIRE_OWNER_LEASE_SEC": "3", "ZENHIRE_CHECKPOINT_INTERVAL_SEC": "1"}
SLOT_SAMPLES = 2000
SEGMENT_SEC = 10.0  # the shipped default with S3
# Talk this long before the signal: checkpoints first, then any moment of a segment.
TALK_SEC = 1.5
MS_PER_SEC = 1000


@dataclass
class Run:
    """One takeover: when the interviewer was heard again, and (SIGKILL) the audio lost."""

    back_sec: float
    lost_ms: float | None = None
    gap_ms: float | None = None


async def _until(check: Callable[[], bool], timeout_sec: float = GIVE_UP_SEC) -> bool:
    deadline = time.monotonic() + timeout_sec
    while not check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


async def _leg(candidate: Candidate, stop: asyncio.Event) -> None:
    """One connection of the candidate until it closes, drops or ``stop`` is set."""
    with contextlib.suppress(Exception):
        async with await candidate.connect() as socket:
            talking = asyncio.create_task(candidate.converse(socket))
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait({talking, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if stop.is_set():
                with contextlib.suppress(websockets.ConnectionClosed):
                    await socket.send('{"type": "end"}')
            await asyncio.wait_for(talking, 10)
            stopping.cancel()


async def _rejoin(candidate: Candidate, stop: asyncio.Event, since: float) -> None:
    """Connect again and again, as a page does, until the interview is back or over."""
    deadline = time.monotonic() + GIVE_UP_SEC
    while not stop.is_set() and time.monotonic() < deadline:
        await _leg(candidate, stop)
        if candidate.kinds("ended") or candidate.heard_after(since) is not None:
            return
        await asyncio.sleep(0.1)


async def _one(
    stack: Stack, store: S3ArtifactStore, owner: GatewayProcess, other: GatewayProcess, kill: bool
) -> Run:
    session_id, token = await stack.create_session()
    candidate = Candidate(owner.url)
    await candidate.open(stack.http, token)
    stop = asyncio.Event()
    first = asyncio.create_task(_leg(candidate, stop))
    await _until(lambda: bool(candidate.speech_starts))
    await asyncio.sleep(TALK_SEC + (random.uniform(0, SEGMENT_SEC) if kill else 0.0))
    signalled = time.monotonic()
    owner.kill() if kill else owner.terminate()
    await asyncio.wait_for(first, GIVE_UP_SEC)
    shipped = await _segments(store, session_id)
    candidate.gateway_url = other.url
    second = asyncio.create_task(_rejoin(candidate, stop, signalled))
    heard = await _until(lambda: candidate.heard_after(signalled) is not None)
    stop.set()
    await asyncio.wait_for(second, GIVE_UP_SEC)
    with contextlib.suppress(TimeoutError):
        await owner.wait()
    await owner.start()
    await stack.wait_for_status(session_id, "completed", timeout_sec=GIVE_UP_SEC)
    back = candidate.heard_after(signalled)
    run = Run((back - signalled) if heard and back is not None else float("inf"))
    if kill and candidate.live_times:
        resumed = [t - signalled for t in candidate.live_times if t > signalled]
        run.lost_ms, run.gap_ms = audio_loss(
            signalled - candidate.live_times[0], shipped, resumed[0] if resumed else None
        )
    return run


async def _segments(store: S3ArtifactStore, session_id: str) -> list[StoredSegment]:
    return sorted(
        stored_segments(await store.list(segments_prefix(session_id))), key=lambda s: s.name
    )


def audio_loss(
    killed_at_sec: float, shipped: list[StoredSegment], back_after_sec: float | None
) -> tuple[float, float | None]:
    """Audio lost and the recording's gap (ms) of a takeover after a SIGKILL.

    ``killed_at_sec``: the kill's place on the interview's timeline;
    ``shipped``: the dead owner's segments in the store once it died;
    ``back_after_sec``: from the kill to the new owner's start (the outage),
    whose timeline begins there, so that the gap is the loss plus the outage.
    """
    shipped_ms = max((s.end for s in shipped), default=0) * MS_PER_SEC / SAMPLE_RATE
    lost = max(0.0, killed_at_sec * MS_PER_SEC - shipped_ms)
    gap = None if back_after_sec is None else lost + back_after_sec * MS_PER_SEC
    return round(lost), None if gap is None else round(gap)


def _percentiles(values: list[float], unit: str = "sec", digits: int = 2) -> dict[str, Any]:
    finite = sorted(v for v in values if v != float("inf"))
    if not finite:
        return {"runs": len(values), "failed": len(values)}
    cuts = statistics.quantiles(finite, n=100, method="inclusive") if len(finite) > 1 else finite
    return {
        "runs": len(values),
        "failed": len(values) - len(finite),
        f"p50_{unit}": round(statistics.median(finite), digits),
        f"p95_{unit}": round(cuts[94] if len(finite) > 1 else finite[0], digits),
        f"max_{unit}": round(finite[-1], digits),
    }


async def _slot_latency(redis_url: str) -> dict[str, Any]:
    async with Redis.from_url(redis_url) as client:
        slots = RedisSlots(client, waiter_ttl_sec=30.0, lease_sec=15.0)
        times = []
        for number in range(SLOT_SAMPLES):
            began = time.perf_counter()
            await slots.acquire("bench", f"s-{number}", cap=SLOT_SAMPLES)
            times.append((time.perf_counter() - began) * 1000)
        for number in range(SLOT_SAMPLES):
            await slots.release("bench", f"s-{number}")
    cuts = statistics.quantiles(times, n=100)
    return {
        "samples": SLOT_SAMPLES,
        "p50_ms": round(statistics.median(times), 3),
        "p99_ms": round(cuts[98], 3),
    }


async def takeover(runs: int, work_dir: Path | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="zenhire-takeover-") as scratch:
        work = work_dir or Path(scratch)
        with redis_server(work / "redis") as redis_url, s3_server() as s3_url:
            s3_env = s3_environment(s3_url, ZENHIRE_S3_PREFIX="takeover")
            settings = Settings.from_env(s3_env)
            assert settings.s3 is not None and settings.segment_sec == SEGMENT_SEC
            store = S3ArtifactStore(settings.s3)
            async with running_stack(work, start_gateway=False, max_concurrent=4) as stack:
                pair = [
                    GatewayProcess(
                        f"replica-{name}", work / "replicas", stack.control_url, redis_url
                    )
                    for name in "ab"
                ]
                for replica in pair:
                    # The shipped lease and segments, not the tests' shorter ones.
                    replica.env = {**PRODUCT_OWNERSHIP_ENV, **s3_env}
                await asyncio.gather(*(replica.start() for replica in pair))
                try:
                    killed, drained = [], []
                    for run in range(runs):
                        owner, other = pair[run % 2], pair[1 - run % 2]
                        killed.append(await _one(stack, store, owner, other, kill=True))
                        drained.append(await _one(stack, store, other, owner, kill=False))
                finally:
                    await asyncio.gather(*(replica.stop() for replica in pair))
            slots = await _slot_latency(redis_url)
    return {
        "sigkill": _percentiles([r.back_sec for r in killed]),
        "rolling_restart": _percentiles([r.back_sec for r in drained]),
        "audio_lost": _percentiles(
            [r.lost_ms for r in killed if r.lost_ms is not None], unit="ms", digits=0
        ),
        "recording_gap": _percentiles(
            [r.gap_ms for r in killed if r.gap_ms is not None], unit="ms", digits=0
        ),
        "segment_sec": SEGMENT_SEC,
        "slot_acquire": slots,
    }


def table(section: dict[str, Any]) -> list[str]:
    lines = [
        "| takeover after | runs | failed | p50 s | p95 s | max s | goal p95 |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, goal in (("sigkill", "≤ 5 s"), ("rolling_restart", "≤ 2 s")):
        row = section.get(name, {})
        lines.append(
            f"| {name} | {row.get('runs')} | {row.get('failed')} | {row.get('p50_sec')} | "
            f"{row.get('p95_sec')} | {row.get('max_sec')} | {goal} |"
        )
    lines += [
        "",
        "| after a SIGKILL | runs | p50 ms | p95 ms | max ms | goal |",
        "|---|---|---|---|---|---|",
    ]
    for name, goal in (
        ("audio_lost", f"≤ {section.get('segment_sec')} s (a segment)"),
        ("recording_gap", "lost + outage, as silence"),
    ):
        row = section.get(name, {})
        lines.append(
            f"| {name} | {row.get('runs')} | {row.get('p50_ms')} | {row.get('p95_ms')} | "
            f"{row.get('max_ms')} | {goal} |"
        )
    slots = section.get("slot_acquire", {})
    lines += [
        "",
        f"Slot acquire against Redis: p50 {slots.get('p50_ms')} ms, "
        f"p99 {slots.get('p99_ms')} ms over {slots.get('samples')} acquisitions.",
        "",
    ]
    return lines
