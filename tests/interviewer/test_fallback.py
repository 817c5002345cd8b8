"""An interview survives its realtime upstream: the embedded interviewer holds the rest.

Over real servers: the fake upstream asks the first of two custom questions,
then drops the connection and refuses every reconnect; the gateway marks the
switch in the transcript, apologises once, and the local interviewer asks the
question left; the interview completes.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from gateway.interviewer import Persona
from gateway.interviewer.local.plan import QuestionCatalog
from tests.interviewer.test_realtime import KEY, artifact, cues, realtime_stack
from zenhire.fake_realtime.script import GREETING
from zenhire.loopback.candidate import Candidate
from zenhire.loopback.speech import synthesize

pytestmark = pytest.mark.timeout(120)

QUESTIONS = [
    {"text": "Why do you want this role?", "type": "motivation", "time_limit_seconds": 60},
    {"text": "Describe your last project.", "type": "technical", "time_limit_seconds": 60},
]
# The local interviewer, brisk: the answers here are short and need no follow-up.
LOCAL_ENV = {
    "ZENHIRE_LOCAL_SHORT_ANSWER_MS": "0",
    "ZENHIRE_LOCAL_TTS_WORDS_PER_MINUTE": "260",
}


@pytest.mark.fault(
    "realtime upstream gone for good",
    injected="the upstream drops a response and refuses every reconnect",
    happened="the embedded interviewer finishes it (completed); the transcript marks the switch",
)
async def test_the_local_interviewer_takes_over_when_the_upstream_is_gone(
    tmp_path: Path,
) -> None:
    answer = synthesize("I built a payment service in Python, and I led its team.")
    # Response 2 (the second question) breaks after two audio deltas; nothing reconnects.
    behaviour = cues(api_key=KEY, questions=2, faults={2: "drop"}, refuse_from=2)
    async with realtime_stack(tmp_path, behaviour, 120, **LOCAL_ENV) as (stack, fake):
        session_id, token = await stack.create_session(questions=QUESTIONS)
        candidate = Candidate(stack.gateway_url)
        await candidate.open(stack.http, token)
        async with asyncio.timeout(90):
            await candidate.interview([answer, answer])
        session = await stack.wait_for_status(session_id, "completed")
        document: dict[str, Any] = json.loads(await artifact(stack, session_id, "transcript"))
    assert session["status"] == "completed"
    assert fake.attempts == 4  # the working session, then three refused reconnects
    assert not candidate.kinds("error")
    [switch] = document["interviewer_switches"]
    assert (switch["from"], switch["to"], switch["reason"]) == (
        "realtime",
        "local",
        "UPSTREAM_UNAVAILABLE",
    )
    turns = document["turns"]
    before = [t for t in turns if t["start_ms"] < switch["at_ms"]]
    after = [t for t in turns if t["start_ms"] >= switch["at_ms"]]
    assert before[0]["speaker"] == "interviewer" and before[0]["text"].startswith(GREETING)
    assert [t["speaker"] for t in before if t["speaker"] == "candidate"] == ["candidate"]
    # One apology in the session's language, then the question left, then goodbye.
    phrases = QuestionCatalog.load().plan(Persona("p", "Engineer", "en"), 1).phrases
    spoken = [t["text"] for t in after if t["speaker"] == "interviewer"]
    assert spoken[0] == phrases.takeover
    assert spoken[1] == QUESTIONS[1]["text"]
    assert spoken[-1].endswith(phrases.closing) and len(spoken) == 3
    assert sum(t["speaker"] == "candidate" for t in after) == 1
    # Each question was asked once, the first by the upstream, the others locally.
    responses = document["responses"]
    assert [r["question_text"] for r in responses] == [q["text"] for q in QUESTIONS]
    assert responses[0]["asked_ms"] < switch["at_ms"] <= responses[1]["asked_ms"]
    assert all(r["transcript"] for r in responses)
    # The candidate's captions kept flowing after the switch.
    captions = [e for e in candidate.kinds("caption") if e["speaker"] == "interviewer"]
    assert any(e["text"] == phrases.takeover for e in captions)
