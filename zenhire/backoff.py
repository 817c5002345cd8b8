"""Retries bounded by attempts *and* total time, with jittered exponential delays.

One value type for every retry loop of the project (event delivery, the
realtime upstream's reconnects): attempt ``n`` waits ``base_sec · 2^(n-1)``,
capped at ``cap_sec``, scaled by a random factor in ``[JITTER_LOW, 1]`` so
that many clients failing together do not retry together.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

JITTER_LOW = 0.5


@dataclass(frozen=True)
class Backoff:
    attempts: int
    total_sec: float
    base_sec: float
    cap_sec: float

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if min(self.total_sec, self.base_sec, self.cap_sec) < 0:
            raise ValueError("retry times must not be negative")

    def delay(self, attempt: int) -> float:
        """The pause after failed attempt number ``attempt`` (1 for the first)."""
        ceiling = min(self.cap_sec, self.base_sec * 2.0 ** (attempt - 1))
        return ceiling * random.uniform(JITTER_LOW, 1.0)

    def gives_up(self, attempt: int, elapsed_sec: float) -> bool:
        """Whether to stop after failed attempt ``attempt``, ``elapsed_sec`` after the first
        began, counting the pause that would come next (`delay` of ``attempt``)."""
        return attempt >= self.attempts or elapsed_sec > self.total_sec
