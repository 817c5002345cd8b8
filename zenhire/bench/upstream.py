"""The fake realtime upstream, instrumented: it times every frame it hears and says.

`BenchUpstream` is `zenhire.fake_realtime.FakeRealtime` with sessions that
keep its protocol (handshake checks, ``session.created``/``updated``, the
``session.update`` validation, response and item events) and change two
things for a load test:

- it hears the candidate without voice detection (so it never barges in):
  each appended frame is identified, by its mark or by its content
  (`Fingerprints`, for audio that went through Opus), and time-stamped;
- its one response is a monologue that lasts until the connection closes:
  sentences of `SENTENCE_SEC` with `PAUSE_SEC` between them, each streamed
  as `DELTA_MS` audio deltas at real-time pace after a `LEAD_DELTAS` head
  start (as a real model runs slightly ahead), each 20 ms frame marked with
  its index. The pauses matter: the gateway starts each stretch of speech
  the moment it arrives, so each sentence shows the relay's latency at
  that moment, not at the start of the interview.

Which candidate a connection serves comes from the persona's role name
(``Bench Role <n>``) in the instructions the gateway sends.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import re
import time
from typing import Any

import numpy as np
from websockets.asyncio.server import ServerConnection

from audio.frames import FRAME_BYTES, FRAME_MS, FRAME_SEC
from zenhire.bench.markers import CANDIDATE_MAGIC, INTERVIEWER_MAGIC, Fingerprints, mark, read_mark
from zenhire.fake_realtime.connection import Connection
from zenhire.fake_realtime.cues import Cues
from zenhire.fake_realtime.pcm import decode_pcm
from zenhire.fake_realtime.server import FakeRealtime
from zenhire.fake_realtime.session import FakeSession

DELTA_MS = 100
DELTA_FRAMES = DELTA_MS // FRAME_MS
LEAD_DELTAS = 2
SENTENCE_SEC = 4.0
PAUSE_SEC = 0.8
SENTENCE_DELTAS = int(SENTENCE_SEC * 1000) // DELTA_MS
SENTENCE_FRAMES = SENTENCE_DELTAS * DELTA_FRAMES
TRANSCRIPT_EVERY_DELTAS = 5
ROLE = re.compile(r"Bench Role (\d+)")
# A sentence starts on a frame this loud (peak), so that its first packet is
# unmistakably speech even after Opus.
LOUD_PEAK = 4000


def role_name(candidate: int) -> str:
    return f"Bench Role {candidate}"


class BenchUpstream(FakeRealtime):
    """The instrumented fake (see the module docstring); stamps are kept per candidate."""

    def __init__(self, voice: list[bytes], max_frames: int) -> None:
        super().__init__(Cues(api_key=None, questions=1, pace=1.0, delta_ms=DELTA_MS))
        self.voice = voice
        self.max_frames = max_frames
        self.fingerprints: Fingerprints | None = None
        # Candidate frame index → arrival time (NaN until it arrives).
        self.uplink: dict[int, np.ndarray] = {}
        # Interviewer frame index → the earliest a real-time relay could deliver it.
        self.ideal: dict[int, np.ndarray] = {}

    def sentence_start(self, sentence: int) -> int:
        """Where in the voice sentence number ``sentence`` starts: on a loud frame."""
        voice = self.voice
        start = sentence * SENTENCE_FRAMES % len(voice)
        for offset in range(len(voice)):
            frame = voice[(start + offset) % len(voice)]
            if np.abs(np.frombuffer(frame, dtype="<i2")).max() > LOUD_PEAK:
                return (start + offset) % len(voice)
        return start

    def arrived(self, candidate: int, index: int, at: float) -> None:
        stamps = self.uplink.get(candidate)
        if stamps is None:
            stamps = self.uplink[candidate] = np.full(self.max_frames, math.nan)
        if 0 <= index < self.max_frames and math.isnan(stamps[index]):
            stamps[index] = at

    def scheduled(self, candidate: int, first: int, count: int, at: float) -> None:
        ideal = self.ideal.get(candidate)
        if ideal is None:
            ideal = self.ideal[candidate] = np.full(self.max_frames, math.nan)
        for index in range(first, min(first + count, self.max_frames)):
            earliest = at + (index - first) * FRAME_SEC
            previous = ideal[index - 1] if index else math.nan
            ideal[index] = earliest if math.isnan(previous) else max(earliest, previous + FRAME_SEC)

    async def _handle(self, socket: ServerConnection) -> None:
        connection = Connection(len(self.connections) + 1)
        self.connections.append(connection)
        await BenchSession(self, socket, connection).run()


class BenchSession(FakeSession):
    def __init__(self, host: BenchUpstream, socket: ServerConnection, record: Connection) -> None:
        super().__init__(host, socket, record)
        self._bench = host
        self._bench_socket = socket
        self.candidate = -1

    async def _session_update(self, session: dict[str, Any]) -> None:
        found = ROLE.search(str(session.get("instructions") or ""))
        if found:
            self.candidate = int(found.group(1))
        await super()._session_update(session)

    async def _append(self, audio: object) -> None:
        try:
            pcm = decode_pcm(audio)
        except ValueError as exc:
            self._record.violations.append(str(exc))
            return
        now = time.monotonic()
        self._record.appended_samples += len(pcm) // 2
        host, fingerprints = self._bench, self._bench.fingerprints
        for offset in range(0, len(pcm) - FRAME_BYTES + 1, FRAME_BYTES):
            found = read_mark(pcm, offset)
            if found is not None and found.magic == CANDIDATE_MAGIC:
                host.arrived(found.sender, found.index, now)
            elif fingerprints is not None:
                index = fingerprints.index(pcm[offset : offset + FRAME_BYTES])
                if index is not None:
                    host.arrived(self.candidate, index, now)

    async def _stream(self, response_id: str, item_id: str, text: str, fault: str | None) -> bool:
        host, socket, candidate = self._bench, self._bench_socket, self.candidate
        voice = host.voice
        base = {"response_id": response_id, "item_id": item_id, "output_index": 0}
        audio_type, text_type = (
            self._name("response.output_audio.delta"),
            self._name("response.output_audio_transcript.delta"),
        )
        started, sent, index = time.monotonic(), 0, 0
        spoken = host.sentence_start(0)
        while True:
            if sent == SENTENCE_DELTAS:
                await asyncio.sleep(PAUSE_SEC)
                started, sent = time.monotonic(), 0
                spoken = host.sentence_start(index // SENTENCE_FRAMES)
            frames = [
                mark(voice[(spoken + i) % len(voice)], INTERVIEWER_MAGIC, candidate, index + i)
                for i in range(DELTA_FRAMES)
            ]
            spoken += DELTA_FRAMES
            if sent % TRANSCRIPT_EVERY_DELTAS == 0:
                await self._send({"type": text_type, **base, "content_index": 0, "delta": "words "})
            message = json.dumps(
                {
                    "event_id": host.new_id("event"),
                    "type": audio_type,
                    **base,
                    "content_index": 0,
                    "delta": base64.b64encode(b"".join(frames)).decode("ascii"),
                }
            )
            now = time.monotonic()
            host.scheduled(candidate, index, DELTA_FRAMES, now)
            await socket.send(message)
            index += DELTA_FRAMES
            sent += 1
            due = started + max(0, sent - LEAD_DELTAS) * DELTA_MS / 1000
            await asyncio.sleep(max(0.0, due - time.monotonic()))
