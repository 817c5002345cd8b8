"""A really slow disk for the loop-lag benchmark: a loop device, throttled.

`throttled_disk` makes a sparse image file, attaches it as a loop device,
puts ext4 on it, mounts it where the gateway's data directory will be and
limits the device's write operations per second through the kernel's block
throttling (cgroup v1 ``blkio.throttle.write_iops_device`` or cgroup v2
``io.max``, on the root group, so every writer is held to it: the
journal's too). An ``fsync`` then waits for the device for real, as on a
saturated network volume. Everything is undone on the way out. It needs
root and a kernel with block throttling; `SlowDiskUnavailable` says which
step failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

log = logging.getLogger("zenhire.bench")

IMAGE_BYTES = 4 * 1024**3  # sparse: only what is written takes space
V1_THROTTLE = Path("/sys/fs/cgroup/blkio/blkio.throttle.write_iops_device")
V2_THROTTLE = Path("/sys/fs/cgroup/io.max")
UNMOUNT_WAIT_SEC = 30.0


class SlowDiskUnavailable(RuntimeError):
    """This machine cannot make a throttled device (not root, no loop devices, no throttling)."""


async def _run(*argv: str) -> str:
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise SlowDiskUnavailable(f"{argv[0]} failed: {err.decode(errors='replace').strip()}")
    return out.decode().strip()


def _throttle_file() -> Path:
    for candidate in (V1_THROTTLE, V2_THROTTLE):
        if candidate.exists():
            return candidate
    raise SlowDiskUnavailable("no block throttling (blkio or io.max) in this kernel's cgroups")


def _set_throttle(target: Path, device: str, write_iops: int | None) -> None:
    if target == V1_THROTTLE:
        target.write_text(f"{device} {write_iops or 0}\n")
    else:
        target.write_text(f"{device} wiops={write_iops or 'max'}\n")


def fsync_ms(folder: Path, samples: int = 10) -> float:
    """The median time of a 4 KiB write plus ``fsync`` in ``folder``: what the gateway meets."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ".fsync-probe"
    times = []
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for _ in range(samples):
            os.write(descriptor, b"\0" * 4096)
            start = time.perf_counter()
            os.fsync(descriptor)
            times.append(time.perf_counter() - start)
    finally:
        os.close(descriptor)
        path.unlink()
    return round(sorted(times)[len(times) // 2] * 1000, 1)


@contextlib.asynccontextmanager
async def throttled_disk(mount_point: Path, write_iops: int) -> AsyncIterator[Path]:
    """An ext4 file system at ``mount_point`` on a device held to ``write_iops``."""
    if os.geteuid() != 0:
        raise SlowDiskUnavailable("a throttled loop device needs root")
    target = _throttle_file()
    image = mount_point.with_name(mount_point.name + ".img")
    await asyncio.to_thread(_prepare, image, mount_point)
    try:
        loop = await _run("losetup", "--find", "--show", str(image))
        try:
            await _run("mkfs.ext4", "-q", "-F", loop)
            await _run("mount", loop, str(mount_point))
            try:
                device = await _run("lsblk", "-dno", "MAJ:MIN", loop)
                _set_throttle(target, device.replace(" ", ""), write_iops)
                try:
                    log.info(
                        "slow disk: %s at %s, %d write IOPS, fsync p50 %.1f ms",
                        loop,
                        mount_point,
                        write_iops,
                        await asyncio.to_thread(fsync_ms, mount_point),
                    )
                    yield mount_point
                finally:
                    _set_throttle(target, device.replace(" ", ""), None)
            finally:
                await _unmount(mount_point)
        finally:
            await _run("losetup", "--detach", loop)
    finally:
        await asyncio.to_thread(image.unlink)


async def _unmount(mount_point: Path) -> None:
    """Unmount, waiting for a process still closing its files (a gateway stopping);
    past `UNMOUNT_WAIT_SEC`, lazily: the file system goes once the last file closes."""
    deadline = time.monotonic() + UNMOUNT_WAIT_SEC
    while True:
        try:
            await _run("umount", str(mount_point))
            return
        except SlowDiskUnavailable:
            if time.monotonic() > deadline:
                log.warning("slow disk still busy at %s: unmounted lazily", mount_point)
                await _run("umount", "--lazy", str(mount_point))
                return
            await asyncio.sleep(0.5)


def _prepare(image: Path, mount_point: Path) -> None:
    mount_point.mkdir(parents=True, exist_ok=True)
    with open(image, "wb") as sparse:
        sparse.truncate(IMAGE_BYTES)
