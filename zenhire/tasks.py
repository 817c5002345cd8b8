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
from collections.abc import Awaitable, Callable, Coroutine, Generator
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")


class TaskGroup(asyncio.TaskGroup):  # noqa: TID251 (the one place it is named)
    """`asyncio.TaskGroup` that leaves no reference cycle behind when it ends.

    A cycle is freed only by the cycle collector, and with it everything its
    frames reach (a finished interview's synthesized prompts, audio rings
    and buffers); a long-lived process runs a full collection rarely, since
    it counts objects, not bytes. asyncio's group leaves two:

    - On Python 3.11 the frame of its ``__aexit__`` keeps the exception it
      raises (a cancellation, an exception group) in its locals, while the
      exception's traceback keeps that frame; the group also keeps its
      parent task. Later Pythons clear these locals themselves.
    - On every version a cancelled task keeps its `CancelledError` until
      asked for its result, which the group never does; the error's
      traceback holds the task's own frames, whose locals often hold what
      holds the task (a playback holding its player). `create_task` asks.
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

    async def __aexit__(  # type: ignore[override]  # typeshed says None; see below
        self,
        et: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        # Newer Pythons' group returns True to swallow its own cancellation
        # (`TaskGroup.cancel`): passed on, not dropped.
        group_exit: Callable[..., Awaitable[bool | None]] = super().__aexit__
        try:
            return await group_exit(et, exc, tb)
        except BaseException as raised:
            _clear_group_frames(raised.__traceback__)
            raise
        finally:
            if not self._tasks:  # left early (GeneratorExit): a late child still needs it
                self._parent_task = None
            et = exc = tb = None


_GROUP_EXIT = asyncio.TaskGroup.__aexit__.__code__  # noqa: TID251


def _clear_group_frames(tb: TracebackType | None) -> None:
    """Drop the locals of asyncio's finished ``__aexit__`` frames in ``tb``.

    Only those: clearing any other frame could finalize a suspended
    generator, and would hide locals from a post-mortem. Line numbers stay,
    so the traceback still prints.
    """
    while tb is not None:
        if tb.tb_frame.f_code is _GROUP_EXIT:
            with contextlib.suppress(RuntimeError):  # still running: nothing to clear
                tb.tb_frame.clear()
        tb = tb.tb_next


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
