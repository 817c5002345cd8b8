"""The realtime interviewer against a protocol-faithful fake upstream, over real servers.

Each test runs the fake endpoint (`zenhire.fake_realtime.server`), the control plane
and the gateway on loopback, and a scripted candidate on the WebSocket
transport speaking real synthesized speech.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import websockets

from audio.frames import FRAME_BYTES, FRAME_MS, FRAME_SAMPLES, FRAME_SEC, SILENCE
from gateway.errors import ConfigError
from gateway.interviewer.realtime import protocol as protocol
from gateway.settings import Settings
from tests.audio_checks import stereo_channels
from tests.operator import AUTH, OPERATOR_ENV
from zenhire.fake_realtime.checks import session_problems
from zenhire.fake_realtime.cues import Cues
from zenhire.fake_realtime.script import CLOSING, GREETING
from zenhire.fake_realtime.server import FakeRealtime
from zenhire.loopback.candidate import Candidate
from zenhire.loopback.speech import synthesize
from zenhire.loopback.stack import Stack, running_stack
from zenhire.signing import Direction, Signer
from zenhire.tasks import TaskGroup

pytestmark = pytest.mark.timeout(90)

KEY = "sk-test-9f8e7d6c5b4a39281706"
SAMPLES_PER_MS = 24


@pytest.fixture(scope="module")
def answer() -> bytes:
    return synthesize("I built a payment service in Python.")


def cues(**changes: Any) -> Cues:
    """Brisk speech and turn-taking, so that an interview takes seconds."""
    return Cues(**{"words_per_minute": 300, "vad_silence_ms": 300, "pace": 3.0, **changes})


def realtime_env(url: str, **extra: str) -> dict[str, str]:
    return {
        "ZENHIRE_INTERVIEWER": "realtime",
        "ZENHIRE_REALTIME_URL": url,
        "OPENAI_API_KEY": KEY,
        "ZENHIRE_REALTIME_RECONNECT_ATTEMPTS": "3",
        "ZENHIRE_REALTIME_RECONNECT_BASE_DELAY_SEC": "0.05",
        "ZENHIRE_REALTIME_RECONNECT_MAX_DELAY_SEC": "0.2",
        "ZENHIRE_REALTIME_SILENCE_TIMEOUT_SEC": "1.5",
        **OPERATOR_ENV,
        **extra,
    }


@asynccontextmanager
async def realtime_stack(
    tmp_path: Path, behaviour: Cues, max_duration_sec: int = 120, **env: str
) -> AsyncIterator[tuple[Stack, FakeRealtime]]:
    fake = FakeRealtime(behaviour)
    async with (
        fake.running() as url,
        running_stack(
            tmp_path, max_duration_sec=max_duration_sec, gateway_env=realtime_env(url, **env)
        ) as stack,
    ):
        yield stack, fake


async def interview(stack: Stack, answers: list[bytes]) -> tuple[str, Candidate]:
    session_id, candidate = await stack.open_candidate(Candidate)
    async with asyncio.timeout(60):
        await candidate.interview(answers)
    return session_id, candidate


async def artifact(stack: Stack, session_id: str, name: str) -> bytes:
    response = await stack.http.get(
        f"{stack.api}/sessions/{session_id}/{name}", headers=stack.headers
    )
    assert response.status_code == 200, response.text
    return response.content


async def gateway_artifact(stack: Stack, session_id: str, name: str) -> bytes:
    """An artifact straight from the gateway (the control plane serves completed ones only)."""
    path = f"/s2s/v1/sessions/{session_id}/{name}"
    headers = Signer.of(stack.gateway_settings.s2s_secrets, Direction.TO_GATEWAY).headers(
        "GET", path, b""
    )
    response = await stack.http.get(stack.gateway_url + path, headers=headers)
    assert response.status_code == 200, response.text
    return response.content


async def turns(stack: Stack, session_id: str, *, completed: bool = True) -> list[dict[str, Any]]:
    fetch = artifact if completed else gateway_artifact
    found: list[dict[str, Any]] = json.loads(await fetch(stack, session_id, "transcript"))["turns"]
    return found


def finals(candidate: Candidate, speaker: str) -> list[str]:
    return [
        event["text"]
        for event in candidate.kinds("caption")
        if event["speaker"] == speaker and event["final"]
    ]


# -- the protocol module and settings -------------------------------------------------


def test_session_update_has_the_shape_the_ga_reference_describes() -> None:
    event = protocol.session_update(
        instructions="Interview.",
        voice="marin",
        language="en",
        transcription_model="gpt-4o-mini-transcribe",
        end_tool_description="End it.",
    )
    assert event["type"] == "session.update"
    assert session_problems(event["session"]) == []


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("response.output_audio_transcript.delta", "delta"),
        ("response.audio_transcript.delta", "delta"),
    ],
)
def test_transcript_deltas_parse_under_ga_and_beta_names(name: str, field: str) -> None:
    parsed = protocol.parse(json.dumps({"type": name, "item_id": "item_1", field: "Hello"}))
    assert parsed == protocol.TranscriptDelta("item_1", "Hello")


def test_realtime_without_a_key_fails_at_start_up_naming_it() -> None:
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        Settings.from_env({"ZENHIRE_INTERVIEWER": "realtime"})
    settings = Settings.from_env({"ZENHIRE_INTERVIEWER": "realtime", "OPENAI_API_KEY": KEY})
    assert KEY not in repr(settings)


# -- interviews over real servers -----------------------------------------------------


async def test_full_interview_is_held_by_the_upstream(tmp_path: Path, answer: bytes) -> None:
    async with realtime_stack(tmp_path, cues(api_key=KEY, questions=2)) as (stack, fake):
        session_id, candidate = await interview(stack, [answer, answer])
        session = await stack.wait_for_status(session_id, "completed")
        transcript = await turns(stack, session_id)
        _, right, rate = stereo_channels(await artifact(stack, session_id, "recording"))
    [connection] = fake.connections
    assert connection.violations == []
    assert connection.model == "gpt-realtime"
    duration_ms = len(right) * 1000 // rate
    # Every tick's candidate frame went upstream as 24 kHz PCM16: samples match the timeline.
    assert (duration_ms - 1500) * SAMPLES_PER_MS <= connection.appended_samples
    assert connection.appended_samples <= duration_ms * SAMPLES_PER_MS
    speakers = [turn["speaker"] for turn in transcript]
    assert speakers == ["interviewer", "candidate", "interviewer", "candidate", "interviewer"]
    assert transcript[0]["text"].startswith(GREETING)
    assert transcript[-1]["text"] == CLOSING
    assert all(a["end_ms"] <= b["start_ms"] for a, b in pairwise(transcript))
    assert finals(candidate, "candidate")[0].startswith("My answer number 1")
    assert any(not e["final"] for e in candidate.kinds("caption"))
    assert session["duration_sec"] >= 10


async def test_end_interview_call_is_answered_after_the_closing_words(
    tmp_path: Path, answer: bytes
) -> None:
    """The tool call is answered, and the session ends only once the goodbye was heard.

    The fake speaks the beta event names here, which the gateway accepts too.
    """
    async with realtime_stack(tmp_path, cues(questions=1, beta_names=True)) as (stack, fake):
        session_id, _ = await interview(stack, [answer])
        await stack.wait_for_status(session_id, "completed")
        transcript = await turns(stack, session_id)
        _, right, rate = stereo_channels(await artifact(stack, session_id, "recording"))
    [connection] = fake.connections
    assert len(connection.function_outputs) == 1
    closing = transcript[-1]
    assert closing["text"] == CLOSING
    closing_audio = right[closing["start_ms"] * rate // 1000 : closing["end_ms"] * rate // 1000]
    heard_ms = len(closing_audio) * 1000 // rate
    assert heard_ms >= 0.9 * (closing["end_ms"] - closing["start_ms"]) > 2000
    assert np.count_nonzero(closing_audio[-len(closing_audio) // 4 :]) > 0
    assert len(right) * 1000 // rate >= closing["end_ms"]


async def test_barge_in_truncates_the_item_at_what_the_candidate_heard(
    tmp_path: Path, answer: bytes
) -> None:
    behaviour = cues(questions=3, record_audio=True)
    async with realtime_stack(tmp_path, behaviour) as (stack, fake):
        session_id, candidate = await stack.open_candidate(Candidate)
        async with await candidate.connect() as socket:
            await _interrupt(socket, answer, after_heard_sec=0.8, end_after_sec=6.0)
        await stack.wait_for_status(session_id, "completed")
        transcript = await turns(stack, session_id)
        _, right, _ = stereo_channels(await artifact(stack, session_id, "recording"))
    [connection] = fake.connections
    assert connection.violations == []
    [truncate] = connection.truncates
    heard_ms = truncate["audio_end_ms"]
    assert 800 <= heard_ms < truncate["sent_ms"]
    greeting = transcript[0]
    assert greeting["speaker"] == "interviewer" and greeting["text"].endswith("[interrupted]")
    sent = np.frombuffer(fake.audio[truncate["item_id"]], dtype="<i2").astype(np.float64)
    start = greeting["start_ms"] * SAMPLES_PER_MS
    heard = heard_ms * SAMPLES_PER_MS
    # The recording's interviewer channel holds exactly the heard part (to one
    # frame), in order, and nothing after it until the next item. On a loaded
    # machine a frame may reach the recording a tick or two after its slot, and
    # a stall may leave a silent frame between two heard ones: that moves the
    # audio on the timeline by a few frames, and never changes it.
    begin = max(0, start - 5 * FRAME_SAMPLES)
    window = right[begin : start + heard + 20 * FRAME_SAMPLES]
    recorded = _voiced_frames(window, begin - start)
    said = _voiced_frames(sent[: heard - FRAME_SAMPLES], 0)
    assert [pcm for _, pcm in recorded[: len(said)]] == [pcm for _, pcm in said]
    assert len(recorded) <= len(_voiced_frames(sent[: heard + FRAME_SAMPLES], 0))
    late = [at - sent_at for (at, _), (sent_at, _) in zip(recorded, said, strict=False)]
    assert 0 <= late[0] <= 2 and late[-1] - late[0] <= 5, late
    # The turn spans what was heard, and the frames it came late by.
    duration_ms = greeting["end_ms"] - greeting["start_ms"]
    assert duration_ms == pytest.approx(heard_ms + late[-1] * FRAME_MS, abs=40)


async def test_handover_moves_to_a_fresh_session_before_the_upstream_limit(
    tmp_path: Path, answer: bytes
) -> None:
    limited = cues(questions=1, max_session_sec=7.0)
    async with realtime_stack(tmp_path, limited, ZENHIRE_REALTIME_HANDOVER_SEC="2") as (
        stack,
        fake,
    ):
        session_id, _ = await interview(stack, [answer])
        await stack.wait_for_status(session_id, "completed")
        transcript = await turns(stack, session_id)
    assert len(fake.connections) >= 2
    for connection in fake.connections:
        assert not connection.closed_by_limit
        assert connection.violations == []
    second = fake.connections[1]
    assert second.restore_missing == []
    assert any(text.startswith(GREETING) for text in second.texts_created)
    assert [turn["speaker"] for turn in transcript] == ["interviewer", "candidate", "interviewer"]
    assert transcript[-1]["text"] == CLOSING


@pytest.mark.parametrize("fault", ["drop", "error", "rate_limit", "silent"])
async def test_upstream_fault_reconnects_and_restores_the_conversation(
    tmp_path: Path, answer: bytes, fault: str
) -> None:
    """The second response fails (by ``fault``); a fresh session gets the history and closes."""
    async with realtime_stack(tmp_path, cues(questions=1, faults={2: fault})) as (stack, fake):
        session_id, candidate = await interview(stack, [answer])
        await stack.wait_for_status(session_id, "completed")
        transcript = await turns(stack, session_id)
        metrics = (await stack.http.get(stack.gateway_url + "/metrics", headers=AUTH)).text
    assert "zenhire_upstream_reconnects_total 1.0" in metrics
    assert re.search(r'zenhire_upstream_errors_total\{code="Upstream\w+"\} 1\.0', metrics)
    assert len(fake.connections) == 2
    first, second = fake.connections
    assert first.violations == second.violations == []
    assert second.restore_missing == []
    restored = " ".join(second.texts_created)
    assert GREETING in restored and "My answer number 1" in restored
    assert transcript[-1]["text"] == CLOSING
    assert not candidate.kinds("error")


@pytest.mark.fault(
    "realtime upstream refusing",
    injected="the upstream refuses every reconnect",
    happened="with ZENHIRE_INTERVIEWER_FALLBACK=none: UPSTREAM_UNAVAILABLE, with its recording",
    lost="nothing recorded",
)
async def test_upstream_gone_for_good_fails_with_upstream_unavailable_without_a_fallback(
    tmp_path: Path, answer: bytes
) -> None:
    behaviour = cues(questions=2, faults={2: "drop"}, refuse_from=2)
    async with realtime_stack(tmp_path, behaviour, ZENHIRE_INTERVIEWER_FALLBACK="none") as (
        stack,
        fake,
    ):
        session_id, candidate = await interview(stack, [answer, answer])
        session = await stack.wait_for_status(session_id, "failed")
        transcript = await turns(stack, session_id, completed=False)
        left, _, rate = stereo_channels(await gateway_artifact(stack, session_id, "recording"))
    assert session["error"]["code"] == "UPSTREAM_UNAVAILABLE"
    assert fake.attempts == 4  # the working session, then three refused reconnects
    [error] = candidate.kinds("error")
    assert error["code"] == "UPSTREAM_UNAVAILABLE"
    assert finals(candidate, "interviewer")[-1] == error["message"]
    assert [turn["speaker"] for turn in transcript][:2] == ["interviewer", "candidate"]
    assert len(left) / rate >= 5.0


async def test_wrap_up_closes_the_interview_before_the_time_budget(tmp_path: Path) -> None:
    behaviour = cues(questions=5)
    async with realtime_stack(
        tmp_path, behaviour, max_duration_sec=12, ZENHIRE_WRAP_UP_SEC="8"
    ) as (
        stack,
        fake,
    ):
        session_id, _ = await interview(stack, [])
        session = await stack.wait_for_status(session_id, "completed")
        transcript = await turns(stack, session_id)
    [connection] = fake.connections
    assert any("wrap up" in text.lower() for text in connection.texts_created)
    assert transcript[-1]["text"] == CLOSING
    assert session["duration_sec"] < 12


@pytest.mark.attack(
    "upstream key in logs",
    injected="an interview over the realtime upstream with a known key",
    happened="the key is in no log line",
)
async def test_api_key_never_reaches_a_log_line(
    tmp_path: Path, answer: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    for name in ("zenhire", "websockets", "websockets.client", "websockets.server"):
        caplog.set_level(logging.DEBUG, logger=name)
    async with realtime_stack(tmp_path, cues(api_key=KEY, questions=1)) as (stack, fake):
        session_id, _ = await interview(stack, [answer])
        await stack.wait_for_status(session_id, "completed")
    assert fake.connections and fake.connections[0].violations == []
    handshake = [r for r in caplog.records if "Authorization" in r.getMessage()]
    assert handshake, "the handshake headers were logged (redacted)"
    assert not [r for r in caplog.records if KEY in r.getMessage()]
    assert KEY not in caplog.text


# -- a candidate who interrupts ---------------------------------------------------------


def _voiced_frames(channel: np.ndarray[Any, Any], first: int) -> list[tuple[int, bytes]]:
    """The 20 ms frames of ``channel`` that are not digital silence, each with its
    place in frames; ``channel`` starts on a frame, ``first`` samples from the origin."""
    return [
        ((first + at) // FRAME_SAMPLES, channel[at : at + FRAME_SAMPLES].tobytes())
        for at in range(0, len(channel) - FRAME_SAMPLES + 1, FRAME_SAMPLES)
        if np.any(channel[at : at + FRAME_SAMPLES])
    ]


async def _interrupt(
    socket: websockets.ClientConnection,
    speech: bytes,
    *,
    after_heard_sec: float,
    end_after_sec: float,
) -> None:
    """Send silence in real time; speak once ``after_heard_sec`` of the interviewer was heard;
    end the interview ``end_after_sec`` after going live."""
    heard = [0]
    live = asyncio.Event()

    async def listen() -> None:
        async for message in socket:
            if isinstance(message, bytes):
                heard[0] += 1
            elif json.loads(message)["type"] == "live":
                live.set()

    async with TaskGroup() as group:
        listener = group.create_task(listen())
        await live.wait()
        loop = asyncio.get_running_loop()
        started = next_at = loop.time()
        frames = [speech[i : i + FRAME_BYTES] for i in range(0, len(speech), FRAME_BYTES)]
        frames[-1] = frames[-1].ljust(FRAME_BYTES, b"\0")
        pending: deque[bytes] = deque()
        spoken = False
        while loop.time() - started < end_after_sec:
            if not spoken and heard[0] * FRAME_SEC >= after_heard_sec:
                spoken = True
                pending.extend(frames)
            await socket.send(pending.popleft() if pending else SILENCE)
            next_at += FRAME_SEC
            await asyncio.sleep(max(0.0, next_at - loop.time()))
        await socket.send(json.dumps({"type": "end"}))
        async with asyncio.timeout(10):
            await listener
