"""This test process's children, as the kernel sees them."""

from __future__ import annotations

import os
from pathlib import Path


def child_processes() -> list[int]:
    """Live (not zombie) processes whose parent is this test process."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[1]) == os.getpid():
            children.append(int(stat.parent.name))
    return children
