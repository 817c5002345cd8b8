"""One ramp: add simulated candidates step by step, measure each plateau.

At each step the new candidates are admitted (a few at a time, as a
crowd of pages would), the load settles, and for `Plan.plateau_sec` the
target's CPU and memory and the candidates' time stamps are collected.
The ramp stops early after two failing steps in a row: past its limit, a
saturated core only gets worse.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from zenhire.bench.probe import Sample, cpu_share, machine_busy_sec, sample
from zenhire.bench.stats import CandidateStamps, Relay
from zenhire.tasks import TaskGroup

log = logging.getLogger("zenhire.bench")

ADMIT_CONCURRENCY = 8
LIVE_TIMEOUT_SEC = 60.0
END_TIMEOUT_SEC = 60.0
FAILED_STEPS_TO_STOP = 2
MB = 1024 * 1024
LAG_PROBE_SEC = 0.005


@dataclass(frozen=True)
class Plan:
    transport: str  # "websocket" | "webrtc"
    steps: tuple[int, ...]
    settle_sec: float
    plateau_sec: float
    latency_limit_ms: float

    @property
    def max_frames(self) -> int:
        """Frames one candidate may send in the whole ramp (with room for admission)."""
        per_step = self.settle_sec + self.plateau_sec + 15.0
        return int((len(self.steps) * per_step + 30.0) * 50)


@dataclass(frozen=True)
class Step:
    transport: str
    target: str
    sessions: int
    started: int
    cpu_pct: float
    cpu_per_session_pct: float
    rss_mb: float
    rss_per_session_mb: float
    load_cpu_pct: float
    load_lag_max_ms: float
    # Everything else the machine ran meanwhile (other people's tests): noise.
    other_cpu_pct: float
    relay: Relay | None
    passed: bool

    def as_dict(self) -> dict[str, object]:
        found = asdict(self)
        found["relay"] = None if self.relay is None else self.relay.as_dict()
        return found


# One simulated candidate: (number, stamps, stop) → coroutine that runs it, live event.
Launch = Callable[[int, CandidateStamps, asyncio.Event], tuple[Awaitable[None], asyncio.Event]]
Measure = Callable[[list[CandidateStamps], tuple[float, float]], Relay | None]


async def ramp(
    plan: Plan,
    target: str,
    pid: int,
    launch: Launch,
    measure: Measure,
    first_number: int = 0,
    profile_dir: Path | None = None,
) -> list[Step]:
    """Run ``plan`` against process ``pid``; ``launch`` starts one candidate."""
    stop = asyncio.Event()
    stamps: list[CandidateStamps] = []
    lives: list[asyncio.Event] = []
    failures: list[BaseException] = []
    results: list[Step] = []
    idle = sample(pid)
    gate = asyncio.Semaphore(ADMIT_CONCURRENCY)

    async def one(number: int, mine: CandidateStamps) -> None:
        async with gate:
            running, live = launch(number, mine, stop)
            lives.append(live)
        try:
            await running
        except Exception as exc:  # one simulated candidate failed: count it, keep going
            log.warning("candidate %d failed: %r", number, exc)
            failures.append(exc)
            live.set()

    async with TaskGroup() as group:
        tasks: list[asyncio.Task[None]] = []
        failed_in_a_row = 0
        for sessions in plan.steps:
            while len(stamps) < sessions:
                mine = CandidateStamps(first_number + len(stamps), plan.max_frames)
                stamps.append(mine)
                tasks.append(group.create_task(one(mine.number, mine)))
            await _wait_live(lives, sessions)
            await asyncio.sleep(plan.settle_sec)
            profile = (
                None
                if profile_dir is None
                else profile_dir / f"{target}-{plan.transport}-{sessions}"
            )
            step = await _plateau(plan, target, pid, idle, stamps, len(failures), measure, profile)
            results.append(step)
            log.info("%s %s: %s", target, plan.transport, _brief(step))
            failed_in_a_row = 0 if step.passed else failed_in_a_row + 1
            if failed_in_a_row >= FAILED_STEPS_TO_STOP:
                break
        stop.set()
        _, late = await asyncio.wait(tasks, timeout=END_TIMEOUT_SEC)
        for task in late:
            task.cancel()
    return results


async def _wait_live(lives: list[asyncio.Event], count: int) -> None:
    deadline = time.monotonic() + LIVE_TIMEOUT_SEC
    while len(lives) < count or not all(live.is_set() for live in lives):
        if time.monotonic() > deadline:
            log.warning("not every candidate went live in %.0f s", LIVE_TIMEOUT_SEC)
            return
        await asyncio.sleep(0.05)


async def _plateau(
    plan: Plan,
    target: str,
    pid: int,
    idle: Sample,
    stamps: list[CandidateStamps],
    failed: int,
    measure: Measure,
    profile: Path | None,
) -> Step:
    spy = None if profile is None else await _profile(pid, plan.plateau_sec, profile)
    first, load_first, busy_first = sample(pid), sample(os.getpid()), machine_busy_sec()
    lag = await _loop_lag(plan.plateau_sec)
    last, load_last, busy_last = sample(pid), sample(os.getpid()), machine_busy_sec()
    if spy is not None:
        await spy.wait()
    window = (first.at, last.at)
    relay = measure(stamps, window)
    sessions = len(stamps)
    cpu = cpu_share(first, last)
    load = cpu_share(load_first, load_last)
    other = (busy_last - busy_first) / (last.at - first.at) - cpu - load
    p99 = relay.p99_ms if relay is not None else None
    passed = (
        failed == 0
        and (relay is None or (relay.lost == 0 and relay.gaps == 0))
        and (p99 is None or p99 <= plan.latency_limit_ms)
    )
    return Step(
        transport=plan.transport,
        target=target,
        sessions=sessions,
        started=sessions - failed,
        cpu_pct=round(cpu * 100, 2),
        cpu_per_session_pct=round(cpu * 100 / sessions, 3),
        rss_mb=round(last.rss_bytes / MB, 1),
        rss_per_session_mb=round((last.rss_bytes - idle.rss_bytes) / MB / sessions, 3),
        load_cpu_pct=round(load * 100, 1),
        load_lag_max_ms=round(lag * 1000, 1),
        other_cpu_pct=round(max(0.0, other) * 100, 1),
        relay=relay,
        passed=passed,
    )


async def _profile(pid: int, seconds: float, path: Path) -> asyncio.subprocess.Process | None:
    """py-spy samples ``pid`` for ``seconds`` into ``path``.txt (collapsed stacks)."""
    spy = shutil.which("py-spy")
    if spy is None:
        log.warning("py-spy is not installed; no profile")
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    command = [spy, "record", "-p", str(pid), "-d", str(max(1, int(seconds))), "-r", "200"]
    command += ["-f", "raw", "--nonblocking", "-o", f"{path}.txt"]
    return await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )


async def _loop_lag(seconds: float) -> float:
    """Sleep ``seconds`` in short naps; the longest oversleep: how long this loop stalled.

    Time stamps are taken in this process, so its own stalls would show as
    latency; this says how much of what was measured could be ours.
    """
    worst = 0.0
    end = time.monotonic() + seconds
    while (now := time.monotonic()) < end:
        await asyncio.sleep(LAG_PROBE_SEC)
        worst = max(worst, time.monotonic() - now - LAG_PROBE_SEC)
    return worst


def _brief(step: Step) -> str:
    relay = step.relay
    latency = (
        ""
        if relay is None
        else f" up p99 {relay.uplink.p99_ms} ms, down p99 {relay.downlink.p99_ms} ms,"
        f" lost {relay.lost}, gaps {relay.gaps}"
    )
    return (
        f"N={step.sessions} cpu {step.cpu_pct}% ({step.cpu_per_session_pct}%/session)"
        f" rss {step.rss_mb} MB ({step.rss_per_session_mb} MB/session),"
        f" load {step.load_cpu_pct}% (stall {step.load_lag_max_ms} ms)"
        f" other {step.other_cpu_pct}%{latency} {'ok' if step.passed else 'FAIL'}"
    )
