"""The synthesizer's process under cancellation: killed, reaped, its pipes closed.

A prompt cut by barge-in, an interview cancelled by a gateway shutdown: the
stream is closed while eSpeak NG's output is backed up in its pipe (the
playout had no room, so nobody was reading). Nothing may be left behind: an
open pipe transport warns when collected, which fails a test run much later.
"""

from __future__ import annotations

import asyncio
import gc
import warnings
from contextlib import aclosing

from gateway.interviewer.local.voice import Voice
from tests.processes import child_processes

# Long enough that eSpeak NG fills its stdout pipe long before it is done.
LONG_TEXT = " ".join(["This sentence keeps going, and going, and going on."] * 30)
BACKED_UP_SEC = 0.3
STREAMS = 8
# Cleanup is a kill and a reap: milliseconds. Without closing the pipes first,
# Python 3.11's `Process.wait` never returns for a backed-up synthesizer.
CLEANUP_BOUND_SEC = 3.0


def resource_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]


async def read_then_stall(stall_sec: float) -> None:
    """Read one chunk, then stop reading (as a speaker waiting for playout room)."""
    async with aclosing(Voice("en-us", 165).stream(LONG_TEXT)) as chunks:
        async for _ in chunks:
            await asyncio.sleep(stall_sec)


async def settle() -> None:
    await asyncio.sleep(0.05)
    gc.collect()


async def test_closing_a_backed_up_stream_closes_its_pipes_and_reaps_the_process() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stream = Voice("en-us", 165).stream(LONG_TEXT)
        await anext(stream)
        await asyncio.sleep(BACKED_UP_SEC)
        async with asyncio.timeout(CLEANUP_BOUND_SEC):
            await stream.aclose()
        await settle()
    assert resource_warnings(caught) == []
    assert child_processes() == []


async def test_streams_cancelled_under_load_leave_nothing_behind() -> None:
    """Several synthesizers at once, each cancelled at a different moment."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tasks = [asyncio.create_task(read_then_stall(10.0)) for _ in range(STREAMS)]
        for task in tasks:
            await asyncio.sleep(0.03)
            task.cancel()
        async with asyncio.timeout(CLEANUP_BOUND_SEC):
            await asyncio.wait(tasks)
        await settle()
    assert all(task.cancelled() for task in tasks)
    assert resource_warnings(caught) == []
    assert child_processes() == []


async def test_a_second_cancellation_during_cleanup_still_closes_the_pipes() -> None:
    """The task is cancelled again while it waits for the killed synthesizer."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        task = asyncio.create_task(read_then_stall(10.0))
        await asyncio.sleep(BACKED_UP_SEC)
        task.cancel()
        await asyncio.sleep(0)  # the generator's cleanup has started
        task.cancel()
        async with asyncio.timeout(CLEANUP_BOUND_SEC):
            await asyncio.wait([task])
        await asyncio.sleep(0.2)  # the child watcher reaps the killed process
        await settle()
    assert resource_warnings(caught) == []
    assert child_processes() == []
