"""Admission by load: past its CPU threshold a replica starts no interview and is not ready.

The measurement is the real one, this process's CPU time over a moving window;
the test makes the threshold low enough that one live interview crosses it
(an idle gateway here measures about 2 % of a core, one local interview about 12 %).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from gateway.ops.load import CpuLoad
from gateway.settings import LoadSettings
from zenhire.loopback.candidate import Candidate
from zenhire.loopback.speech import synthesize
from zenhire.loopback.stack import running_stack
from zenhire.tasks import TaskGroup

THRESHOLD_PERCENT = 6.0
WINDOW_SEC = 2.0
LOAD_ENV = {
    "ZENHIRE_MAX_CPU_PERCENT": str(THRESHOLD_PERCENT),
    "ZENHIRE_CPU_WINDOW_SEC": str(WINDOW_SEC),
}
SETTLE_TIMEOUT_SEC = 15.0
POLL_SEC = 0.25
SAMPLE_SEC = 0.05
BUSY_THREAD_PERCENT = 10.0


def test_the_moving_average_follows_this_processs_cpu() -> None:
    """A busy thread crosses a low threshold (low: the machine's cores are shared), and
    the average falls below it once the window has passed in idleness."""
    load = CpuLoad(LoadSettings(max_cpu_percent=BUSY_THREAD_PERCENT, window_sec=1.0))
    busy_until = time.monotonic() + 1.2
    sampled_at = 0.0
    while time.monotonic() < busy_until:
        sum(range(10_000))  # real work on this thread
        if time.monotonic() - sampled_at > SAMPLE_SEC:
            load.sample()
            sampled_at = time.monotonic()
    assert load.percent > BUSY_THREAD_PERCENT and load.overloaded
    for _ in range(round(1.5 / SAMPLE_SEC)):
        time.sleep(SAMPLE_SEC)
        load.sample()
    assert load.percent < BUSY_THREAD_PERCENT and not load.overloaded


def test_a_threshold_of_zero_never_refuses() -> None:
    load = CpuLoad(LoadSettings(max_cpu_percent=0.0, window_sec=1.0))
    busy_until = time.monotonic() + 0.3
    while time.monotonic() < busy_until:
        sum(range(10_000))
    load.sample()
    assert load.percent > 0 and not load.overloaded


async def _wait_for_cpu_check(
    http: httpx.AsyncClient, url: str, passing: bool
) -> dict[str, object]:
    deadline = time.monotonic() + SETTLE_TIMEOUT_SEC
    while True:
        ready = await http.get(f"{url}/readyz")
        body: dict[str, object] = ready.json()
        checks = body["checks"]
        assert isinstance(checks, dict)
        if checks["cpu"] is passing:
            assert (ready.status_code == 200) is passing
            return body
        assert time.monotonic() < deadline, f"cpu check never became {passing}: {body}"
        await asyncio.sleep(POLL_SEC)


@pytest.mark.fault(
    "replica CPU saturated",
    injected="CPU past ZENHIRE_MAX_CPU_PERCENT",
    happened="GATEWAY_CPU_HIGH (1013), /readyz 503; admitted once it falls",
)
async def test_a_replica_past_its_cpu_threshold_starts_no_interview_and_is_not_ready(
    tmp_path: Path,
) -> None:
    answer = synthesize("I would start by measuring where the time goes.")
    async with running_stack(tmp_path, gateway_env=LOAD_ENV) as stack:
        await _wait_for_cpu_check(stack.http, stack.gateway_url, passing=True)
        busy_id, busy = await stack.open_candidate(Candidate)
        async with TaskGroup() as group:
            group.create_task(busy.interview([answer] * 3, end_after_sec=8.0))
            overloaded = await _wait_for_cpu_check(stack.http, stack.gateway_url, passing=False)
            cpu_percent = overloaded["cpu_percent"]
            assert isinstance(cpu_percent, float) and cpu_percent > THRESHOLD_PERCENT

            second_id, second = await stack.open_candidate(Candidate)
            async with await second.connect() as socket:
                refusal = await socket.recv()
                assert "GATEWAY_CPU_HIGH" in str(refusal)
                await socket.wait_closed()
                assert socket.close_code == 1013
        # The live interview went on to its end; the load it made is gone with it.
        await stack.wait_for_status(busy_id, "completed")
        await _wait_for_cpu_check(stack.http, stack.gateway_url, passing=True)
        await second.interview([], end_after_sec=1.0)
        await stack.wait_for_status(second_id, "completed")
