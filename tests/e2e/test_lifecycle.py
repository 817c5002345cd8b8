"""The seed quickstart end to end, over real servers, with a scripted candidate."""

from __future__ import annotations

from pathlib import Path

from audio.frames import SAMPLE_RATE
from tests.audio_checks import rms, stereo_channels
from zenhire.loopback.candidate import Candidate
from zenhire.loopback.speech import synthesize
from zenhire.loopback.stack import running_stack

ANSWER = "I have built payment systems in Python for six years, and I lead a small team."


async def test_quickstart_runs_end_to_end(tmp_path: Path) -> None:
    """Persona → session → spoken interview → completed → recording and transcript."""
    async with running_stack(tmp_path) as stack:
        session_id, token = await stack.create_session(consent_mode="explicit")
        assert (await stack.session(session_id))["status"] == "initiated"

        candidate = Candidate(stack.gateway_url)
        opened = await candidate.open(stack.http, token)
        assert opened.status_code == 200
        assert candidate.session["session"]["role_name"] == "Senior Backend Engineer"
        await candidate.interview([synthesize(ANSWER)])

        assert candidate.kinds("ended")[-1]["reason"] == "completed"
        assert candidate.kinds("live")[0]["resumed"] is False
        assert any(e["speaker"] == "interviewer" for e in candidate.kinds("caption"))
        assert candidate.frames_received > 100

        session = await stack.wait_for_status(session_id, "completed")
        assert session["duration_sec"] >= 5
        assert session["credit_charged"] == 5 * -(-session["duration_sec"] // 60)
        assert session["consent_mode"] == "explicit"
        assert session["completed_at"]

        recording = await stack.http.get(
            f"{stack.api}/sessions/{session_id}/recording", headers=stack.headers
        )
        assert recording.status_code == 200
        assert recording.headers["content-type"] == "audio/wav"
        left, right, rate = stereo_channels(recording.content)
        assert rate == SAMPLE_RATE
        assert abs(len(left) / rate - session["duration_sec"]) <= 1.0
        # The candidate spoke on the left, the interviewer on the right.
        assert rms(left) > 100
        assert rms(right) > 100

        part = await stack.http.get(
            f"{stack.api}/sessions/{session_id}/recording",
            headers={**stack.headers, "Range": "bytes=0-99"},
        )
        assert part.status_code == 206
        assert part.headers["content-range"] == f"bytes 0-99/{len(recording.content)}"
        assert part.content == recording.content[:100]

        transcript = await stack.http.get(
            f"{stack.api}/sessions/{session_id}/transcript", headers=stack.headers
        )
        assert transcript.status_code == 200
        document = transcript.json()
        assert document["session_id"] == session_id
        assert document["consent"]["text_version"]
        speakers = {turn["speaker"] for turn in document["turns"]}
        assert speakers == {"interviewer", "candidate"}
        for turn in document["turns"]:
            assert 0 <= turn["start_ms"] <= turn["end_ms"] <= document["duration_ms"]
