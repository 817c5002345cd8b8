"""How late this process's event loop wakes up: the delay every interview feels.

`LoopLag.run` sleeps `PROBE_INTERVAL_SEC` over and over and records how
much later than asked each wake-up came. Anything that blocks the loop (a
disk write that waits for the device, a long computation) shows up as lag,
and every live interview's audio waits just as long.

`recent_p99_sec` is the p99 of the last ``window_sec`` *over time*: each
sample weighs as much as the time it spans (the interval plus its lag), so
the figure says "for 99 % of the window, the loop answered within this".
One two-second stall in a ten-second window is 20 % of it, and shows,
although it is a single sample among a hundred quick ones; readiness
compares this figure with its limit (`gateway.ops.probes`).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import NoReturn

PROBE_INTERVAL_SEC = 0.05
QUANTILE = 0.99


class LoopLag:
    def __init__(
        self,
        window_sec: float,
        observe: Callable[[float], None] = lambda lag_sec: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._window_sec = window_sec
        self._observe = observe
        self._clock = clock
        self._samples: deque[tuple[float, float]] = deque()  # (woke at, lag), oldest first

    async def run(self) -> NoReturn:
        """Probe the running loop until cancelled."""
        while True:
            asked = self._clock() + PROBE_INTERVAL_SEC
            await asyncio.sleep(PROBE_INTERVAL_SEC)
            woke = self._clock()
            self.record(woke, max(0.0, woke - asked))

    def record(self, woke_at: float, lag_sec: float) -> None:
        self._samples.append((woke_at, lag_sec))
        self._observe(lag_sec)
        self._forget_before(woke_at - self._window_sec)

    def recent_p99_sec(self) -> float:
        """The p99 lag over time in the last window (0 with no samples)."""
        self._forget_before(self._clock() - self._window_sec)
        spans = sorted(((lag, PROBE_INTERVAL_SEC + lag) for _, lag in self._samples), reverse=True)
        allowed = sum(span for _, span in spans) * (1 - QUANTILE)
        for lag, span in spans:
            allowed -= span
            if allowed < 0:
                return lag
        return 0.0

    def recent_max_sec(self) -> float:
        self._forget_before(self._clock() - self._window_sec)
        return max((lag for _, lag in self._samples), default=0.0)

    def _forget_before(self, oldest: float) -> None:
        while self._samples and self._samples[0][0] < oldest:
            self._samples.popleft()
