"""Structured concurrency the project's units of work share (on `asyncio.TaskGroup`).

`TaskGroup` is asyncio's, without the reference cycles Python 3.11's leaves
behind when a group ends by an exception; the project uses it everywhere
instead of asyncio's (ruff bans the other).

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
import contextlib
import contextvars
import traceback
from collections.abc import Awaitable, Coroutine, Generator
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")


class TaskGroup(asyncio.TaskGroup):  # noqa: TID251 (the one place it is named)
    """`asyncio.TaskGroup` whose exit leaves no reference cycle behind.

    On Python 3.11 a group that ends by an exception (a cancelled session, a
    failed pump) raises it from `__aexit__`, whose frame keeps that exception
    in its locals while the exception's traceback keeps the frame, and the
    group keeps its parent task. Such a cycle is freed only by the cycle
    collector, and with it everything its frames reach: a finished
    interview's synthesized prompts, audio rings and buffers. A long-lived
    process runs a full collection rarely (it counts objects, not bytes),
    so memory grew with every interview held. Later Pythons clear these
    references themselves (the same fix); doing it here frees a finished
    unit of work by reference counting, at once.
    """

    def create_task(
        self,
        coro: Generator[Any, None, T] | Coroutine[Any, Any, T],
        *,
        name: str | None = None,
        context: contextvars.Context | None = None,
    ) -> asyncio.Task[T]:
        task = super().create_task(coro, name=name, context=context)
        task.add_done_callback(_forget_cancellation)
        return task

    async def __aexit__(
        self,
        et: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await super().__aexit__(et, exc, tb)
        except BaseException as raised:
            # The finished frames the exception went through (asyncio's
            # `__aexit__` among them) drop their locals; line numbers stay, so
            # the traceback still prints. Frames still running are skipped.
            traceback.clear_frames(raised.__traceback__)
            raise
        finally:
            self._parent_task = None
            et = exc = tb = None


def _forget_cancellation(task: asyncio.Task[Any]) -> None:
    """Drop a cancelled task's `CancelledError`, which it keeps until asked for it.

    Its traceback holds the task's own frames, whose locals often hold
    whatever holds the task (a playback holding its player): a cycle. The
    group never asks, so it is asked here.
    """
    if task.cancelled():
        with contextlib.suppress(asyncio.CancelledError):
            task.result()


def still_wanted() -> None:
    """Raise `CancelledError` if the current task is being cancelled."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def first_to_finish(*coroutines: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutines`` together; return the first result, the others cancelled."""
    async with TaskGroup() as group:
        tasks = [group.create_task(coroutine) for coroutine in coroutines]
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
    # A task that raised has already made the group raise: every done task returned.
    return next(iter(done)).result()


async def while_running(main: Awaitable[T], *pumps: Coroutine[Any, Any, object]) -> T:
    """Await ``main`` with ``pumps`` running beside it; cancel those still running after."""
    async with TaskGroup() as group:
        tasks = [group.create_task(pump) for pump in pumps]
        try:
            return await main
        finally:
            for task in tasks:
                task.cancel()
