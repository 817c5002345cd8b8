"""Structured concurrency the project's units of work share (on `asyncio.TaskGroup`).

`first_to_finish` runs several loops of one unit of work (a connection's
reader and writer, a session's clock and conversation) until the first of
them returns, then cancels the rest. `while_running` awaits a unit's main
coroutine with pumps beside it and cancels the pumps once it returns. In
both, an exception in any task cancels its siblings and propagates, as
`asyncio.TaskGroup` does, in an `ExceptionGroup`.

`still_wanted` is for long-lived loops that catch errors and go on: asked
after each round, it ends the loop when its task is being cancelled even
if the cancellation was turned into an error, or lost, on the way (the
Redis client does both under load).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def still_wanted() -> None:
    """Raise `CancelledError` if the current task is being cancelled."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def first_to_finish(*coroutines: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutines`` together; return the first result, the others cancelled."""
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(coroutine) for coroutine in coroutines]
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
    # A task that raised has already made the group raise: every done task returned.
    return next(iter(done)).result()


async def while_running(main: Awaitable[T], *pumps: Coroutine[Any, Any, object]) -> T:
    """Await ``main`` with ``pumps`` running beside it; cancel those still running after."""
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(pump) for pump in pumps]
        try:
            return await main
        finally:
            for task in tasks:
                task.cancel()
