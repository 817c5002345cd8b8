"""The realtime interviewer asks a persona's custom questions and marks each one.

Over real servers: the fake upstream (`zenhire.fake_realtime`) calls the
gateway's ``ask_question`` tool before each question, as a model following
the instructions does; the transcript's ``responses`` file each answer under
its question.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tests.interviewer.test_realtime import KEY, artifact, cues, realtime_stack
from zenhire.loopback.candidate import Candidate
from zenhire.loopback.speech import synthesize

pytestmark = pytest.mark.timeout(90)

QUESTIONS = [
    {"text": "Why do you want this role?", "type": "motivation", "time_limit_seconds": 60},
    {"text": "Describe your last project.", "type": "technical", "time_limit_seconds": 90},
]


async def test_custom_questions_are_marked_and_answers_filed_under_them(tmp_path: Path) -> None:
    answer = synthesize("I built a payment service in Python.")
    async with realtime_stack(tmp_path, cues(api_key=KEY, questions=2)) as (stack, fake):
        session_id, token = await stack.create_session(questions=QUESTIONS)
        candidate = Candidate(stack.gateway_url)
        await candidate.open(stack.http, token)
        async with asyncio.timeout(60):
            await candidate.interview([answer, answer])
        await stack.wait_for_status(session_id, "completed")
        document: dict[str, Any] = json.loads(await artifact(stack, session_id, "transcript"))
    [connection] = fake.connections
    assert connection.violations == []
    session = connection.session
    assert session is not None
    tool = next(t for t in session["tools"] if t["name"] == "ask_question")
    ids = tool["parameters"]["properties"]["question_id"]["enum"]
    assert len(ids) == 2 and all(i.startswith("custom-") for i in ids)
    for question in QUESTIONS:
        assert question["text"] in session["instructions"]
    # Both ask_question calls and end_interview were answered.
    assert len(connection.function_outputs) == 3
    responses = document["responses"]
    assert [r["question_id"] for r in responses] == ids
    assert [r["question_text"] for r in responses] == [q["text"] for q in QUESTIONS]
    assert [r["question_type"] for r in responses] == ["motivation", "technical"]
    candidate_turns = [t for t in document["turns"] if t["speaker"] == "candidate"]
    assert len(candidate_turns) == 2
    for response, turn in zip(responses, candidate_turns, strict=True):
        assert response["transcript"] == turn["text"]
        assert (response["start_ms"], response["end_ms"]) == (turn["start_ms"], turn["end_ms"])
        assert response["asked_ms"] <= response["start_ms"]
        assert 1.0 <= response["duration_seconds"] <= 5.0
        assert response["answered_at"] > document["started_at"]
    assert responses[0]["end_ms"] <= responses[1]["asked_ms"]
