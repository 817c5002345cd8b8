"""This process's CPU load, as a moving average, for admission and readiness.

`CpuLoad.run` (a task of the service's group) samples the CPU time of the
whole process — every thread: the event loop, aiortc's codec threads, the
local interviewer's speech engines; user and system — against the
monotonic clock every `SAMPLE_INTERVAL_SEC`, and keeps the samples of the
last ``ZENHIRE_CPU_WINDOW_SEC``. `percent` is CPU seconds per wall-clock
second over that window, in percent of one core.

Past ``ZENHIRE_MAX_CPU_PERCENT`` the replica is `overloaded`: it starts no
new interview (``GATEWAY_CPU_HIGH``, so the page reconnects and a load
balancer following ``/readyz`` sends it to another replica), while the
interviews live on it go on and resume. A threshold of 0 turns it off.

Why a window: an interview's load comes in bursts (the interviewer's
speech synthesised a sentence at a time, a realtime handover), and one
burst must not turn candidates away; a saturated event loop stays
saturated for the whole window.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

from gateway.settings import LoadSettings

SAMPLE_INTERVAL_SEC = 0.5
PERCENT = 100.0
# Samples are dropped once the window is covered without them; this bound only
# matters to a caller sampling far faster than `run` (the oldest go first).
MAX_SAMPLES = 1_000


class CpuLoad:
    def __init__(
        self,
        settings: LoadSettings,
        cpu_seconds: Callable[[], float] = time.process_time,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._cpu_seconds = cpu_seconds
        self._clock = clock
        # (wall, cpu) pairs, oldest first, spanning at least the window once it has passed.
        self._samples: deque[tuple[float, float]] = deque(maxlen=MAX_SAMPLES)
        self.sample()

    @property
    def max_percent(self) -> float:
        return self._settings.max_cpu_percent

    def sample(self) -> None:
        now = self._clock()
        self._samples.append((now, self._cpu_seconds()))
        while len(self._samples) > 2 and now - self._samples[1][0] >= self._settings.window_sec:
            self._samples.popleft()

    @property
    def percent(self) -> float:
        """Average CPU over the window (less, just after start), in percent of one core."""
        (first_wall, first_cpu), (last_wall, last_cpu) = self._samples[0], self._samples[-1]
        elapsed = last_wall - first_wall
        return PERCENT * (last_cpu - first_cpu) / elapsed if elapsed > 0 else 0.0

    @property
    def overloaded(self) -> bool:
        """Past the threshold (never, when it is 0)."""
        return self.max_percent > 0 and self.percent > self.max_percent

    async def run(self) -> None:
        while True:
            await asyncio.sleep(SAMPLE_INTERVAL_SEC)
            self.sample()
