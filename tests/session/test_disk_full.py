"""A full disk ends one interview cleanly and stops new ones; nothing else is lost.

The spool lives on a real, small tmpfs volume (tests run as root, as CI does).
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from zenhire.loopback.candidate import Candidate
from zenhire.loopback.speech import synthesize
from zenhire.loopback.stack import running_stack
from zenhire.tasks import TaskGroup

VOLUME_MB = 8
MIB = 1024 * 1024


@contextlib.contextmanager
def small_volume(folder: Path) -> Iterator[Path]:
    folder.mkdir(parents=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={VOLUME_MB}m", "tmpfs", str(folder)], check=True
    )
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def fill(volume: Path, leave_bytes: int) -> Path:
    """Fill ``volume`` until ``leave_bytes`` are free; return the filler file."""
    filler = volume / "filler"
    free = shutil.disk_usage(volume).free
    with filler.open("wb") as file:
        file.write(b"\0" * max(0, free - leave_bytes))
    return filler


@pytest.mark.fault(
    "disk full during recording",
    injected="the spool's tmpfs volume filled mid-interview",
    happened="the interview ends RECORDING_FAILED, its slot is freed, the next interview runs",
    lost="audio after the disk filled",
)
async def test_a_disk_that_fills_mid_interview_fails_it_with_recording_failed(
    tmp_path: Path,
) -> None:
    with small_volume(tmp_path / "gateway" / "spool") as spool:
        env = {"ZENHIRE_MIN_FREE_DISK_MB": "1"}
        async with running_stack(tmp_path, max_concurrent=1, gateway_env=env) as stack:
            session_id, candidate = await stack.open_candidate(Candidate)
            answer = synthesize("I would start by measuring where the time goes.")
            async with TaskGroup() as group:
                group.create_task(candidate.interview([answer] * 3))
                await stack.wait_for_status(session_id, "active")
                filler = fill(spool, leave_bytes=64 * 1024)
            session = await stack.wait_for_status(session_id, "failed", timeout_sec=30)
            assert session["error"]["code"] == "RECORDING_FAILED"
            assert candidate.kinds("ended")[-1]["reason"] == "RECORDING_FAILED"
            filler.unlink()
            # The slot came back: the client's only slot takes the next interview.
            second_id, second = await stack.open_candidate(Candidate)
            async with TaskGroup() as group:
                group.create_task(second.interview([], end_after_sec=1.0))
            await stack.wait_for_status(second_id, "completed")


@pytest.mark.fault(
    "disk low before an interview",
    injected="the spool volume filled below ZENHIRE_MIN_FREE_DISK_MB",
    happened="GATEWAY_DISK_LOW (close 1013), /readyz 503 until space returns",
)
async def test_a_replica_low_on_disk_starts_no_interview_and_is_not_ready(
    tmp_path: Path,
) -> None:
    with small_volume(tmp_path / "gateway" / "spool") as spool:
        env = {"ZENHIRE_MIN_FREE_DISK_MB": "4"}
        async with running_stack(tmp_path, gateway_env=env) as stack:
            filler = fill(spool, leave_bytes=2 * MIB)
            ready = await stack.http.get(f"{stack.gateway_url}/readyz")
            assert ready.status_code == 503 and ready.json()["checks"]["disk"] is False
            _, candidate = await stack.open_candidate(Candidate)
            async with await candidate.connect() as socket:
                refusal = await socket.recv()
                assert "GATEWAY_DISK_LOW" in str(refusal)
                await socket.wait_closed()
                assert socket.close_code == 1013
            filler.unlink()
            assert (await stack.http.get(f"{stack.gateway_url}/readyz")).json()["checks"]["disk"]


@pytest.mark.fault(
    "disk full during finalization",
    injected="spool, artifacts and outbox on one tmpfs filled to 0 bytes free",
    happened="failed/RECORDING_FAILED reaches the control plane (held in memory); next one runs",
    lost="the recording",
)
async def test_with_the_whole_data_dir_full_the_terminal_event_still_reaches_the_control_plane(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Spool, artifacts and the outbox's SQLite file on one volume, filled to the brim."""
    with small_volume(tmp_path / "gateway") as volume:
        env = {"ZENHIRE_MIN_FREE_DISK_MB": "1"}
        async with running_stack(tmp_path, max_concurrent=1, gateway_env=env) as stack:
            session_id, candidate = await stack.open_candidate(Candidate)
            answer = synthesize("I would start by measuring where the time goes.")
            async with TaskGroup() as group:
                group.create_task(candidate.interview([answer] * 3))
                await stack.wait_for_status(session_id, "active")
                filler = fill(volume, leave_bytes=0)
            session = await stack.wait_for_status(session_id, "failed", timeout_sec=30)
            assert session["error"]["code"] == "RECORDING_FAILED"
            assert any("takes no writes" in r.getMessage() for r in caplog.records)
            filler.unlink()
            # Space is back: the outbox saves and delivers the next interview's events.
            second_id, second = await stack.open_candidate(Candidate)
            async with TaskGroup() as group:
                group.create_task(second.interview([], end_after_sec=1.0))
            await stack.wait_for_status(second_id, "completed")
