"""The webhook retry schedule as a value: doubling, jitter, and a span of the age limit."""

from __future__ import annotations

import random

import pytest

from controlplane.webhooks.retry import RetryPolicy


def schedule(policy: RetryPolicy, rng: random.Random) -> list[float]:
    """The times of every attempt, the first at 0, until the policy gives up."""
    times = [0.0]
    while (delay := policy.next_delay(len(times), times[-1], rng)) is not None:
        times.append(times[-1] + delay)
    return times


class Extreme(random.Random):
    """Always draws one end of the jitter range."""

    def __init__(self, high: bool) -> None:
        super().__init__()
        self.high = high

    def uniform(self, a: float, b: float) -> float:
        return b if self.high else a


@pytest.mark.parametrize("high", [False, True], ids=["least-jitter", "most-jitter"])
def test_the_default_schedule_spans_24_hours(high: bool) -> None:
    times = schedule(RetryPolicy(), Extreme(high))
    assert times[-1] == 24 * 3600
    assert len(times) < RetryPolicy().max_attempts


def test_delays_double_up_to_the_cap_with_jitter() -> None:
    policy = RetryPolicy(base_delay_sec=1, max_delay_sec=8, jitter=0.2)
    delays = [policy.next_delay(n, 0, random.Random(n)) for n in range(1, 7)]
    for delay, nominal in zip(delays, [1, 2, 4, 8, 8, 8], strict=True):
        assert delay is not None and 0.8 * nominal <= delay <= 1.2 * nominal
    assert len({round(d or 0, 6) for d in delays[3:]}) == 3  # jittered, not equal


def test_attempts_bound_the_schedule_too() -> None:
    assert RetryPolicy(max_attempts=3).next_delay(3, 10.0, random.Random()) is None


@pytest.mark.parametrize(
    "kwargs",
    [{"base_delay_sec": 0}, {"max_delay_sec": 1}, {"max_age_sec": 0}, {"jitter": 1.0}],
)
def test_invalid_policies_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]
