"""Disk work runs off the event loop, in order, bounded; the recording it writes is unchanged."""

from __future__ import annotations

import functools
import threading
from pathlib import Path

import numpy as np
import pytest

from audio.frames import FRAME_BYTES
from gateway.disk import DiskBacklog, DiskWork, writer_thread
from gateway.interviewer import Turn
from gateway.session.recording import Recording

FRAMES = 257  # not a whole number of batches


def frames(seed: int) -> list[bytes]:
    noise = np.random.default_rng(seed).integers(-20_000, 20_000, FRAMES * FRAME_BYTES // 2)
    pcm = noise.astype("<i2").tobytes()
    return [pcm[i : i + FRAME_BYTES] for i in range(0, len(pcm), FRAME_BYTES)]


async def record(folder: Path, inline: bool) -> bytes:
    writer = None if inline else writer_thread("test-spool")
    recording = Recording(folder, {"session_id": folder.name}, writer)
    for candidate, interviewer in zip(frames(1), frames(2), strict=True):
        recording.write(candidate, interviewer)
    recording.add_turn(Turn("candidate", "hello", 0, 500))
    await recording.close({"status": "completed"})
    if writer is not None:
        writer.shutdown()
    return (folder / "recording.wav").read_bytes()


async def test_a_recording_written_off_the_loop_is_byte_identical(tmp_path: Path) -> None:
    threaded = await record(tmp_path / "threaded", inline=False)
    inline = await record(tmp_path / "inline", inline=True)
    assert threaded == inline and len(threaded) == 44 + FRAMES * FRAME_BYTES * 2
    assert (tmp_path / "threaded" / "transcript.json").exists()


async def test_jobs_run_in_order_on_the_writer_thread() -> None:
    writer = writer_thread("test")
    work = DiskWork("test", writer, max_queued=100)
    seen: list[tuple[int, str]] = []

    def job(n: int) -> None:
        seen.append((n, threading.current_thread().name))

    for n in range(50):
        work.submit(functools.partial(job, n))
    assert await work.call(lambda: len(seen)) == 50
    await work.close(lambda: None)
    writer.shutdown()
    assert [n for n, _ in seen] == list(range(50))
    assert all(name.startswith("test") for _, name in seen)


@pytest.mark.fault(
    "disk stalled",
    injected="a writer thread that never returns",
    happened="the bounded queue fills, the interview fails RECORDING_FAILED, memory does not grow",
    lost="audio after the stall",
)
async def test_a_stalled_disk_fills_the_bound_then_refuses_and_the_owner_fails() -> None:
    writer = writer_thread("test")
    work = DiskWork("recording", writer, max_queued=3)
    disk = threading.Event()
    work.submit(disk.wait)  # the device stops answering
    for _ in range(2):
        work.submit(lambda: None)
    with pytest.raises(DiskBacklog, match="3 writes are waiting"):
        work.submit(lambda: None)
    disk.set()
    await work.close(lambda: None)
    writer.shutdown()


async def test_after_a_failed_write_later_writes_are_skipped_and_the_failure_raised() -> None:
    writer = writer_thread("test")
    work = DiskWork("recording", writer, max_queued=10)
    disk = threading.Event()
    written: list[int] = []
    closed: list[bool] = []

    def full() -> None:
        raise OSError(28, "No space left on device")

    work.submit(disk.wait)
    work.submit(full)
    work.submit(lambda: written.append(1))
    disk.set()
    await work.call(lambda: None)
    with pytest.raises(OSError, match="No space"):
        work.submit(lambda: written.append(2))
    with pytest.raises(OSError, match="No space"):
        await work.close(lambda: closed.append(True))
    writer.shutdown()
    assert written == [] and closed == [True]
