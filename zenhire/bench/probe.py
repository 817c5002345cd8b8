"""Processes under test: started pinned to a core, measured by their own accounting.

CPU time is ``utime + stime`` (all threads) from ``/proc/<pid>/stat``,
memory is ``VmRSS`` from ``/proc/<pid>/status``: what the kernel charged
the process, whatever the process thinks of itself.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
READY_TIMEOUT_SEC = 30.0
STOP_TIMEOUT_SEC = 20.0
# /proc/<pid>/stat fields after the command name: utime and stime are 14 and 15.
_UTIME, _STIME = 11, 12


@dataclass(frozen=True)
class Sample:
    at: float  # time.monotonic()
    cpu_sec: float
    rss_bytes: int


def sample(pid: int) -> Sample:
    """CPU seconds used so far and resident memory of process ``pid``."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    cpu = (int(fields[_UTIME]) + int(fields[_STIME])) / CLOCK_TICKS
    rss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) * 1024
            break
    return Sample(time.monotonic(), cpu, rss)


def machine_busy_sec() -> float:
    """CPU seconds all cores of the machine have been busy (not idle or iowait) since boot."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(v) for v in fields]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / CLOCK_TICKS


def cpu_share(first: Sample, last: Sample) -> float:
    """Share of one core used between two samples (1.0 = a whole core)."""
    elapsed = last.at - first.at
    return (last.cpu_sec - first.cpu_sec) / elapsed if elapsed > 0 else 0.0


def pin_self(core: int) -> None:
    """Run this process (and the threads it starts from now on) on ``core`` only."""
    os.sched_setaffinity(0, {core})


def pinned(command: Sequence[str], core: int | None) -> list[str]:
    """``command`` under ``taskset -c core`` (when given and taskset exists)."""
    taskset = shutil.which("taskset")
    if core is None or taskset is None:
        return list(command)
    return [taskset, "-c", str(core), *command]


@asynccontextmanager
async def started(
    command: Sequence[str],
    *,
    core: int | None,
    env: Mapping[str, str],
    log_path: Path,
    ready_url: str,
) -> AsyncIterator[int]:
    """Run ``command`` pinned to ``core`` until ``ready_url`` answers 200; yield its pid.

    Stopped with SIGINT (uvicorn's graceful shutdown), then killed if it overruns.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            *pinned(command, core),
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # Not this directory: `python -m` would put it first on the path.
            cwd=log_path.parent,
        )
        try:
            await _wait_ready(process, ready_url, log_path)
            yield process.pid
        finally:
            await _stop(process)


async def _wait_ready(process: asyncio.subprocess.Process, url: str, log_path: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SEC
    async with httpx.AsyncClient(timeout=1.0) as http:
        while True:
            if process.returncode is not None:
                raise RuntimeError(f"the process exited during start-up:\n{_tail(log_path)}")
            try:
                if (await http.get(url)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer within {READY_TIMEOUT_SEC} s")
            await asyncio.sleep(0.1)


def _tail(log_path: Path) -> str:
    return log_path.read_text(errors="replace")[-2000:]


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT_SEC)
        except TimeoutError:
            process.kill()
            await process.wait()


def python() -> str:
    return sys.executable
