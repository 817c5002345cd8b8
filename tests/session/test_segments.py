"""The segment contract: keys, and laying segments on the interview's timeline."""

from __future__ import annotations

from gateway.s2s.artifacts import StoredObject
from gateway.session.segments import (
    Piece,
    SegmentName,
    StoredSegment,
    plan,
    segments_prefix,
    stored_segments,
)


def _segment(epoch: int, seq: int, start: int, samples: int) -> StoredSegment:
    name = SegmentName(epoch, seq, start)
    return StoredSegment(name, name.key("s"), samples)


def test_a_key_names_its_session_epoch_sequence_and_start() -> None:
    name = SegmentName(7, 3, 720_000)
    key = name.key("7c3a-1b2d")
    assert key == "sessions/7c3a-1b2d/segments/0000000007-00000003-000000720000.pcm"
    assert key.startswith(segments_prefix("7c3a-1b2d"))
    assert SegmentName.parse(key) == name
    assert SegmentName.parse("sessions/x/segments/notes.txt") is None


def test_keys_sort_by_epoch_then_sequence() -> None:
    names = [SegmentName(2, 0, 500), SegmentName(1, 10, 900), SegmentName(1, 2, 100)]
    assert sorted(names, key=lambda n: n.key("s")) == sorted(names)


def test_stored_objects_become_segments_of_whole_stereo_samples() -> None:
    found = stored_segments(
        [
            StoredObject(SegmentName(1, 0, 0).key("s"), 4 * 480),
            StoredObject("sessions/s/segments/stray.bin", 100),
        ]
    )
    assert [(s.name, s.samples) for s in found] == [(SegmentName(1, 0, 0), 480)]


def test_back_to_back_segments_cover_the_timeline() -> None:
    one, two = _segment(1, 0, 0, 100), _segment(1, 1, 100, 50)
    assert plan([two, one]) == [Piece(0, 100, one), Piece(100, 150, two)]


def test_a_gap_is_silence() -> None:
    one, two = _segment(1, 0, 0, 100), _segment(2, 0, 160, 40)
    assert plan([one, two]) == [Piece(0, 100, one), Piece(100, 160), Piece(160, 200, two)]


def test_a_timeline_that_starts_late_begins_with_silence() -> None:
    late = _segment(3, 0, 48, 10)
    assert plan([late]) == [Piece(0, 48), Piece(48, 58, late)]


def test_the_higher_epoch_wins_where_writers_overlap() -> None:
    old = _segment(1, 4, 0, 100)
    new = _segment(2, 0, 40, 30)
    assert plan([new, old]) == [
        Piece(0, 40, old),
        Piece(40, 70, new),
        Piece(70, 100, old, offset=70),
    ]


def test_a_lower_epoch_never_covers_a_higher_one() -> None:
    new = _segment(5, 0, 0, 100)
    stale = _segment(4, 9, 50, 100)
    assert plan([stale, new]) == [Piece(0, 100, new), Piece(100, 150, stale, offset=50)]
