"""A stretch of a recording as its own WAV, read whole or in byte ranges."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile

from audio.clip import Clip
from audio.frames import SAMPLE_RATE
from audio.wav import HEADER_BYTES, StereoWavWriter, WavFormatError

SECONDS = 3
SAMPLES_PER_MS = SAMPLE_RATE // 1000


@pytest.fixture
def recording(tmp_path: Path) -> tuple[bytes, np.ndarray]:
    """A 3 s stereo recording of noise (left ≠ right) and its samples, shape (n, 2)."""
    samples = np.random.default_rng(7).integers(-20000, 20000, (SECONDS * SAMPLE_RATE, 2))
    samples = samples.astype("<i2")
    path = tmp_path / "recording.wav"
    with StereoWavWriter(path) as writer:
        writer.write(samples[:, 0].tobytes(), samples[:, 1].tobytes())
    return path.read_bytes(), samples


def render(
    clip: Clip, source: bytes, start: int = 0, end: int | None = None, chunk: int = 4096
) -> bytes:
    """Bytes ``start``..``end`` of the clip, fed to the picker in ``chunk``-byte pieces."""
    read = clip.read_plan(start, clip.size - 1 if end is None else end)
    picker = clip.picker(read)
    body = source[read.first : read.last + 1]
    out = b"".join(picker.feed(body[i : i + chunk]) for i in range(0, len(body), chunk))
    assert picker.done
    return read.header + out


def test_a_stereo_clip_holds_exactly_that_stretch(recording: tuple[bytes, np.ndarray]) -> None:
    source, samples = recording
    clip = Clip.plan(source[:HEADER_BYTES], len(source), 1250, 2000)
    decoded, rate = soundfile.read(io.BytesIO(render(clip, source)), dtype="int16")
    assert rate == SAMPLE_RATE and clip.duration_ms == 750
    assert np.array_equal(decoded, samples[1250 * SAMPLES_PER_MS : 2000 * SAMPLES_PER_MS])


def test_a_candidate_clip_is_the_left_channel_alone(recording: tuple[bytes, np.ndarray]) -> None:
    source, samples = recording
    clip = Clip.plan(source[:HEADER_BYTES], len(source), 100, 900, keep=(0,))
    decoded, _ = soundfile.read(io.BytesIO(render(clip, source, chunk=7)), dtype="int16")
    assert decoded.ndim == 1
    assert np.array_equal(decoded, samples[100 * SAMPLES_PER_MS : 900 * SAMPLES_PER_MS, 0])


def test_bounds_past_the_end_are_clipped(recording: tuple[bytes, np.ndarray]) -> None:
    source, samples = recording
    clip = Clip.plan(source[:HEADER_BYTES], len(source), 2500, 99_000)
    assert clip.duration_ms == 500
    decoded, _ = soundfile.read(io.BytesIO(render(clip, source)), dtype="int16")
    assert np.array_equal(decoded, samples[2500 * SAMPLES_PER_MS :])


def test_a_clip_starting_past_the_end_is_an_empty_wav(recording: tuple[bytes, np.ndarray]) -> None:
    source, _ = recording
    clip = Clip.plan(source[:HEADER_BYTES], len(source), 5000, None)
    assert clip.frames == 0 and clip.size == HEADER_BYTES
    decoded, rate = soundfile.read(io.BytesIO(render(clip, source)), dtype="int16")
    assert len(decoded) == 0 and rate == SAMPLE_RATE


@pytest.mark.parametrize(("from_ms", "to_ms"), [(-1, 10), (500, 499)])
def test_negative_or_inverted_bounds_are_refused(
    recording: tuple[bytes, np.ndarray], from_ms: int, to_ms: int
) -> None:
    source, _ = recording
    with pytest.raises(ValueError, match="bad clip bounds"):
        Clip.plan(source[:HEADER_BYTES], len(source), from_ms, to_ms)


def test_an_unknown_channel_is_refused(recording: tuple[bytes, np.ndarray]) -> None:
    source, _ = recording
    with pytest.raises(ValueError, match="no such channels"):
        Clip.plan(source[:HEADER_BYTES], len(source), 0, 10, keep=(2,))


def test_a_header_that_is_not_pcm_is_refused() -> None:
    with pytest.raises(WavFormatError):
        Clip.plan(b"RIFX" + bytes(40), 1000, 0, 10)


@pytest.mark.parametrize("keep", [(0, 1), (0,)])
@pytest.mark.parametrize(
    ("start", "end"), [(0, 10), (20, 43), (40, 47), (43, 44), (45, 1001), (1003, 1003)]
)
def test_any_byte_range_equals_that_slice_of_the_whole_clip(
    recording: tuple[bytes, np.ndarray], keep: tuple[int, ...], start: int, end: int
) -> None:
    """Ranges cut through the header, between channels and inside samples."""
    source, _ = recording
    clip = Clip.plan(source[:HEADER_BYTES], len(source), 10, 40, keep=keep)
    whole = render(clip, source)
    assert len(whole) == clip.size
    assert render(clip, source, start, end, chunk=5) == whole[start : end + 1]


def test_a_range_outside_the_clip_is_refused(recording: tuple[bytes, np.ndarray]) -> None:
    source, _ = recording
    clip = Clip.plan(source[:HEADER_BYTES], len(source), 0, 10)
    with pytest.raises(ValueError, match="outside"):
        clip.read_plan(0, clip.size)
