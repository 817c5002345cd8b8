"""From time stamps to the numbers the report shows (pure: arrays in, values out).

Uplink latency of a candidate frame: sent by the candidate → received by the
upstream. Downlink latency of an interviewer frame: received by the
candidate minus the earliest a perfect real-time relay could have delivered it
(its delta's send time plus its place in the delta, and never before the
previous frame plus 20 ms). Both are what the gateway adds, loopback
included. A frame counts when it was due inside the window (less a grace
at the end for frames still in flight); a due frame that never arrived is
lost.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

import numpy as np

from audio.frames import FRAME_SEC

GAP_SEC = 0.040
IN_FLIGHT_GRACE_SEC = 0.5


@dataclass
class CandidateStamps:
    """One simulated candidate's view (monotonic seconds; NaN = not yet)."""

    number: int
    max_frames: int
    live_at: float = math.nan
    sent: np.ndarray = field(init=False)
    heard: np.ndarray = field(init=False)
    arrivals: array[float] = field(default_factory=lambda: array("d"))

    def __post_init__(self) -> None:
        self.sent = np.full(self.max_frames, math.nan)
        self.heard = np.full(self.max_frames, math.nan)


@dataclass(frozen=True)
class Latency:
    count: int
    lost: int
    p50_ms: float | None
    p99_ms: float | None
    max_ms: float | None

    @classmethod
    def of(cls, values_sec: np.ndarray, lost: int) -> Latency:
        if not len(values_sec):
            return cls(0, lost, None, None, None)
        ms = values_sec * 1000
        p50, p99 = np.percentile(ms, [50, 99])
        return cls(
            len(ms), lost, round(float(p50), 2), round(float(p99), 2), round(float(ms.max()), 2)
        )


@dataclass(frozen=True)
class Relay:
    uplink: Latency
    downlink: Latency
    gaps: int  # gaps > 40 ms between interviewer frames a candidate received

    @property
    def lost(self) -> int:
        return self.uplink.lost + self.downlink.lost

    @property
    def p99_ms(self) -> float | None:
        values = [v for v in (self.uplink.p99_ms, self.downlink.p99_ms) if v is not None]
        return max(values) if values else None

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "lost": self.lost, "p99_ms": self.p99_ms}


def uplink(
    candidates: Iterable[CandidateStamps],
    received: dict[int, np.ndarray],
    window: tuple[float, float],
    countable: set[int] | None = None,
) -> Latency:
    """Candidate → upstream; ``countable`` limits the frames that can be identified."""
    start, end = window
    values: list[np.ndarray] = []
    lost = 0
    for candidate in candidates:
        sent = candidate.sent
        due = (sent >= max(start, candidate.live_at)) & (sent <= end - IN_FLIGHT_GRACE_SEC)
        if countable is not None:
            mask = np.zeros(len(sent), dtype=bool)
            mask[[i for i in countable if i < len(sent)]] = True
            due &= mask
        arrived = received.get(candidate.number)
        if arrived is None:
            lost += int(due.sum())
            continue
        count = min(len(sent), len(arrived))
        due = due[:count]
        delays = arrived[:count][due] - sent[:count][due]
        lost += int(np.isnan(delays).sum())
        values.append(delays[~np.isnan(delays)])
    return Latency.of(np.concatenate(values) if values else np.array([]), lost)


def downlink(
    candidates: Iterable[CandidateStamps],
    ideal: dict[int, np.ndarray],
    window: tuple[float, float],
) -> Latency:
    """Upstream → candidate, against the real-time ideal of each frame."""
    start, end = window
    values: list[np.ndarray] = []
    lost = 0
    for candidate in candidates:
        due_at = ideal.get(candidate.number)
        if due_at is None:
            continue
        count = min(len(due_at), len(candidate.heard))
        due_at = due_at[:count]
        due = (due_at >= start) & (due_at <= end - IN_FLIGHT_GRACE_SEC)
        delays = candidate.heard[:count][due] - due_at[due]
        lost += int(np.isnan(delays).sum())
        values.append(delays[~np.isnan(delays)])
    return Latency.of(np.concatenate(values) if values else np.array([]), lost)


def gaps(
    candidates: Iterable[CandidateStamps],
    window: tuple[float, float],
    ideal: dict[int, np.ndarray] | None = None,
) -> int:
    """Frames of interviewer audio that came more than `GAP_SEC` after the one before.

    With ``ideal`` (frames known by their marks or their place in a
    sentence), consecutive frames of speech are compared against their ideal
    spacing, so the pauses between sentences are not gaps; without it (a
    stream known only by arrival times) arrivals are compared directly.
    """
    start, end = window
    found = 0
    slack = GAP_SEC - FRAME_SEC
    for candidate in candidates:
        due_at = None if ideal is None else ideal.get(candidate.number)
        if due_at is None:
            times = np.frombuffer(candidate.arrivals, dtype=np.float64)
            inside = times[(times >= start) & (times <= end)]
            found += int((np.diff(inside) > GAP_SEC).sum())
            continue
        count = min(len(due_at), len(candidate.heard))
        heard = candidate.heard[:count]
        spacing = np.diff(heard) - np.diff(due_at[:count])
        heard_inside = (heard[1:] >= start) & (heard[1:] <= end)
        found += int((spacing[heard_inside & ~np.isnan(spacing)] > slack).sum())
    return found
