"""`zenhire.tasks.TaskGroup` frees what its tasks held without the cycle collector."""

from __future__ import annotations

import asyncio
import contextlib
import weakref

import pytest

from tests.collector import no_cycle_collector
from zenhire.tasks import TaskGroup, while_running


class Buffer:
    """Stands for a unit of work's audio: something that must be freed when it ends."""


class Player:
    """Holds its own task, as a playback holds its player."""

    def __init__(self) -> None:
        self.buffer = Buffer()
        self.task: asyncio.Task[None] | None = None

    async def play(self) -> None:
        buffer = self.buffer  # a local of the task's frame, as a chunk being played is
        await asyncio.sleep(3600)
        del buffer


async def _unit_of_work(player: Player, fail: bool) -> None:
    async with TaskGroup() as group:
        player.task = group.create_task(player.play())
        await asyncio.sleep(0)
        if fail:
            raise RuntimeError("the unit of work failed")
        await asyncio.sleep(3600)


@pytest.mark.parametrize("ending", ["cancelled", "failed", "child cancelled"])
async def test_a_finished_group_leaves_no_cycle(ending: str) -> None:
    with no_cycle_collector():
        player = Player()
        freed = weakref.ref(player.buffer)
        if ending == "child cancelled":
            async with TaskGroup() as group:
                player.task = group.create_task(player.play())
                await asyncio.sleep(0)
                player.task.cancel()
        else:
            unit = asyncio.create_task(_unit_of_work(player, fail=ending == "failed"))
            await asyncio.sleep(0.01)
            unit.cancel()
            # Awaited here, not in a helper, and not under `pytest.raises`: a frame
            # that holds a failed task while its exception passes through is a
            # cycle of the test's own making.
            outcome = "returned"
            try:
                await unit
            except asyncio.CancelledError:
                outcome = "cancelled"
            except ExceptionGroup as group:
                outcome = type(group.exceptions[0]).__name__
            assert outcome == ("RuntimeError" if ending == "failed" else "cancelled")
            del unit
        del player
        await asyncio.sleep(0)  # the loop holds the last exception it delivered until its next turn
        assert freed() is None


async def test_while_running_leaves_no_cycle_when_cancelled() -> None:
    with no_cycle_collector():
        player = Player()
        freed = weakref.ref(player.buffer)
        unit = asyncio.create_task(while_running(asyncio.sleep(3600), player.play()))
        await asyncio.sleep(0.01)
        unit.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await unit
        del unit, player
        await asyncio.sleep(0)
        assert freed() is None
