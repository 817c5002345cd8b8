"""A finished interview is freed at once, not whenever the cycle collector runs.

The cycle collector of a long-lived process runs a full collection rarely:
it counts objects, not bytes, and an interview's few objects hold megabytes
(prompts synthesized ahead, the end-of-turn audio ring, the playout queue).
Anything of an interview caught in a reference cycle would stay in memory
long after it ended, a replica growing with every interview it holds. Here
the collector is off while interviews end in the ways that cancel their
work mid-flight; afterwards none of the interview's objects may be left.
"""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

import pytest

from gateway.interviewer.local.interviewer import LocalInterviewer
from gateway.interviewer.local.listener import Listener
from gateway.interviewer.local.prepared import PreparedVoice
from gateway.interviewer.local.speaker import Speaker
from gateway.session.live import LiveSession
from tests.collector import no_cycle_collector
from zenhire.loopback.candidate import Candidate, drop
from zenhire.loopback.stack import running_stack

pytestmark = pytest.mark.timeout(90)

# What one interview owns, from the session down to its synthesized prompts.
INTERVIEW_TYPES = (LiveSession, LocalInterviewer, Listener, Speaker, PreparedVoice)


def _interview_objects() -> dict[int, str]:
    # type(), not isinstance: a dead weak proxy among the objects raises on isinstance.
    return {id(o): type(o).__qualname__ for o in gc.get_objects() if type(o) in INTERVIEW_TYPES}


async def left_over(before: dict[int, str], within_sec: float = 10.0) -> list[str]:
    """The interview objects that are not in ``before``, once they are gone or
    ``within_sec`` has passed: a session's last tasks finish after its event is
    queued, and with the collector off, waiting cannot hide a cycle."""
    deadline = asyncio.get_running_loop().time() + within_sec
    while True:
        new = sorted(name for key, name in _interview_objects().items() if key not in before)
        if not new or asyncio.get_running_loop().time() > deadline:
            return new
        await asyncio.sleep(0.2)


@pytest.mark.fault(
    "interview ended mid-prompt, cycle collector off",
    injected="the candidate ends while the interviewer speaks, Python's cycle collector disabled",
    happened="none of the interview's objects is left: its memory is freed when it ends",
)
async def test_an_interview_ended_mid_prompt_is_freed_without_the_cycle_collector(
    tmp_path: Path,
) -> None:
    """The candidate ends while the interviewer speaks: every task is cancelled mid-flight."""
    with no_cycle_collector():
        before = _interview_objects()  # what an earlier test may have left
        async with running_stack(tmp_path) as stack:
            for _ in range(2):
                session_id, candidate = await stack.open_candidate(Candidate)
                await candidate.interview([], end_after_sec=2.0)
                await stack.wait_for_status(session_id, "completed", timeout_sec=30)
            assert await left_over(before) == []


@pytest.mark.fault(
    "candidate vanished mid-prompt, cycle collector off",
    injected="the network goes away while the interviewer speaks and the grace runs out, "
    "Python's cycle collector disabled",
    happened="none of the interview's objects is left once it ends CANDIDATE_LEFT",
)
async def test_an_interview_whose_candidate_vanished_is_freed_without_the_cycle_collector(
    tmp_path: Path,
) -> None:
    """The network goes away mid-prompt and the reconnect grace runs out."""
    with no_cycle_collector():
        before = _interview_objects()
        async with running_stack(
            tmp_path, gateway_env={"ZENHIRE_RECONNECT_GRACE_SEC": "1"}
        ) as stack:
            session_id, candidate = await stack.open_candidate(Candidate)
            socket = await candidate.connect()
            async with asyncio.timeout(20):
                while not isinstance(await socket.recv(), bytes):
                    pass  # until the interviewer's first audio
            drop(socket)
            await stack.wait_for_status(session_id, "failed", timeout_sec=30)
            assert await left_over(before) == []
