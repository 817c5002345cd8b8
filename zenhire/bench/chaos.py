"""The fault soak: interviews for a long time while faults land at random.

``zenhire bench --only chaos --chaos-sec 1800 --chaos-sessions 50`` runs the
gateway as its own process (local interviewer, state on a real redis-server)
beside the reference control plane, and keeps ``--chaos-concurrency``
scripted candidates in interviews until ``--chaos-sessions`` have been held.
Every ``--chaos-every`` seconds (on average) one fault from `FAULTS` lands.
At the end every session must have reached a terminal status at the control
plane (no interview and no event lost), no request may have had a 5xx, and
the gateway's resident memory, sampled every `SAMPLE_SEC`, should stay flat
(the slope over the longest-lived gateway process is reported).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import signal
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from zenhire.bench.probe import python, sample, started
from zenhire.loopback import candidate as scripted
from zenhire.loopback.candidate import Candidate
from zenhire.loopback.redis import redis_server
from zenhire.loopback.stack import (
    FAST_INTERVIEW_ENV,
    FAST_OUTBOX_ENV,
    LOOPBACK_LIMITS_ENV,
    Stack,
    gateway_environment,
    running_stack,
)
from zenhire.tasks import TaskGroup

log = logging.getLogger("zenhire.bench")

# ``--chaos-faults`` picks among these by key (all by default): without
# ``kill`` one gateway process lives through the whole soak, so its memory
# over the full length says whether anything leaks.
FAULTS = {
    "drop": "drop a candidate's connection (it comes back)",
    "vanish": "a candidate vanishes",
    "controlplane": "control plane down for 5-15 s",
    "kill": "gateway SIGKILL, restarted",
    "flush": "Redis FLUSHALL",
}
SAMPLE_SEC = 10.0
GRACE_SEC = 5
TERMINAL = ("completed", "failed", "expired")
SETTLE_SEC = 120.0
MIB = 1024 * 1024


class Soak:
    def __init__(self, stack: Stack, redis_url: str, work: Path, sessions: int) -> None:
        self.stack = stack
        self.redis_url = redis_url
        self.work = work
        self.wanted = sessions
        self.started = 0
        self.session_ids: list[str] = []
        self.live: dict[str, tuple[Candidate, asyncio.Task[None]]] = {}
        self.faults: Counter[str] = Counter()
        self.server_errors = 0
        self.pid = 0
        self.restarts = 0
        self.memory: list[list[tuple[float, float]]] = [[]]
        self.lost: dict[str, str] = {}  # session id → its last status, when not terminal

    # -- the gateway ------------------------------------------------------------

    @asynccontextmanager
    async def gateway(self) -> AsyncIterator[int]:
        settings = self.stack.gateway_settings
        env = {
            **gateway_environment(settings.data_dir, settings.port, self.stack.control_url),
            **FAST_INTERVIEW_ENV,
            **FAST_OUTBOX_ENV,
            **LOOPBACK_LIMITS_ENV,
            "ZENHIRE_LOCAL_MAX_QUESTIONS": "3",
            "ZENHIRE_REDIS_URL": self.redis_url,
            "ZENHIRE_REPLICA_ID": "soak",
            "ZENHIRE_RECONNECT_GRACE_SEC": str(GRACE_SEC),
        }
        async with started(
            [python(), "-m", "zenhire.cli", "gateway", "serve"],
            core=None,
            env=env,
            log_path=self.work / f"gateway-{self.restarts}.log",
            ready_url=f"{self.stack.gateway_url}/healthz",
        ) as pid:
            self.pid = pid
            yield pid

    # -- candidates -------------------------------------------------------------

    async def candidates(self, concurrency: int, mean_sec: float) -> None:
        while self.started < self.wanted:
            if len(self.live) >= concurrency:
                await asyncio.sleep(0.5)
                continue
            self.started += 1
            await self.begin(random.uniform(0.5, 1.5) * mean_sec)

    async def begin(self, seconds: float) -> None:
        try:
            session_id, token = await self.stack.create_session()
        except Exception:
            log.exception("creating a session failed (the control plane may be down)")
            self.started -= 1
            await asyncio.sleep(1.0)
            return
        candidate = Candidate(self.stack.gateway_url)
        for _ in range(30):
            try:
                response = await candidate.open(self.stack.http, token)
            except Exception:
                response = None
            # The control plane down at verify is a 503 by contract; any other 5xx counts.
            if (
                response is not None
                and response.status_code not in (200, 503)
                and response.status_code >= 500
            ):
                self.server_errors += 1
            if response is not None and response.status_code == 200:
                break
            await asyncio.sleep(1.0)
        else:
            log.warning("a candidate never got a ticket", extra={"session_id": session_id})
        self.session_ids.append(session_id)
        task = asyncio.create_task(self.hold(candidate, token, seconds))
        self.live[session_id] = (candidate, task)
        task.add_done_callback(lambda _: self.live.pop(session_id, None))

    async def hold(self, candidate: Candidate, token: str, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                await candidate.interview([], end_after_sec=max(1.0, deadline - time.monotonic()))
            codes = {event.get("code") for event in candidate.kinds("error")}
            if candidate.kinds("ended") or "SESSION_FINISHED" in codes:
                return
            await asyncio.sleep(1.0)  # dropped or refused: come back, as a page does
            if "SESSION_UNKNOWN" in codes:  # a restarted gateway: verify the link again
                candidate.events.clear()
                with contextlib.suppress(Exception):
                    await candidate.open(self.stack.http, token)

    # -- faults -----------------------------------------------------------------

    async def faults_forever(self, every_sec: float, kinds: tuple[str, ...]) -> None:
        while True:
            await asyncio.sleep(random.expovariate(1 / every_sec))
            fault = FAULTS[random.choice(kinds)]
            self.faults[fault] += 1
            log.info("fault", extra={"fault": fault})
            try:
                await self.inject(fault)
            except Exception:
                log.exception("injecting a fault failed", extra={"fault": fault})

    async def inject(self, fault: str) -> None:
        if fault.startswith("drop") or fault.startswith("a candidate vanishes"):
            # Only candidates that joined: one that vanishes before its first hello
            # leaves its link `initiated` until the token expires (rightly), which
            # the verdict would count as lost.
            joined = [c for c in self.live.values() if c[0].socket is not None]
            if not joined:
                return
            candidate, task = random.choice(joined)
            assert candidate.socket is not None
            scripted.drop(candidate.socket)  # no close frame: the network went away
            if fault.startswith("a candidate vanishes"):
                task.cancel()
        elif fault.startswith("control plane"):
            await self.stack.control.stop()
            try:
                await asyncio.sleep(random.uniform(5, 15))
            finally:
                # Back even when the soak ends mid-outage: the verdict asks it.
                await self.stack.control.start()
        elif fault.startswith("gateway"):
            os.kill(self.pid, signal.SIGKILL)
        elif fault.startswith("Redis"):
            async with aioredis.Redis.from_url(self.redis_url) as client:
                await client.flushall()

    async def sample_memory(self) -> None:
        while True:
            await asyncio.sleep(SAMPLE_SEC)
            with contextlib.suppress(OSError, ValueError):
                self.memory[-1].append((time.monotonic(), sample(self.pid).rss_bytes / MIB))

    async def keep_gateway(self, stop: asyncio.Event) -> None:
        """Run the gateway; start it again whenever it was killed."""
        while not stop.is_set():
            async with self.gateway() as pid:
                while not stop.is_set():
                    try:
                        os.kill(pid, 0)
                    except ProcessLookupError:
                        break
                    if _zombie(pid):
                        break
                    await asyncio.sleep(0.5)
            if not stop.is_set():
                self.restarts += 1
                self.memory.append([])

    # -- the verdict ------------------------------------------------------------

    async def outcomes(self) -> Counter[str]:
        found: Counter[str] = Counter()
        deadline = time.monotonic() + SETTLE_SEC
        pending = list(self.session_ids)
        last_seen: dict[str, str] = {}
        while pending and time.monotonic() < deadline:
            still = []
            for session_id in pending:
                try:
                    status = (await self.stack.session(session_id))["status"]
                except Exception:
                    status = "unknown"
                if status in TERMINAL:
                    found[status] += 1
                else:
                    still.append(session_id)
                    last_seen[session_id] = status
            pending = still
            if pending:
                await asyncio.sleep(2.0)
        self.lost = {session_id: last_seen[session_id] for session_id in pending}
        found["lost"] = len(pending)
        return found


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
    except OSError:
        return True


def memory_figures(series: list[list[tuple[float, float]]]) -> dict[str, Any]:
    """RSS of the longest-lived gateway process: first, last, max and the slope.

    The slope is given over the whole life and over its second half: a process
    warms up (allocator arenas, caches, the first interviews' imports) before
    its memory can be flat.
    """
    longest = max(series, key=len)
    if len(longest) < 2:
        return {"samples": len(longest)}
    times = [t - longest[0][0] for t, _ in longest]
    rss = [r for _, r in longest]
    slope = statistics.linear_regression(times, rss).slope
    half = len(times) // 2
    late = statistics.linear_regression(times[half:], rss[half:]).slope if half >= 2 else None
    return {
        "samples": len(longest),
        "span_min": round(times[-1] / 60, 1),
        "first_mib": round(rss[0], 1),
        "last_mib": round(rss[-1], 1),
        "max_mib": round(max(rss), 1),
        "slope_mib_per_hour": round(slope * 3600, 1),
        "second_half_slope_mib_per_hour": None if late is None else round(late * 3600, 1),
    }


async def chaos(
    seconds: float,
    sessions: int,
    concurrency: int,
    every_sec: float,
    work_dir: Path | None,
    kinds: tuple[str, ...] = tuple(FAULTS),
) -> dict[str, Any]:
    """Hold ``sessions`` interviews over about ``seconds`` with faults every ``every_sec``."""
    with tempfile.TemporaryDirectory(prefix="zenhire-chaos-") as scratch:
        work = work_dir or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        mean_sec = seconds * concurrency / sessions
        with redis_server(work / "redis") as redis_url:
            async with running_stack(
                work,
                max_concurrent=concurrency,
                max_duration_sec=7200,
                credits=10**9,
                start_gateway=False,
            ) as stack:
                soak = Soak(stack, redis_url, work, sessions)
                stop = asyncio.Event()
                began = time.monotonic()
                async with TaskGroup() as group:
                    keeper = group.create_task(soak.keep_gateway(stop))
                    await asyncio.sleep(5.0)
                    helpers = [
                        group.create_task(soak.faults_forever(every_sec, kinds)),
                        group.create_task(soak.sample_memory()),
                    ]
                    await soak.candidates(concurrency, mean_sec)
                    while soak.live:
                        holding = [task for _, task in soak.live.values()]
                        await asyncio.gather(*holding, return_exceptions=True)
                    for helper in helpers:
                        helper.cancel()
                    outcomes = await soak.outcomes()
                    stop.set()
                    await keeper
                return {
                    "seconds": round(time.monotonic() - began),
                    "sessions": len(soak.session_ids),
                    "concurrency": concurrency,
                    "faults": dict(soak.faults),
                    "gateway_restarts": soak.restarts,
                    "outcomes": dict(outcomes),
                    "lost_statuses": dict(Counter(soak.lost.values())),
                    "lost_sessions": soak.lost,
                    "server_errors": soak.server_errors,
                    "memory": memory_figures(soak.memory),
                }


def table(section: dict[str, Any]) -> list[str]:
    memory = section.get("memory", {})
    rows = [
        ("interviews", section.get("sessions")),
        ("seconds", section.get("seconds")),
        ("faults injected", sum(section.get("faults", {}).values())),
        *((f"  {name}", count) for name, count in section.get("faults", {}).items()),
        ("gateway restarts", section.get("gateway_restarts")),
        *((f"status {name}", count) for name, count in section.get("outcomes", {}).items()),
        *((f"  lost, last seen {name}", n) for name, n in section.get("lost_statuses", {}).items()),
        ("5xx answers", section.get("server_errors")),
        (
            "RSS first / last / max (MiB)",
            "{} / {} / {}".format(
                memory.get("first_mib"), memory.get("last_mib"), memory.get("max_mib")
            ),
        ),
        ("RSS slope (MiB per hour)", memory.get("slope_mib_per_hour")),
        ("RSS slope, second half (MiB per hour)", memory.get("second_half_slope_mib_per_hour")),
        ("longest gateway life (min)", memory.get("span_min")),
    ]
    return ["| measure | value |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows), ""]
