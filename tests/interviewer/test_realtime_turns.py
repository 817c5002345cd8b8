"""Turn-taking over the realtime upstream: the gateway decides what interrupts the interviewer.

Over real servers (the fake upstream speaks the OpenAI Realtime protocol and
honours ``interrupt_response: false``): a backchannel said over the
interviewer does not stop it, a sentence stops it within 200 ms of its onset
and the upstream is told what was heard (``response.cancel``,
``conversation.item.truncate``), and the session asks for semantic VAD with
low eagerness unless configured otherwise.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import websockets

from audio.frames import FRAME_BYTES, FRAME_SAMPLES, FRAME_SEC, SILENCE, split_frames
from gateway.errors import ConfigError
from gateway.interviewer.realtime import protocol as protocol
from gateway.settings import Settings
from tests.audio_checks import stereo_channels
from tests.interviewer.test_realtime import KEY, artifact, cues, realtime_stack, turns
from zenhire.fake_realtime.script import CLOSING, GREETING, QUESTIONS
from zenhire.loopback.candidate import Candidate
from zenhire.loopback.speech import synthesize
from zenhire.tasks import TaskGroup

pytestmark = pytest.mark.timeout(90)

SAMPLES_PER_MS = 24
# The interviewer counts as done speaking after this long without its audio.
QUIET_SEC = 0.6
# A frame louder than this (RMS) is the candidate speaking.
SPEECH_RMS = 300.0


@dataclass(frozen=True)
class Line:
    """Something the candidate says: over the interviewer once ``over_heard_sec`` of
    its audio was heard, or (None) as an answer once it has fallen quiet."""

    pcm: bytes
    over_heard_sec: float | None = None


async def converse(socket: websockets.ClientConnection, lines: list[Line]) -> None:
    """Say ``lines`` in order, in real time, silence otherwise, until the gateway closes."""
    heard = [0]  # interviewer frames received
    last_heard = [0.0]  # when the last one came
    live = asyncio.Event()

    async def listen() -> None:
        async for message in socket:
            if isinstance(message, bytes):
                heard[0] += 1
                last_heard[0] = time.monotonic()
            elif json.loads(message)["type"] == "live":
                live.set()

    async def speak() -> None:
        await live.wait()
        script = deque(lines)
        pending: deque[bytes] = deque()
        next_at = time.monotonic()
        heard_by_last_line = 0  # interviewer frames heard when the last line was said
        speaking = False
        while True:
            if speaking and not pending:
                speaking, heard_by_last_line = False, heard[0]
            if not pending and script:
                line = script[0]
                quiet = last_heard[0] and time.monotonic() - last_heard[0] > QUIET_SEC
                if (
                    line.over_heard_sec is not None and heard[0] * FRAME_SEC >= line.over_heard_sec
                ) or (line.over_heard_sec is None and quiet and heard[0] > heard_by_last_line):
                    script.popleft()
                    frames, tail = split_frames(line.pcm)
                    pending.extend(frames + ([tail.ljust(FRAME_BYTES, b"\0")] if tail else []))
                    speaking = True
            try:
                await socket.send(pending.popleft() if pending else SILENCE)
            except websockets.ConnectionClosed:
                return
            next_at += FRAME_SEC
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    async with asyncio.timeout(60), TaskGroup() as group:
        speaker = group.create_task(speak())
        await listen()
        speaker.cancel()


def first_speech_ms(channel: np.ndarray, from_ms: int) -> int:
    """Where the first frame louder than `SPEECH_RMS` starts, at or after ``from_ms``."""
    start = from_ms * SAMPLES_PER_MS
    frames = channel[start : start + (len(channel) - start) // FRAME_SAMPLES * FRAME_SAMPLES]
    loud = np.sqrt((frames.reshape(-1, FRAME_SAMPLES) ** 2).mean(axis=1)) > SPEECH_RMS
    return from_ms + int(np.argmax(loud)) * 20


def aligned(channel: np.ndarray, sent: np.ndarray, near_ms: int) -> int:
    """Where ``sent`` starts in ``channel``, within two frames of ``near_ms``."""
    voiced = int(np.argmax(sent != 0))
    near, probe = near_ms * SAMPLES_PER_MS + voiced, sent[voiced : voiced + 100 * SAMPLES_PER_MS]
    for start in range(max(0, near - 2 * FRAME_SAMPLES), near + 2 * FRAME_SAMPLES):
        if np.array_equal(channel[start : start + len(probe)], probe):
            return start - voiced
    raise AssertionError(f"the item's audio is not in the recording near {near_ms} ms")


def last_sound_ms(channel: np.ndarray, from_ms: int, to_ms: int) -> int:
    """The end of the last non-silent frame between ``from_ms`` and ``to_ms``."""
    stretch = channel[from_ms * SAMPLES_PER_MS : to_ms * SAMPLES_PER_MS]
    last = int(np.nonzero(stretch)[0][-1])
    return from_ms + (last // FRAME_SAMPLES + 1) * 20


@pytest.fixture(scope="module")
def answer() -> bytes:
    return synthesize("I built a payment service in Python.")


def test_session_update_asks_for_semantic_vad_with_low_eagerness_by_default() -> None:
    settings = Settings.from_env({"ZENHIRE_INTERVIEWER": "realtime", "OPENAI_API_KEY": KEY})
    assert settings.realtime is not None
    realtime = settings.realtime
    event = protocol.session_update(
        instructions="Interview.",
        voice="marin",
        language="en",
        transcription_model="gpt-4o-mini-transcribe",
        end_tool_description="End it.",
        turn_detection=realtime.turn_detection,
        eagerness=realtime.eagerness,
        noise_reduction=realtime.noise_reduction,
    )
    audio_in = event["session"]["audio"]["input"]
    assert audio_in["turn_detection"] == {
        "type": "semantic_vad",
        "eagerness": "low",
        "create_response": True,
        "interrupt_response": False,
    }
    assert audio_in["noise_reduction"] == {"type": "far_field"}


def test_turn_detection_is_configurable_and_checked_at_start_up() -> None:
    env = {"ZENHIRE_INTERVIEWER": "realtime", "OPENAI_API_KEY": KEY}
    settings = Settings.from_env(
        {
            **env,
            "ZENHIRE_REALTIME_TURN_DETECTION": "server_vad",
            "ZENHIRE_REALTIME_NOISE_REDUCTION": "near_field",
            "ZENHIRE_REALTIME_BACKCHANNEL_MAX_MS": "800",
        }
    )
    assert settings.realtime is not None
    assert settings.realtime.turn_detection == "server_vad"
    assert settings.realtime.noise_reduction == "near_field"
    assert settings.realtime.barge_in.backchannel_max_ms == 800
    with pytest.raises(ConfigError, match="ZENHIRE_REALTIME_EAGERNESS"):
        Settings.from_env({**env, "ZENHIRE_REALTIME_EAGERNESS": "impatient"})
    with pytest.raises(ConfigError, match="barge-in"):
        Settings.from_env({**env, "ZENHIRE_REALTIME_BACKCHANNEL_MAX_MS": "20"})


@pytest.mark.fault(
    "backchannel over the interviewer",
    injected="an okay while the realtime interviewer speaks",
    happened="it pauses and resumes; nothing truncated",
)
async def test_a_backchannel_over_the_interviewer_does_not_stop_it(
    tmp_path: Path, answer: bytes
) -> None:
    okay = synthesize("okay")
    async with realtime_stack(tmp_path, cues(questions=1, record_audio=True)) as (stack, fake):
        session_id, candidate = await stack.open_candidate(Candidate)
        async with await candidate.connect() as socket:
            await converse(socket, [Line(okay, over_heard_sec=1.0), Line(answer)])
        await stack.wait_for_status(session_id, "completed")
        transcript = await turns(stack, session_id)
        _, right, _ = stereo_channels(await artifact(stack, session_id, "recording"))
    [connection] = fake.connections
    assert connection.violations == []
    assert connection.session is not None
    detection = connection.session["audio"]["input"]["turn_detection"]
    assert (detection["type"], detection["eagerness"]) == ("semantic_vad", "low")
    assert detection["interrupt_response"] is False
    assert connection.truncates == []
    # The upstream's answer to "okay" (its VAD ended a turn there) was cancelled and
    # the "okay" taken out of its conversation, so the next line is still the closing.
    assert connection.cancels == 1 and len(connection.deleted) == 1
    interviewer = [turn for turn in transcript if turn["speaker"] == "interviewer"]
    assert [turn["text"] for turn in interviewer] == [f"{GREETING} {QUESTIONS[0]}", CLOSING]
    # Everything sent of the greeting was played, once and in order, with one short pause.
    greeting = interviewer[0]
    sent = np.frombuffer(next(iter(fake.audio.values())), dtype="<i2").astype(np.float64)
    start = aligned(right, sent, greeting["start_ms"])
    played = right[start : (greeting["end_ms"] + 300) * SAMPLES_PER_MS]
    assert np.array_equal(played[played != 0], sent[sent != 0])
    sent_ms = len(sent) // SAMPLES_PER_MS
    assert sent_ms + 100 < greeting["end_ms"] - greeting["start_ms"] < sent_ms + 1200


async def test_an_interruption_stops_the_interviewer_within_200_ms_and_truncates_it(
    tmp_path: Path, answer: bytes
) -> None:
    # Streamed in real time, so that the response is still under way when interrupted.
    behaviour = cues(questions=2, record_audio=True, pace=1.0)
    async with realtime_stack(tmp_path, behaviour) as (stack, fake):
        session_id, candidate = await stack.open_candidate(Candidate)
        async with await candidate.connect() as socket:
            await converse(socket, [Line(answer, over_heard_sec=1.0), Line(answer)])
        await stack.wait_for_status(session_id, "completed")
        transcript = await turns(stack, session_id)
        left, right, _ = stereo_channels(await artifact(stack, session_id, "recording"))
    [connection] = fake.connections
    assert connection.violations == []
    assert connection.cancels == 1
    [truncate] = connection.truncates
    greeting = transcript[0]
    assert greeting["text"].endswith("[interrupted]")
    heard_ms = truncate["audio_end_ms"]
    assert 1000 <= heard_ms < truncate["sent_ms"]
    # The turn spans what was heard (and the moments the real-time stream ran dry).
    assert heard_ms - 40 <= greeting["end_ms"] - greeting["start_ms"] <= heard_ms + 200
    onset_ms = first_speech_ms(left, greeting["start_ms"])
    next_ms = transcript[2]["start_ms"]
    stopped_ms = last_sound_ms(right, greeting["start_ms"], next_ms)
    assert 0 < stopped_ms - onset_ms <= 200
    assert abs(greeting["end_ms"] - stopped_ms) <= 40
    # What the recording holds of the greeting is what the truncate says was heard.
    sent = np.frombuffer(fake.audio[truncate["item_id"]], dtype="<i2").astype(np.float64)
    played = right[greeting["start_ms"] * SAMPLES_PER_MS : next_ms * SAMPLES_PER_MS]
    heard = sent[: heard_ms * SAMPLES_PER_MS]
    assert np.array_equal(played[played != 0], heard[heard != 0])
    assert transcript[-1]["text"] == CLOSING


def test_barge_in_can_be_switched_off() -> None:
    env = {"ZENHIRE_INTERVIEWER": "realtime", "OPENAI_API_KEY": KEY}
    settings = Settings.from_env({**env, "ZENHIRE_REALTIME_BARGE_IN": "false"})
    assert settings.realtime is not None and not settings.realtime.barge_in.enabled
    with pytest.raises(ConfigError, match="ZENHIRE_REALTIME_BARGE_IN"):
        Settings.from_env({**env, "ZENHIRE_REALTIME_BARGE_IN": "sometimes"})
