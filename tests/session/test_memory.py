"""A finished interview is freed at once, not whenever the cycle collector runs.

The cycle collector of a long-lived process runs a full collection rarely:
it counts objects, not bytes, and an interview's few objects hold megabytes
(prompts synthesized ahead, the end-of-turn audio ring, the playout queue).
An interview's objects caught in a reference cycle therefore stayed in
memory long after it ended, and a 30-minute soak grew by 0.3 MiB for every
interview held. Here the collector is off while interviews end in the ways
that cancel their work mid-flight; afterwards none of the interview's
objects may be left.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from gateway.interviewer.local.interviewer import LocalInterviewer
from gateway.interviewer.local.listener import Listener
from gateway.interviewer.local.prepared import PreparedVoice
from gateway.interviewer.local.speaker import Speaker
from gateway.session.live import LiveSession
from zenhire.loopback.candidate import Candidate, drop
from zenhire.loopback.stack import Stack, running_stack

pytestmark = pytest.mark.timeout(90)

# What one interview owns, from the session down to its synthesized prompts.
INTERVIEW_TYPES = (LiveSession, LocalInterviewer, Listener, Speaker, PreparedVoice)


@contextmanager
def no_cycle_collector() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def left_over() -> list[str]:
    # type(), not isinstance: a dead weak proxy among the objects raises on isinstance.
    return sorted(type(o).__qualname__ for o in gc.get_objects() if type(o) in INTERVIEW_TYPES)


async def _ended(stack: Stack, session_id: str, status: str) -> None:
    await stack.wait_for_status(session_id, status, timeout_sec=30)
    await asyncio.sleep(0.5)  # the session's last tasks finish after its event is queued


@pytest.mark.fault(
    "interviews ended mid-flight, cycle collector off",
    injected="interviews end while the interviewer speaks (the candidate ends; the network "
    "goes away) with Python's cycle collector disabled",
    happened="none of an interview's objects is left: its memory is freed when it ends",
)
async def test_an_interview_ended_mid_prompt_is_freed_without_the_cycle_collector(
    tmp_path: Path,
) -> None:
    """The candidate ends while the interviewer speaks: every task is cancelled mid-flight."""
    with no_cycle_collector():
        async with running_stack(tmp_path) as stack:
            for _ in range(2):
                session_id, candidate = await stack.open_candidate(Candidate)
                await candidate.interview([], end_after_sec=2.0)
                await _ended(stack, session_id, "completed")
            assert left_over() == []


async def test_an_interview_whose_candidate_vanished_is_freed_without_the_cycle_collector(
    tmp_path: Path,
) -> None:
    """The network goes away mid-prompt and the reconnect grace runs out."""
    with no_cycle_collector():
        async with running_stack(
            tmp_path, gateway_env={"ZENHIRE_RECONNECT_GRACE_SEC": "1"}
        ) as stack:
            session_id, candidate = await stack.open_candidate(Candidate)
            socket = await candidate.connect()
            async with asyncio.timeout(20):
                while not isinstance(await socket.recv(), bytes):
                    pass  # until the interviewer's first audio
            drop(socket)
            await _ended(stack, session_id, "failed")
            assert left_over() == []
