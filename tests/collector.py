"""Python's cycle collector switched off, for tests that memory is freed without it."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def no_cycle_collector() -> Iterator[None]:
    """Collect once, then keep the collector off until the block ends."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
