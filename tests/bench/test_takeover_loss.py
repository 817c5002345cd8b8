"""The takeover benchmark's audio-loss figure, on segments laid out by hand."""

from __future__ import annotations

from audio.frames import SAMPLE_RATE
from gateway.session.segments import SegmentName, StoredSegment
from zenhire.bench.takeover import audio_loss

TEN_SEC = 10 * SAMPLE_RATE


def _segment(epoch: int, seq: int, start: int, samples: int = TEN_SEC) -> StoredSegment:
    return StoredSegment(SegmentName(epoch, seq, start), f"{epoch}-{seq}", samples)


def test_the_loss_is_what_the_dead_owner_had_not_shipped_and_the_gap_adds_the_outage() -> None:
    shipped = [_segment(1, 0, 0), _segment(1, 1, TEN_SEC)]
    # Killed 23.5 s into the interview: 20 s shipped, 3.5 s lost; back 3 s after the kill.
    assert audio_loss(23.5, shipped, 3.0) == (3500, 6500)


def test_a_kill_before_any_segment_loses_everything_so_far() -> None:
    assert audio_loss(4.0, [], None) == (4000, None)
