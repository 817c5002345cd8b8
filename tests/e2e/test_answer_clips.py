"""Each answer's audio through the integrator API: the transcript's ``audio_path``
streams that answer as a WAV, cut by the gateway and proxied by the control plane.

The transcript with ``responses[]`` is written into the running gateway's
artifact store by the test (`tests.recorded`): the gateway's interviewers do
not write ``responses`` yet, and a document the test chooses pins the times
the clips must match to the sample.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

from audio.frames import SAMPLE_RATE
from controlplane.admin import create_client
from tests.recorded import SAMPLES_PER_MS, answer, finish_session, noise
from zenhire.loopback.stack import Stack, running_stack

RECORDING_SEC = 12
ANSWERS = [answer(1_500, 4_250, "I built payment systems."), answer(6_020, 11_480, "In Python.")]
DOCUMENT = {
    "duration_ms": RECORDING_SEC * 1000,
    "turns": [{"speaker": "candidate", "text": "I built payment systems.", "start_ms": 1500}],
    "responses": ANSWERS,
}
TOLERANCE_SEC = 0.020


def decode(wav: bytes) -> tuple[np.ndarray, int]:
    samples, rate = soundfile.read(io.BytesIO(wav), dtype="int16")
    return samples, int(rate)


async def get(stack: Stack, path: str, **headers: str) -> Any:
    return await stack.http.get(stack.control_url + path, headers={**stack.headers, **headers})


async def transcript_of(stack: Stack, session_id: str) -> dict[str, Any]:
    response = await get(stack, f"/api/v1/interview/sessions/{session_id}/transcript")
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


async def test_each_answer_clip_is_that_stretch_of_the_recording(tmp_path: Path) -> None:
    recording = noise(RECORDING_SEC)
    async with running_stack(tmp_path) as stack:
        session_id = await finish_session(stack, tmp_path, recording, DOCUMENT)
        document = await transcript_of(stack, session_id)
        assert document["turns"] == DOCUMENT["turns"], "the rest of the document is untouched"
        for entry, written in zip(document["responses"], ANSWERS, strict=True):
            assert entry == {**written, "audio_path": entry["audio_path"]}
            assert entry["audio_path"] == (
                f"/api/v1/interview/sessions/{session_id}/recording"
                f"?from_ms={written['start_ms']}&to_ms={written['end_ms']}"
            )
            clip = await get(stack, entry["audio_path"])
            assert clip.status_code == 200 and clip.headers["content-type"] == "audio/wav"
            samples, rate = decode(clip.content)
            assert rate == SAMPLE_RATE
            assert abs(len(samples) / rate - entry["duration_seconds"]) <= TOLERANCE_SEC
            stretch = recording[
                written["start_ms"] * SAMPLES_PER_MS : written["end_ms"] * SAMPLES_PER_MS
            ]
            assert np.array_equal(samples, stretch)

            candidate = await get(stack, entry["audio_path"] + "&channels=candidate")
            mono, _ = decode(candidate.content)
            assert mono.ndim == 1 and np.array_equal(mono, stretch[:, 0])


async def test_a_clip_seeks_with_ranges_and_is_clipped_at_the_end(tmp_path: Path) -> None:
    recording = noise(RECORDING_SEC)
    async with running_stack(tmp_path) as stack:
        session_id = await finish_session(stack, tmp_path, recording, DOCUMENT)
        path = f"/api/v1/interview/sessions/{session_id}/recording?from_ms=10000&to_ms=99000"
        whole = await get(stack, path)
        samples, rate = decode(whole.content)
        assert len(samples) == 2 * rate, "clipped at the recording's end"
        assert np.array_equal(samples, recording[10_000 * SAMPLES_PER_MS :])
        assert whole.headers["accept-ranges"] == "bytes"

        for first, last in ((0, 99), (1001, 2002), (len(whole.content) - 10, 10**9)):
            part = await get(stack, path, Range=f"bytes={first}-{last}")
            assert part.status_code == 206
            end = min(last, len(whole.content) - 1)
            assert part.headers["content-range"] == f"bytes {first}-{end}/{len(whole.content)}"
            assert part.content == whole.content[first : end + 1]
        beyond = await get(stack, path, Range=f"bytes={len(whole.content)}-")
        assert beyond.status_code == 416

        empty = await get(stack, path.replace("from_ms=10000", "from_ms=50000"))
        assert empty.status_code == 200 and len(decode(empty.content)[0]) == 0


BAD_QUERIES = [
    ("from_ms=abc", "from_ms"),
    ("from_ms=-5", "from_ms"),
    ("from_ms=1.5", "from_ms"),
    ("to_ms=", "to_ms"),
    ("from_ms=10000000000", "from_ms"),
    ("from_ms=5000&to_ms=4999", "to_ms"),
    ("to_ms=1000&from_ms=2000", "to_ms"),
    ("channels=left", "channels"),
    ("channels=", "channels"),
]


async def test_bad_or_inverted_bounds_are_400(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack:
        session_id = await finish_session(stack, tmp_path, noise(2), DOCUMENT)
        for query, field in BAD_QUERIES:
            path = f"/api/v1/interview/sessions/{session_id}/recording?{query}"
            response = await get(stack, path)
            assert response.status_code == 400, (query, response.text)
            error = response.json()["error"]
            assert error["code"] == "VALIDATION_ERROR"
            assert error["details"]["errors"][0]["field"] == field, query


async def test_another_clients_key_gets_no_clip(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack:
        session_id = await finish_session(stack, tmp_path, noise(2), DOCUMENT)
        other = str(create_client(stack.control_settings, name="Other")["api_key"])
        for artifact in ("recording?from_ms=0&to_ms=500", "transcript"):
            response = await stack.http.get(
                f"{stack.api}/sessions/{session_id}/{artifact}", headers={"X-API-Key": other}
            )
            assert response.status_code == 403
            assert response.json()["error"]["code"] == "FORBIDDEN"


async def test_a_transcript_without_timed_responses_is_passed_through(tmp_path: Path) -> None:
    untimed = [
        {"transcript": "no times"},
        {"start_ms": True, "end_ms": 5},
        {"start_ms": 900, "end_ms": 100},
        {"start_ms": "0", "end_ms": "10"},
        "not an entry",
    ]
    async with running_stack(tmp_path) as stack:
        for responses in ("not a list", untimed):
            document = {"duration_ms": 2000, "turns": [], "responses": responses}
            session_id = await finish_session(stack, tmp_path, noise(2), document)
            assert await transcript_of(stack, session_id) == {"session_id": session_id, **document}
