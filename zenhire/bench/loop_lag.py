"""The gateway's event-loop lag with many live interviews on a slow disk, both disk paths.

`loop_lag` runs the same load twice against a fresh gateway pinned to its
core: first with ``ZENHIRE_DISK_IO=inline`` (recording writes and SQLite
commits on the event loop, as before they moved off it), then with the
default ``thread``. Each time, `neighbour` processes write and fsync
without pause on the file system of the gateway's data directory (with ``write_iops``,
that directory is a device held to so many writes a second: the real slow
disk of `zenhire.bench.slowdisk`, the neighbours then beside it), and
``sessions`` simulated WebSocket candidates (`zenhire.bench.ws_load`: the
lightest real client, real speech frames and the real protocol, decoding
nothing) hold live interviews with the realtime interviewer relaying to
the in-process fake upstream, recording on. Over the plateau the gateway's
own probe (`gateway.ops.loop_lag`, read from ``/metrics``) gives the lag:
the p99 over time of the plateau, its maximum and the p99 of the samples;
``/readyz`` is polled every second.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from audio.frames import SILENCE
from zenhire.bench import material, slowdisk
from zenhire.bench.probe import pinned, python
from zenhire.bench.run import gateway_launcher
from zenhire.bench.stack import Rig, rig
from zenhire.bench.stats import CandidateStamps
from zenhire.bench.upstream import BenchUpstream
from zenhire.tasks import TaskGroup

log = logging.getLogger("zenhire.bench")

MODES = ("inline", "thread")
ADMIT_CONCURRENCY = 8
LIVE_TIMEOUT_SEC = 90.0
END_TIMEOUT_SEC = 60.0
READY_POLL_SEC = 1.0
READY_TIMEOUT_SEC = 2.0
# A gateway whose loop waits on the disk may take this long to answer at all.
SCRAPE_TIMEOUT_SEC = 120.0
MICROPHONE_SEC = 30.0


async def loop_lag(
    options: Any,
    sessions: int,
    plateau_sec: float,
    neighbours: int,
    write_iops: int | None = None,
) -> dict[str, Any]:
    microphone = material.Microphone.of(
        await material.speech(material.CANDIDATE_LINES, MICROPHONE_SEC)
    )
    frames = int((options.settle_sec + plateau_sec + LIVE_TIMEOUT_SEC) * 50)
    results: dict[str, Any] = {
        "sessions": sessions,
        "plateau_sec": plateau_sec,
        "neighbours": neighbours,
        "disk": f"loop device held to {write_iops} write IOPS" if write_iops else "data disk",
        "runs": [],
    }
    with tempfile.TemporaryDirectory(prefix="zenhire-bench-") as scratch:
        work_dir = options.work_dir or Path(scratch)
        async with rig(work_dir, BenchUpstream([SILENCE], frames)) as found:
            for number, (mode, iops) in enumerate(_variants(write_iops)):
                label = f"{mode}-{number}"
                async with (
                    _data_disk(work_dir / f"gateway-lag-{label}", iops) as fsync_p50_ms,
                    _neighbours(work_dir / f"neighbour-{label}", neighbours) as disk,
                ):
                    run = await _one(
                        found, options, number, mode, microphone, sessions, plateau_sec, frames
                    )
                run["neighbour"] = disk
                run["disk"] = f"{iops} write IOPS" if iops else "data disk"
                run["disk_fsync_p50_ms"] = fsync_p50_ms
                results["runs"].append(run)
                log.info("loop-lag %s: %s", label, json.dumps(run))
    return results


def _variants(write_iops: int | None) -> list[tuple[str, int | None]]:
    """The runs: both disk paths; on a throttled device, first the default on the plain disk.

    That first run is the baseline of the same load with a fast disk, so the
    lag the CPU alone causes is measured beside what the slow disk adds.
    """
    if write_iops is None:
        return [(mode, None) for mode in MODES]
    return [("thread", None), *((mode, write_iops) for mode in MODES)]


async def _one(
    found: Rig,
    options: Any,
    number: int,
    mode: str,
    microphone: material.Microphone,
    sessions: int,
    plateau_sec: float,
    frames: int,
) -> dict[str, Any]:
    key = secrets.token_urlsafe(24)
    env = {
        **options.gateway_env,
        "ZENHIRE_DISK_IO": mode,
        "ZENHIRE_OPERATOR_KEY": key,
        "ZENHIRE_READY_LOOP_LAG_WINDOW_SEC": str(plateau_sec),
    }
    auth = {"Authorization": f"Bearer {key}"}
    launch = gateway_launcher(found, "websocket", microphone)
    stop = asyncio.Event()
    gate = asyncio.Semaphore(ADMIT_CONCURRENCY)
    lives: list[asyncio.Event] = []
    failed: list[Exception] = []

    async def one(number: int) -> None:
        async with gate:
            running, live = launch(number, CandidateStamps(number, frames), stop)
            lives.append(live)
        try:
            await running
        except Exception as exc:  # one simulated candidate failed: count it, go on
            failed.append(exc)
            live.set()

    first = 1_000_000 * (number + 1)  # candidate numbers apart between runs
    async with found.gateway(f"lag-{mode}-{number}", options.gateway_core, env):
        async with TaskGroup() as group:
            tasks = [group.create_task(one(first + n)) for n in range(sessions)]
            await _wait_live(lives, sessions)
            await asyncio.sleep(options.settle_sec)
            before = await _scrape(found, auth)
            not_ready, polls = await _poll_ready(found, plateau_sec)
            after = await _scrape(found, auth)
            stop.set()
            _, late = await asyncio.wait(tasks, timeout=END_TIMEOUT_SEC)
            for task in late:
                task.cancel()
        finished = await _scrape(found, auth)
    return {
        "disk_io": mode,
        "live": sum(live.is_set() for live in lives) - len(failed),
        "candidates_failed": len(failed),
        "failures": dict(Counter(_reason(exc) for exc in failed).most_common(3)),
        "lag_p99_over_time_ms": round(after["zenhire_event_loop_lag_p99_seconds"] * 1000, 1),
        "lag_max_ms": round(after["zenhire_event_loop_lag_max_seconds"] * 1000, 1),
        "lag_p99_samples_ms_at_most": _histogram_p99_ms(before, after),
        "not_ready_polls": not_ready,
        "ready_polls": polls,
        "sessions_finished": {
            name.split("code=")[1].split('"')[1]: int(value)
            for name, value in finished.items()
            if name.startswith("zenhire_sessions_finished_total{")
        },
    }


def _reason(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]  # the candidate's own task group: what went wrong inside
    return f"{type(exc).__name__}: {exc}"[:120]


async def _wait_live(lives: list[asyncio.Event], count: int) -> None:
    deadline = time.monotonic() + LIVE_TIMEOUT_SEC
    while len(lives) < count or not all(live.is_set() for live in lives):
        if time.monotonic() > deadline:
            log.warning("not every candidate went live in %.0f s", LIVE_TIMEOUT_SEC)
            return
        await asyncio.sleep(0.1)


async def _poll_ready(found: Rig, seconds: float) -> tuple[int, int]:
    """Poll ``/readyz`` for ``seconds``; how many polls said not ready, of how many."""
    refused = polls = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        await asyncio.sleep(READY_POLL_SEC)
        polls += 1
        try:
            answer = await found.http.get(f"{found.gateway_url}/readyz", timeout=READY_TIMEOUT_SEC)
            refused += answer.status_code != 200
        except httpx.TimeoutException:
            refused += 1  # as a load balancer's probe would, it counts as not ready
    return refused, polls


async def _scrape(found: Rig, auth: dict[str, str]) -> dict[str, float]:
    url = f"{found.gateway_url}/metrics"
    text = (await found.http.get(url, headers=auth, timeout=SCRAPE_TIMEOUT_SEC)).text
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


def _histogram_p99_ms(before: dict[str, float], after: dict[str, float]) -> float | None:
    """The bucket bound under which 99 % of the plateau's lag samples fell."""
    prefix = 'zenhire_event_loop_lag_seconds_bucket{le="'
    buckets = sorted(
        (float(name[len(prefix) : -2]), after[name] - before.get(name, 0.0))
        for name in after
        if name.startswith(prefix)
    )
    total = buckets[-1][1] if buckets else 0.0
    for bound, count in buckets:
        if total and count >= 0.99 * total:
            return round(bound * 1000, 1)
    return None


@asynccontextmanager
async def _data_disk(folder: Path, write_iops: int | None) -> AsyncIterator[float]:
    """The gateway's data directory: on a throttled device when asked; its fsync p50 in ms."""
    if write_iops is None:
        yield await asyncio.to_thread(slowdisk.fsync_ms, folder)
        return
    async with slowdisk.throttled_disk(folder, write_iops) as mounted:
        yield await asyncio.to_thread(slowdisk.fsync_ms, mounted)


@asynccontextmanager
async def _neighbours(folder: Path, count: int) -> AsyncIterator[list[dict[str, Any]]]:
    """``count`` fsync-heavy processes writing in ``folder``; their figures once stopped."""
    processes = [
        await asyncio.create_subprocess_exec(
            *pinned([python(), "-m", "zenhire.bench.neighbour", str(folder / str(n))], None),
            stdout=asyncio.subprocess.PIPE,
            stderr=sys.stderr,
        )
        for n in range(count)
    ]
    figures: list[dict[str, Any]] = []
    try:
        yield figures
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            out, _ = await process.communicate()
            if out.strip():
                figures.append(json.loads(out))
