"""One 20 ms clock for every live session of the process.

A session subscribes its tick for as long as it runs (`Clock.ticking`);
the clock calls every subscriber once per tick from a single timer
(``loop.call_at``), so a thousand sessions cost one timer instead of a
thousand sleeping tasks. When the event loop stalls, the next firing
catches up on every tick that came due, in order, so a stall delays audio
but never shortens a recording's timeline.

``rate`` runs the timeline faster than the wall clock (ticks come
``rate`` times as often, in batches); only benchmarks use it, to record a
long interview in seconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import NoReturn

from audio.frames import FRAME_SEC

log = logging.getLogger("zenhire.clock")

# With rate > 1, ticks are run in batches at most this often.
MIN_FIRING_INTERVAL_SEC = 0.005

Tick = Callable[[], None]


class _Guarded:
    """A subscriber's tick; the first exception it raises ends its subscription.

    An object rather than a closure: a nested function that unsubscribes
    itself by name is a reference cycle holding its session until the cycle
    collector runs.
    """

    __slots__ = ("failed", "tick", "ticks")

    def __init__(self, tick: Tick, ticks: dict[Tick, None], failed: asyncio.Future[NoReturn]):
        self.tick = tick
        self.ticks = ticks
        self.failed = failed

    def __call__(self) -> None:
        try:
            self.tick()
        except Exception as exc:
            self.ticks.pop(self, None)
            if not self.failed.done():
                self.failed.set_exception(exc)


class Clock:
    def __init__(self, rate: float = 1.0) -> None:
        if rate <= 0:
            raise ValueError("the clock rate must be positive")
        self._period = FRAME_SEC / rate
        self._ticks: dict[Tick, None] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._next = 0.0

    async def ticking(self, tick: Tick) -> NoReturn:
        """Call ``tick`` on every tick until cancelled; re-raise what ``tick`` raises."""
        loop = asyncio.get_running_loop()
        guarded = _Guarded(tick, self._ticks, loop.create_future())
        self._ticks[guarded] = None
        if self._timer is None:
            self._next = loop.time()
            self._timer = loop.call_at(self._next, self._fire)
        try:
            await guarded.failed
        finally:
            self._ticks.pop(guarded, None)

    def _fire(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        fired = False
        while self._next <= now and self._ticks:
            for tick in tuple(self._ticks):
                tick()
            self._next += self._period
            fired = True
        if not self._ticks:
            self._timer = None
            return
        # uvloop's timers have millisecond resolution and may fire a little early:
        # then come back exactly when the tick is due (the loop waits at least to
        # the next millisecond, so this never spins).
        at = max(self._next, now + MIN_FIRING_INTERVAL_SEC) if fired else self._next
        self._timer = loop.call_at(at, self._fire)
