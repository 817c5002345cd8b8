"""The stereo recording writer: exact content, a valid header mid-write, crash repair."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import soundfile

from audio.frames import FRAME_BYTES, FRAME_SAMPLES, SAMPLE_RATE, split_frames
from audio.wav import HEADER_BYTES, HEADER_REFRESH_MS, StereoWavWriter, WavFormatError, repair
from zenhire.loopback.speech import synthesize

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SECONDS = 2.5
STEREO_FRAME_BYTES = 4


def ramp(samples: int, step: int) -> bytes:
    """A deterministic sawtooth covering the whole int16 range: any misplacement shows."""
    return ((np.arange(samples, dtype=np.int64) * step) % 65536 - 32768).astype("<i2").tobytes()


def write_in_frames(writer: StereoWavWriter, left: bytes, right: bytes) -> None:
    for offset in range(0, len(left), FRAME_BYTES):
        writer.write(left[offset : offset + FRAME_BYTES], right[offset : offset + FRAME_BYTES])


def read_int16(path: Path) -> tuple[npt.NDArray[np.int16], int]:
    data, rate = soundfile.read(path, dtype="int16", always_2d=True)
    return data, rate


@pytest.fixture(scope="module")
def speech() -> bytes:
    pcm = synthesize("Thank you. Could you walk me through your last project?")
    frames, _ = split_frames(pcm)
    return b"".join(frames)


def test_round_trip_is_exact(tmp_path: Path, speech: bytes) -> None:
    """soundfile reads back 24 kHz stereo with left and right exactly as written."""
    path = tmp_path / "rec.wav"
    right = ramp(len(speech) // 2, step=7)
    with StereoWavWriter(path) as writer:
        write_in_frames(writer, speech, right)
    data, rate = read_int16(path)
    assert rate == SAMPLE_RATE
    assert data.shape == (len(speech) // 2, 2)
    assert data[:, 0].tobytes() == speech
    assert data[:, 1].tobytes() == right


def test_counts_frames_and_duration(tmp_path: Path) -> None:
    """``frames_written`` counts samples per channel; ``duration_ms`` follows from it."""
    with StereoWavWriter(tmp_path / "rec.wav") as writer:
        for _ in range(75):
            writer.write(ramp(FRAME_SAMPLES, 3), ramp(FRAME_SAMPLES, 5))
        assert writer.frames_written == 75 * FRAME_SAMPLES
        assert writer.duration_ms == 1500


def test_header_is_valid_while_writing(tmp_path: Path) -> None:
    """An open recording already reads as WAV, at most one refresh interval short."""
    path = tmp_path / "rec.wav"
    samples = int(SAMPLE_RATE * SECONDS)
    left, right = ramp(samples, 3), ramp(samples, 11)
    writer = StereoWavWriter(path)
    try:
        write_in_frames(writer, left, right)
        data, rate = read_int16(path)
    finally:
        writer.close()
    assert rate == SAMPLE_RATE
    assert data.shape[0] >= samples - SAMPLE_RATE * HEADER_REFRESH_MS // 1000
    assert data[:, 0].tobytes() == left[: data.shape[0] * 2]
    assert data[:, 1].tobytes() == right[: data.shape[0] * 2]


def test_empty_recording_is_valid(tmp_path: Path) -> None:
    """A writer closed without audio leaves a valid zero-length WAV."""
    path = tmp_path / "rec.wav"
    StereoWavWriter(path).close()
    info = soundfile.info(path)
    assert (info.channels, info.samplerate, info.frames) == (2, SAMPLE_RATE, 0)


def test_close_is_idempotent(tmp_path: Path) -> None:
    """Closing twice is harmless and leaves the file unchanged."""
    path = tmp_path / "rec.wav"
    writer = StereoWavWriter(path)
    writer.write(ramp(FRAME_SAMPLES, 1), ramp(FRAME_SAMPLES, 2))
    writer.close()
    content = path.read_bytes()
    writer.close()
    assert writer.closed
    assert path.read_bytes() == content


def test_write_after_close_raises(tmp_path: Path) -> None:
    """Writing to a closed writer raises ValueError."""
    writer = StereoWavWriter(tmp_path / "rec.wav")
    writer.close()
    with pytest.raises(ValueError, match="closed"):
        writer.write(ramp(FRAME_SAMPLES, 1), ramp(FRAME_SAMPLES, 1))


def test_unequal_channels_raise(tmp_path: Path) -> None:
    """Left and right of different lengths raise ValueError and write nothing."""
    with StereoWavWriter(tmp_path / "rec.wav") as writer:
        with pytest.raises(ValueError, match="differ"):
            writer.write(ramp(FRAME_SAMPLES, 1), ramp(FRAME_SAMPLES - 1, 1))
        assert writer.frames_written == 0


def test_partial_sample_raises(tmp_path: Path) -> None:
    """An odd byte count per channel raises ValueError."""
    with StereoWavWriter(tmp_path / "rec.wav") as writer, pytest.raises(ValueError):
        writer.write(b"\x00\x01\x02", b"\x00\x01\x02")


CRASHING_WRITER = f"""
import os, sys
from audio.wav import StereoWavWriter
from tests.audio.test_wav import ramp, write_in_frames
samples = int({SAMPLE_RATE} * {SECONDS})
writer = StereoWavWriter(sys.argv[1])
write_in_frames(writer, ramp(samples, 3), ramp(samples, 11))
os._exit(0)  # a crash: no close(), Python's write buffer is lost
"""


@pytest.mark.fault(
    "torn WAV write",
    injected="a recording whose header and tail were cut by a crash",
    happened="`repair` restores every frame that landed",
)
def test_repair_recovers_crashed_recording(tmp_path: Path) -> None:
    """A crashed recording plays; after a torn write, ``repair`` restores all that landed."""
    path = tmp_path / "rec.wav"
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    subprocess.run([sys.executable, "-c", CRASHING_WRITER, str(path)], check=True, env=env)
    landed = path.stat().st_size - HEADER_BYTES
    playable, _ = read_int16(path)
    assert playable.shape[0] >= SAMPLE_RATE * (SECONDS * 1000 - HEADER_REFRESH_MS) // 1000
    with path.open("ab") as file:
        file.write(b"\x7f\x01\x02")  # a torn sample frame
    whole = (landed + 3) // STEREO_FRAME_BYTES

    duration_ms = repair(path)

    assert duration_ms == whole * 1000 // SAMPLE_RATE
    assert duration_ms >= SECONDS * 1000 - HEADER_REFRESH_MS
    assert path.stat().st_size == HEADER_BYTES + whole * STEREO_FRAME_BYTES
    data, rate = read_int16(path)
    assert rate == SAMPLE_RATE
    assert data.shape == (whole, 2)
    intact = landed // STEREO_FRAME_BYTES
    samples = int(SAMPLE_RATE * SECONDS)
    assert data[:intact, 0].tobytes() == ramp(samples, 3)[: intact * 2]
    assert data[:intact, 1].tobytes() == ramp(samples, 11)[: intact * 2]


def test_repair_leaves_a_closed_recording_unchanged(tmp_path: Path) -> None:
    """Repairing a properly closed file changes no byte and reports its duration."""
    path = tmp_path / "rec.wav"
    with StereoWavWriter(path) as writer:
        write_in_frames(writer, ramp(SAMPLE_RATE, 3), ramp(SAMPLE_RATE, 5))
    content = path.read_bytes()
    assert repair(path) == 1000
    assert path.read_bytes() == content


def test_repair_rejects_non_wav(tmp_path: Path) -> None:
    """A file without a canonical PCM WAV header raises WavFormatError, untouched."""
    path = tmp_path / "notes.txt"
    path.write_bytes(b"not a recording at all, but long enough to hold a header")
    with pytest.raises(WavFormatError):
        repair(path)
    assert path.read_bytes().startswith(b"not a recording")
