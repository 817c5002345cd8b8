"""Turn latency of the embedded interviewer: the candidate stops talking →
the interviewer's next words reach the candidate.

One scripted candidate holds a full interview with the local interviewer
over the WebSocket transport, in real time: it listens, and once the
interviewer has been quiet for `QUIET_SEC` it speaks its next answer
(real eSpeak NG speech), then streams silence. For every answer it times
the end of its speech (the last voiced frame it sent) to the first
interviewer audio frame it receives after it. That gap contains the
interviewer's end-of-turn silence (``end_of_turn_silence_ms``, 1200 ms by
default) by design; the report also gives the time beyond it, which is
what the gateway and the interviewer add.
"""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
import websockets

from audio.frames import FRAME_BYTES, FRAME_SEC, SILENCE, split_frames
from gateway.interviewer.local.settings import LocalInterviewerSettings
from gateway.interviewer.local.voice import Voice
from zenhire.bench.lifecycle import idle_upstream, percentiles
from zenhire.bench.material import CANDIDATE_LINES, VOICED_PEAK, WORDS_PER_MINUTE
from zenhire.bench.stack import rig
from zenhire.tasks import TaskGroup

log = logging.getLogger("zenhire.bench")

QUIET_SEC = 0.6
QUESTIONS = 5
INTERVIEW_TIMEOUT_SEC = 240.0


async def turn_latency(options: Any) -> dict[str, Any]:
    """End of candidate speech → next interviewer audio, ms, over one interview."""
    voice = Voice("en-us", WORDS_PER_MINUTE)
    answers = [b"".join([c async for c in voice.stream(line)]) for line in CANDIDATE_LINES]
    silence_ms = LocalInterviewerSettings().end_of_turn_silence_ms
    with tempfile.TemporaryDirectory(prefix="zenhire-bench-") as scratch:
        work_dir = options.work_dir or Path(scratch)
        async with rig(work_dir, await idle_upstream(options)) as found:
            env = {
                **options.gateway_env,
                "ZENHIRE_INTERVIEWER": "local",
                "ZENHIRE_LOCAL_MAX_QUESTIONS": str(QUESTIONS),
            }
            async with found.gateway("turns", options.gateway_core, env):
                ticket = await found.admit(200_000)
                gaps = await _interview(found.gateway_url, ticket, answers)
    gaps_ms = [gap * 1000 for gap in gaps]
    result = {
        "interviewer": "local",
        "end_of_turn_silence_ms": silence_ms,
        "turns": len(gaps_ms),
        "samples_ms": [round(gap, 1) for gap in gaps_ms],
        "end_of_speech_to_next_audio_ms": percentiles(gaps_ms),
        "beyond_silence_ms": percentiles([gap - silence_ms for gap in gaps_ms]),
    }
    log.info("turn latency: %s", result)
    return result


async def _interview(gateway_url: str, ticket: str, answers: list[bytes]) -> list[float]:
    url = gateway_url.replace("http://", "ws://") + "/api/v1/candidate/ws"
    heard_at = [0.0]
    gaps: list[float] = []
    speech_ended: list[float] = []
    async with websockets.connect(url, max_queue=None) as socket:
        await socket.send(json.dumps({"type": "hello", "ticket": ticket}))
        async with asyncio.timeout(INTERVIEW_TIMEOUT_SEC), TaskGroup() as group:
            sender = group.create_task(_speak(socket, deque(answers), heard_at, speech_ended))
            async for message in socket:
                if not isinstance(message, bytes):
                    if json.loads(message).get("type") == "ended":
                        break
                    continue
                now = time.monotonic()
                if speech_ended and len(gaps) < len(speech_ended) and heard_at[0] == 0.0:
                    gaps.append(now - speech_ended[-1])
                heard_at[0] = now
            sender.cancel()
    return gaps


async def _speak(
    socket: websockets.ClientConnection,
    answers: deque[bytes],
    heard_at: list[float],
    speech_ended: list[float],
) -> None:
    """Stream frames in real time; answer when the interviewer has fallen quiet."""
    pending: deque[tuple[bytes, bool]] = deque()
    next_at = time.monotonic()
    while True:
        now = time.monotonic()
        if not pending and answers and heard_at[0] and now - heard_at[0] > QUIET_SEC:
            frames, tail = split_frames(answers.popleft())
            frames.append(tail + bytes(FRAME_BYTES - len(tail)))
            pending.extend((frame, _voiced(frame)) for frame in frames)
            heard_at[0] = 0.0  # time the next interviewer audio from this answer on
        frame, voiced = pending.popleft() if pending else (SILENCE, False)
        await socket.send(frame)
        if voiced and not any(v for _, v in pending):
            speech_ended.append(time.monotonic())
        next_at += FRAME_SEC
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))


def _voiced(frame: bytes) -> bool:
    return bool(np.abs(np.frombuffer(frame, dtype="<i2")).max() > VOICED_PEAK)
