"""Interview credits: reserved when an interview starts, settled when it ends.

A completed session costs a fixed price per started minute; the seed's worked
example: 742 s is 13 started minutes, so 65 credits.

Fair billing, in one transaction per S2S event (`controlplane.s2s`):

- When a session leaves ``initiated``, the price of its whole time budget
  (the client's ``max_duration_sec`` grown by the session's accommodation) is
  moved from the balance into the session's reservation, but never more than
  the balance holds. Concurrent starts therefore cannot take a balance below
  zero; a start that finds the balance empty reserves nothing.
- When it ends, the charge is taken from the reservation and the rest goes
  back to the balance. A ``completed`` session pays for its minutes. A
  ``failed`` session that recorded the candidate pays for its recorded minutes,
  unless the failure was the platform's (`PLATFORM_FAILURES`); otherwise it
  pays nothing. The charge never exceeds the reservation.
"""

from __future__ import annotations

import math

CREDITS_PER_MINUTE = 5
# A session can only be started with at least one minute's worth of credit.
MINIMUM_BALANCE = CREDITS_PER_MINUTE
SECONDS_PER_MINUTE = 60
PERCENT = 100
# Failure codes that are the platform's fault: the integrator is not charged.
PLATFORM_FAILURES = frozenset(
    {"GATEWAY_RESTART", "UPSTREAM_UNAVAILABLE", "RECORDING_FAILED", "INTERNAL", "INTERNAL_ERROR"}
)


def credits_for(duration_sec: int) -> int:
    """The price of an interview that lasted ``duration_sec``."""
    return CREDITS_PER_MINUTE * math.ceil(duration_sec / SECONDS_PER_MINUTE)


def time_budget_sec(max_duration_sec: int, extra_time_pct: int) -> int:
    """The client's limit grown by an accommodation of ``extra_time_pct`` percent."""
    return math.ceil(max_duration_sec * (PERCENT + extra_time_pct) / PERCENT)


def reservation(budget_sec: int, balance: int) -> int:
    """What to hold when an interview with ``budget_sec`` starts against ``balance``."""
    return max(0, min(credits_for(budget_sec), balance))


def charge(
    *,
    completed: bool,
    duration_sec: int | None,
    recorded: bool,
    failure_code: str | None,
    reserved: int,
) -> int:
    """The charge of an ended session, taken from its reservation."""
    if not duration_sec:
        return 0
    if completed or (recorded and failure_code not in PLATFORM_FAILURES):
        price = credits_for(duration_sec)
    else:
        price = 0
    return min(price, reserved)
