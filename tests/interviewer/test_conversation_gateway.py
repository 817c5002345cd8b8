"""Turn-taking of the local interviewer over the real gateway: models loaded in its lifespan.

A scripted candidate on the WebSocket transport answers with real eSpeak NG
speech that pauses for 2 s after "and"; the gateway (uvicorn on loopback,
default settings: Smart Turn, Silero VAD, PocketSphinx's words) must keep
the answer as one turn and answer it promptly once it is finished.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from audio.frames import SAMPLE_BYTES, SAMPLE_RATE
from zenhire.loopback.candidate import Candidate
from zenhire.loopback.speech import synthesize
from zenhire.loopback.stack import running_stack

FIRST, REST = "I worked on the billing platform for three years and", "then I moved to data."
PAUSE_MS = 2000
# End of the finished answer → the interviewer's next words, on the recording's timeline.
PROMPT_REPLY_MS = 1200


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
    assert answers[0]["end_ms"] - answers[0]["start_ms"] > PAUSE_MS + 2000
    [after] = [t for t in turns if t["start_ms"] > answers[0]["end_ms"]]
    assert after["speaker"] == "interviewer"
    assert after["start_ms"] - answers[0]["end_ms"] < PROMPT_REPLY_MS
