"""The event loop's lag is measured, exported and makes the replica not ready, then ready again."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from gateway.ops.loop_lag import PROBE_INTERVAL_SEC, LoopLag
from tests.operator import AUTH, OPERATOR_ENV
from zenhire.loopback.stack import running_stack
from zenhire.tasks import TaskGroup

STALL_SEC = 0.4
WINDOW_SEC = 1.0


def stall() -> None:
    """A callback that blocks the loop, as a slow disk write on it would."""
    time.sleep(STALL_SEC)


async def test_a_stall_shows_as_the_recent_p99_and_leaves_with_the_window() -> None:
    lag = LoopLag(WINDOW_SEC)
    async with TaskGroup() as group:
        probing = group.create_task(lag.run())
        await asyncio.sleep(0.3)
        quiet = lag.recent_p99_sec()
        asyncio.get_running_loop().call_soon(stall)
        await asyncio.sleep(PROBE_INTERVAL_SEC * 2)
        stalled = lag.recent_p99_sec()
        await asyncio.sleep(WINDOW_SEC + 0.2)
        recovered = lag.recent_p99_sec()
        probing.cancel()
    assert quiet < 0.1
    assert stalled == pytest.approx(STALL_SEC, abs=0.1)
    assert lag.recent_max_sec() < 0.1 and recovered < 0.1


def test_one_stall_among_many_quick_wake_ups_still_counts() -> None:
    """Weighted by time: a 2 s stall is a fifth of a 10 s window, not one sample in 160."""
    clock = [0.0]
    lag = LoopLag(10.0, clock=lambda: clock[0])
    for _ in range(160):
        clock[0] += PROBE_INTERVAL_SEC
        lag.record(clock[0], 0.001)
    clock[0] += 2.0
    lag.record(clock[0], 2.0)
    assert lag.recent_p99_sec() == 2.0


@pytest.mark.fault(
    "event loop blocked",
    injected="a 0.4 s block of the gateway's loop",
    happened="/readyz 503 event_loop, ready again after the window",
)
async def test_a_blocked_loop_makes_the_gateway_not_ready_then_ready(tmp_path: Path) -> None:
    env = {
        **OPERATOR_ENV,
        "ZENHIRE_READY_MAX_LOOP_LAG_MS": "200",
        "ZENHIRE_READY_LOOP_LAG_WINDOW_SEC": str(WINDOW_SEC),
    }
    async with running_stack(tmp_path, gateway_env=env) as stack:
        ready_url = f"{stack.gateway_url}/readyz"
        assert (await stack.http.get(ready_url)).status_code == 200
        # The gateway serves from this test's loop: block it.
        asyncio.get_running_loop().call_soon(stall)
        await asyncio.sleep(PROBE_INTERVAL_SEC * 2)
        refused = await stack.http.get(ready_url)
        assert refused.status_code == 503
        body = refused.json()
        assert body["checks"]["event_loop"] is False and body["checks"]["disk"] is True
        assert body["event_loop_lag_p99_ms"] >= 300
        metrics = (await stack.http.get(f"{stack.gateway_url}/metrics", headers=AUTH)).text
        assert "zenhire_event_loop_lag_seconds_bucket" in metrics
        p99 = next(x for x in metrics.splitlines() if x.startswith("zenhire_event_loop_lag_p99"))
        assert float(p99.split()[1]) >= 0.3
        await asyncio.sleep(WINDOW_SEC + 0.2)
        recovered = await stack.http.get(ready_url)
        assert recovered.status_code == 200 and recovered.json()["checks"]["event_loop"]
