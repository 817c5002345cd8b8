"""The loop-lag benchmark's slow disk is really slow, and leaves nothing behind."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from zenhire.bench.slowdisk import SlowDiskUnavailable, fsync_ms, throttled_disk

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="a loop device needs root")


def _mounted(path: Path) -> bool:
    mounts = Path("/proc/mounts").read_text().splitlines()
    return any(line.split()[1] == str(path) for line in mounts)


def _loops_backed_by(image: Path) -> str:
    return subprocess.run(
        ["losetup", "--associated", str(image)], capture_output=True, text=True, check=False
    ).stdout


async def test_a_throttled_device_makes_fsync_wait_and_is_undone(tmp_path: Path) -> None:
    plain = fsync_ms(tmp_path / "plain")
    mount_point = tmp_path / "slow"
    try:
        async with throttled_disk(mount_point, write_iops=20) as mounted:
            assert _mounted(mounted)
            slow = fsync_ms(mounted, samples=4)
            (mounted / "kept-until-unmounted").write_bytes(b"x")
    except SlowDiskUnavailable as exc:  # a kernel without loop devices or throttling
        pytest.skip(str(exc))
    # 20 writes a second: an fsync (data, then the journal's commit) waits tens of ms at least.
    assert slow > max(40.0, 5 * plain), (plain, slow)
    assert not _mounted(mount_point)
    assert not (mount_point / "kept-until-unmounted").exists()
    assert not (tmp_path / "slow.img").exists()
    assert _loops_backed_by(tmp_path / "slow.img") == ""
