"""A completed session whose artifacts the test chose, on a running stack.

`finish_session` starts a session through the integrator API, puts a
recording and a transcript into the running gateway's own artifact store
(the directory it serves them from), and reports the session completed with
signed S2S events, as the gateway does at the end of an interview. The
recording is noise, different on each channel, so a clip of the wrong
stretch or channel cannot pass for the right one.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from audio.frames import SAMPLE_RATE
from audio.wav import StereoWavWriter
from gateway.s2s.artifacts import LocalArtifactStore, recording_key, transcript_key
from zenhire.loopback.stack import Stack
from zenhire.signing import Direction, Signer

EVENTS_PATH = "/api/v1/interview/s2s/events"
SAMPLES_PER_MS = SAMPLE_RATE // 1000
STARTED_AT = "2026-05-29T10:10:05.123Z"

Stereo = npt.NDArray[np.int16]  # shape (samples, 2): candidate, interviewer


def noise(seconds: float, seed: int = 16) -> Stereo:
    samples = np.random.default_rng(seed).integers(-20_000, 20_000, (int(seconds * SAMPLE_RATE), 2))
    return samples.astype(np.int16)


def answer(start_ms: int, end_ms: int, text: str) -> dict[str, Any]:
    """One ``responses[]`` entry as the gateway's transcript document holds it."""
    return {
        "question_id": str(uuid.uuid4()),
        "question_text": "Tell me about a system you built.",
        "question_type": "experience",
        "transcript": text,
        "start_ms": start_ms,
        "end_ms": end_ms,
        "duration_seconds": (end_ms - start_ms) / 1000,
        "answered_at": STARTED_AT,
    }


async def finish_session(
    stack: Stack, tmp_path: Path, recording: Stereo, document: dict[str, Any]
) -> str:
    """A session completed with ``recording`` and ``document`` (session_id filled in)."""
    session_id, _ = await stack.create_session()
    store = LocalArtifactStore(stack.gateway_settings.artifacts_dir)
    wav = tmp_path / f"{session_id}.wav"
    with StereoWavWriter(wav) as writer:
        writer.write(recording[:, 0].tobytes(), recording[:, 1].tobytes())
    await store.put_file(recording_key(session_id), wav)
    transcript = tmp_path / f"{session_id}.json"
    transcript.write_text(json.dumps({"session_id": session_id, **document}))
    await store.put_file(transcript_key(session_id), transcript)
    duration_sec = len(recording) // SAMPLE_RATE
    await _event(stack, session_id, "session.started", {"started_at": STARTED_AT})
    await _event(
        stack,
        session_id,
        "session.completed",
        {
            "recording_key": recording_key(session_id),
            "transcript_key": transcript_key(session_id),
            "duration_sec": duration_sec,
            "started_at": STARTED_AT,
            "consent": None,
        },
    )
    await stack.wait_for_status(session_id, "completed")
    return session_id


async def _event(stack: Stack, session_id: str, type_: str, data: dict[str, Any]) -> None:
    body = json.dumps(
        {
            "event_id": str(uuid.uuid4()),
            "type": type_,
            "session_id": session_id,
            "occurred_at": STARTED_AT,
            "data": data,
        }
    ).encode()
    headers = Signer.of(stack.gateway_settings.s2s_secrets, Direction.TO_CONTROL_PLANE).headers(
        "POST", EVENTS_PATH, body
    )
    response = await stack.http.post(stack.control_url + EVENTS_PATH, content=body, headers=headers)
    assert response.status_code == 200, response.text
