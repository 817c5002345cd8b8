"""Interview credits: a completed session costs a fixed price per started minute.

The seed's worked example: 742 s is 13 started minutes, so 65 credits.
"""

from __future__ import annotations

import math

CREDITS_PER_MINUTE = 5
# A session can only be started with at least one minute's worth of credit.
MINIMUM_BALANCE = CREDITS_PER_MINUTE
SECONDS_PER_MINUTE = 60


def credits_for(duration_sec: int) -> int:
    """The charge for a completed session that lasted ``duration_sec``."""
    return CREDITS_PER_MINUTE * math.ceil(duration_sec / SECONDS_PER_MINUTE)
