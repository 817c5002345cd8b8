"""An fsync-heavy neighbour: another tenant of the disk, writing and syncing without pause.

``python -m zenhire.bench.neighbour DIR`` rewrites `SPAN_BYTES` of one file
in `BLOCK_BYTES` blocks, each followed by ``fsync``, until it gets SIGTERM
or SIGINT; then it prints ``{"fsyncs", "seconds", "fsync_ms_p50", "fsync_ms_p99"}``
as one JSON line. On ext4 every fsync commits the journal, which the
gateway's own writes to the same file system then queue behind: the slow
disk of ``zenhire bench --only loop-lag``.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType

BLOCK_BYTES = 64 * 1024
SPAN_BYTES = 64 * 1024 * 1024
FILE_NAME = "neighbour.bin"


def main(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    block = os.urandom(BLOCK_BYTES)
    path = folder / FILE_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    synced: list[float] = []
    started = time.monotonic()
    offset = 0
    try:
        while not stopping:
            os.pwrite(fd, block, offset)
            before = time.monotonic()
            os.fsync(fd)
            synced.append(time.monotonic() - before)
            offset = (offset + BLOCK_BYTES) % SPAN_BYTES
    finally:
        os.close(fd)
        path.unlink(missing_ok=True)
    ranked = sorted(synced) or [0.0]
    print(
        json.dumps(
            {
                "fsyncs": len(synced),
                "seconds": round(time.monotonic() - started, 1),
                "fsync_ms_p50": round(ranked[len(ranked) // 2] * 1000, 2),
                "fsync_ms_p99": round(ranked[int(len(ranked) * 0.99)] * 1000, 2),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
