"""A scripted candidate on the WebRTC transport: a real aiortc peer, paced like a browser.

It verifies its link (as `zenhire.loopback.candidate.Candidate` does), offers its
microphone track and the ``events`` data channel in one non-trickle POST,
pings every second on the channel, and collects the events it receives.
Its microphone plays silence, and its next scripted answer (real speech)
each time the interviewer has spoken and fallen quiet; it counts the
interviewer's audio frames, and those that carry sound.
"""

from __future__ import annotations

import asyncio
import fractions
import json
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import av
import httpx
import numpy as np
from aiortc import RTCConfiguration, RTCDataChannel, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from audio.frames import FRAME_BYTES, FRAME_SAMPLES, SAMPLE_RATE, SILENCE, split_frames
from zenhire.loopback import secrets
from zenhire.loopback.candidate import Candidate
from zenhire.tasks import TaskGroup

OFFER_PATH = "/api/v1/candidate/webrtc/offer"
PING_INTERVAL_SEC = 1.0
# The interviewer counts as done speaking after this long without its audio.
QUIET_AFTER_SPEECH_SEC = 0.6
# A decoded interviewer frame whose peak passes this carries sound (Opus
# leaves digital silence within a few units of zero).
VOICED_PEAK = 500
EVENT_TIMEOUT_SEC = 20.0


class Microphone(MediaStreamTrack):
    """24 kHz mono PCM16 in real time: queued speech, silence otherwise."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._pending: deque[bytes] = deque()
        self._pts = 0
        self._start: float | None = None

    @property
    def speaking(self) -> bool:
        return bool(self._pending)

    def say(self, pcm: bytes) -> None:
        frames, tail = split_frames(pcm)
        self._pending.extend(frames + ([tail + bytes(FRAME_BYTES - len(tail))] if tail else []))

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        now = asyncio.get_running_loop().time()
        if self._start is None:
            self._start = now
        else:
            self._pts += FRAME_SAMPLES
            await asyncio.sleep(max(0.0, self._start + self._pts / SAMPLE_RATE - now))
        pcm = self._pending.popleft() if self._pending else SILENCE
        samples = np.frombuffer(pcm, dtype="<i2").reshape(1, FRAME_SAMPLES)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        return frame


@dataclass
class WebRTCCandidate:
    gateway_url: str
    ticket: str = ""
    session: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    # When the first event of each kind arrived (time.monotonic()).
    first_at: dict[str, float] = field(default_factory=dict)
    frames_received: int = 0
    voiced_frames_received: int = 0
    answers: deque[bytes] = field(default_factory=deque)
    answer_starts: list[float] = field(default_factory=list)
    # Clear to play a peer whose pings stop (a frozen tab, a lost network).
    pinging: bool = True
    pc: RTCPeerConnection | None = None
    channel: RTCDataChannel | None = None
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _gone: asyncio.Event = field(default_factory=asyncio.Event)
    _last_heard: float = 0.0

    async def open(
        self, http: httpx.AsyncClient, token: str, *, consent: bool = True
    ) -> httpx.Response:
        """Verify the link (and consent when the session asks for it)."""
        verified = Candidate(self.gateway_url)
        response = await verified.open(http, token, consent=consent)
        self.ticket = secrets.register(verified.ticket, "ticket")
        self.session = verified.session
        return response

    def kinds(self, kind: str) -> list[dict[str, Any]]:
        return [event for event in self.events if event["type"] == kind]

    async def post_offer(
        self, http: httpx.AsyncClient, sdp: str, *, ticket: str | None = None, **extra: Any
    ) -> httpx.Response:
        body = {"ticket": self.ticket if ticket is None else ticket, "sdp": sdp, "type": "offer"}
        return await http.post(self.gateway_url + OFFER_PATH, json={**body, **extra})

    @asynccontextmanager
    async def connected(self, http: httpx.AsyncClient) -> AsyncIterator[None]:
        """Negotiate a new peer connection and hold it for the block; close it after."""
        pc = self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        microphone = Microphone()
        self._gone = asyncio.Event()
        pc.on("connectionstatechange", self._on_connection_state)
        try:
            channel = self.channel = pc.createDataChannel("events")
            channel.on("message", self._on_message)
            channel.on("close", self._gone.set)
            pc.addTrack(microphone)
            await pc.setLocalDescription(await pc.createOffer())
            response = await self.post_offer(http, pc.localDescription.sdp)
            assert response.status_code == 200, response.text
            await pc.setRemoteDescription(RTCSessionDescription(**response.json()))
            speaker = pc.getTransceivers()[0].receiver.track
            async with TaskGroup() as group:
                tasks = [
                    group.create_task(self._ping(channel)),
                    group.create_task(self._listen(speaker, microphone)),
                ]
                try:
                    yield
                finally:
                    for task in tasks:
                        task.cancel()
        finally:
            microphone.stop()
            await pc.close()

    async def interview(
        self, http: httpx.AsyncClient, answers: list[bytes], *, end_after_sec: float | None = None
    ) -> None:
        """Hold the interview until the gateway ends it (or end it ourselves)."""
        self.answers.extend(answers)
        async with self.connected(http):
            await self.wait_for("live")
            if end_after_sec is not None:
                await asyncio.sleep(end_after_sec)
                self.send({"type": "end"})
            await self.wait_for("ended", timeout_sec=120.0)

    def send(self, message: dict[str, Any]) -> None:
        assert self.channel is not None
        self.channel.send(json.dumps(message))

    async def wait_for(
        self, kind: str, *, count: int = 1, timeout_sec: float = EVENT_TIMEOUT_SEC
    ) -> dict[str, Any]:
        """The ``count``-th event of ``kind``, once it has arrived."""
        async with asyncio.timeout(timeout_sec):
            while len(self.kinds(kind)) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return self.kinds(kind)[count - 1]

    async def wait_disconnected(self, timeout_sec: float = EVENT_TIMEOUT_SEC) -> None:
        """Wait until the gateway has closed this peer connection."""
        async with asyncio.timeout(timeout_sec):
            await self._gone.wait()

    def _on_connection_state(self) -> None:
        if self.pc is None or self.pc.connectionState in ("failed", "closed"):
            self._gone.set()

    def _on_message(self, message: str | bytes) -> None:
        assert isinstance(message, str)
        event = json.loads(message)
        self.events.append(event)
        self.first_at.setdefault(event["type"], time.monotonic())
        self._arrived.set()

    async def _ping(self, channel: RTCDataChannel) -> None:
        while True:
            await asyncio.sleep(PING_INTERVAL_SEC)
            if self.pinging and channel.readyState == "open":
                channel.send(json.dumps({"type": "ping"}))

    async def _listen(self, speaker: MediaStreamTrack, microphone: Microphone) -> None:
        while True:
            try:
                frame = await speaker.recv()
            except MediaStreamError:
                return
            assert isinstance(frame, av.AudioFrame)
            self.frames_received += 1
            now = time.monotonic()
            if int(np.abs(frame.to_ndarray()).max()) > VOICED_PEAK:
                self.voiced_frames_received += 1
                self._last_heard = now
            heard = self._last_heard
            quiet = heard and now - heard > QUIET_AFTER_SPEECH_SEC
            if quiet and self.answers and not microphone.speaking:
                microphone.say(self.answers.popleft())
                self.answer_starts.append(now)
                self._last_heard = 0.0
