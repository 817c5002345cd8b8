"""The local interviewer over the real gateway: models loaded in its lifespan.

A scripted candidate on the WebSocket transport answers with real eSpeak NG
speech that pauses for 2 s after "and"; the gateway (uvicorn on loopback,
default settings: Smart Turn, Silero VAD, PocketSphinx's words) must keep
the answer as one turn and answer it promptly once it is finished. A
gateway shut down mid-interview ends its interviews promptly and leaves no
helper process behind.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from audio.frames import SAMPLE_BYTES, SAMPLE_RATE
from gateway.app import create_app
from tests.controlplane.harness import until
from tests.processes import child_processes
from zenhire.loopback.candidate import Candidate
from zenhire.loopback.servers import Restartable
from zenhire.loopback.speech import synthesize
from zenhire.loopback.stack import running_stack

FIRST, REST = "I worked on the billing platform for three years and", "then I moved to data."
PAUSE_MS = 2000
# End of the finished answer → the interviewer's next words, on the recording's timeline.
PROMPT_REPLY_MS = 1200
# Into the greeting: the interviewer is speaking, its next sentence synthesizing.
MID_GREETING_SEC = 1.5
SHUTDOWN_BOUND_SEC = 15.0
SERVICE_RESTART = 1012
# uvicorn cuts each socket right after its 1012 frame, without reading on. A
# candidate frame that arrives after the cut draws a TCP reset, and the reset
# can beat the close frame into the candidate's socket: it then sees 1006. The
# page takes both to the same place (reconnect, static/live.js), and both come
# only from the server going away.
CUT_BY_SHUTDOWN = {SERVICE_RESTART, 1006}


def paused_answer() -> bytes:
    silence = bytes(SAMPLE_RATE * PAUSE_MS // 1000 * SAMPLE_BYTES)
    return synthesize(FIRST) + silence + synthesize(REST)


async def test_a_pause_after_and_stays_one_answer_answered_promptly(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack:
        session_id, candidate = await stack.open_candidate(Candidate)
        await candidate.interview([paused_answer()])
        assert candidate.kinds("ended")[-1]["reason"] == "completed"
        await stack.wait_for_status(session_id, "completed")
        response = await stack.http.get(
            f"{stack.api}/sessions/{session_id}/transcript", headers=stack.headers
        )
        turns: list[dict[str, Any]] = response.json()["turns"]
    answers = [t for t in turns if t["speaker"] == "candidate"]
    assert len(answers) == 1, turns
    assert answers[0]["end_ms"] - answers[0]["start_ms"] > PAUSE_MS + 2000, turns
    [after] = [t for t in turns if t["start_ms"] > answers[0]["end_ms"]]
    assert after["speaker"] == "interviewer", turns
    assert after["start_ms"] - answers[0]["end_ms"] < PROMPT_REPLY_MS, turns


def speaking(candidates: list[Candidate]) -> Callable[[], Awaitable[bool]]:
    async def probe() -> bool:
        return all(c.frames_received for c in candidates)

    return probe


async def test_shutdown_mid_interview_ends_every_session_promptly(tmp_path: Path) -> None:
    async with running_stack(tmp_path, start_gateway=False) as stack:
        port = urlsplit(stack.gateway_url).port
        assert port is not None
        gateway = Restartable(lambda: create_app(stack.gateway_settings), port)
        await gateway.start()
        try:
            candidates = [(await stack.open_candidate(Candidate))[1] for _ in range(2)]
            talks = [asyncio.create_task(c.interview([paused_answer()])) for c in candidates]
            await until(speaking(candidates), SHUTDOWN_BOUND_SEC)
            await asyncio.sleep(MID_GREETING_SEC)
        finally:
            started = time.monotonic()
            async with asyncio.timeout(SHUTDOWN_BOUND_SEC):
                await gateway.stop()
            stopped_sec = time.monotonic() - started
        # The candidates' sockets are cut (`CUT_BY_SHUTDOWN`), which they raise.
        await asyncio.wait(talks, timeout=SHUTDOWN_BOUND_SEC)
    errors = [task.exception() for task in talks]
    assert stopped_sec < SHUTDOWN_BOUND_SEC
    assert all(c.close_code in CUT_BY_SHUTDOWN for c in candidates), errors
    assert child_processes() == []
