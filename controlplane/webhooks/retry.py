"""When to try a failed delivery again: doubling delays with jitter, bounded by age.

The gateway's S2S outbox has its own jittered backoff (`gateway/outbox.py`);
this one is the control plane's, for integrator webhooks and gateway deletions,
and adds the rule that the last attempt lands exactly on the age limit, so a
schedule always spans ``max_age_sec`` (24 h by default) unless the attempt
bound stops it first. The defaults reach the age limit in about 26 attempts
whatever the jitter, well inside ``max_attempts``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

DEFAULT_BASE_DELAY_SEC = 5.0
DEFAULT_MAX_DELAY_SEC = 2 * 3600.0
DEFAULT_MAX_AGE_SEC = 24 * 3600.0
DEFAULT_MAX_ATTEMPTS = 40
DEFAULT_JITTER = 0.2
# 2**60 times any base delay is past every cap; larger exponents only overflow.
MAX_EXPONENT = 60


@dataclass(frozen=True)
class RetryPolicy:
    """Delay before attempt ``n + 1`` after ``n`` failures: ``base · 2^(n-1)``,
    capped at ``max_delay_sec``, scaled by a random factor in ``1 ± jitter``."""

    base_delay_sec: float = DEFAULT_BASE_DELAY_SEC
    max_delay_sec: float = DEFAULT_MAX_DELAY_SEC
    max_age_sec: float = DEFAULT_MAX_AGE_SEC
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    jitter: float = DEFAULT_JITTER

    def __post_init__(self) -> None:
        if self.base_delay_sec <= 0 or self.max_delay_sec < self.base_delay_sec:
            raise ValueError("delays must be positive, the maximum at least the base")
        if self.max_age_sec <= 0 or self.max_attempts < 1 or not 0 <= self.jitter < 1:
            raise ValueError("max_age_sec and max_attempts must be positive, jitter in [0, 1)")

    def next_delay(self, failures: int, age_sec: float, rng: random.Random) -> float | None:
        """Seconds to wait after ``failures`` failed attempts, the first ``age_sec``
        ago; ``None`` once retrying is over."""
        if failures >= self.max_attempts or age_sec >= self.max_age_sec:
            return None
        exponent = min(max(failures - 1, 0), MAX_EXPONENT)
        delay = min(self.max_delay_sec, self.base_delay_sec * 2.0**exponent)
        delay *= 1.0 + rng.uniform(-self.jitter, self.jitter)
        return min(delay, self.max_age_sec - age_sec)
