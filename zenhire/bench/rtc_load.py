"""Simulated candidates on WebRTC: pre-encoded Opus out, RTP arrivals in, nothing decoded.

The microphone track returns ready Opus packets (`av.Packet`), which
aiortc's `RTCRtpSender` only packs into RTP; each is time-stamped when the
sender takes it. Incoming RTP never reaches aiortc's decoder: the audio
receiver's packet handler is replaced by one that only time-stamps it.
Interviewer frames are recognised by position: the fake interviewer speaks
in sentences of `SENTENCE_FRAMES` frames with a pause between them longer
than any pause inside one, and a silent Opus packet is a few bytes while
speech takes tens. So the first voiced packet after a long run of silent
ones starts the next sentence, and the k-th packet from there is frame k
of it: valid while nothing is dropped, and a late frame shows as late
because everything after it shifts.
"""

from __future__ import annotations

import asyncio
import fractions
import json
import random
import time
from typing import Any

import av
import httpx
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtp import RtpPacket

from audio.frames import FRAME_SEC
from zenhire.bench.stats import CandidateStamps
from zenhire.bench.upstream import SENTENCE_FRAMES

RTP_SAMPLES_PER_FRAME = 960
RTP_TIME_BASE = fractions.Fraction(1, 48_000)
VOICED_PACKET_BYTES = 40
SILENT_PACKET_BYTES = 24
# Silent packets in a row that make a pause between sentences (the speech has
# no pause longer than `material.MAX_PAUSE_FRAMES` inside a sentence).
SENTENCE_BREAK_PACKETS = 15
PING_INTERVAL_SEC = 1.0
LIVE_TIMEOUT_SEC = 30.0


class PacketMicrophone(MediaStreamTrack):
    """Pre-encoded Opus packets in real time, from a random phase."""

    kind = "audio"

    def __init__(self, packets: list[bytes], stamps: CandidateStamps) -> None:
        super().__init__()
        self._packets = packets
        self._stamps = stamps
        self._index = 0
        self._start: float | None = None

    async def recv(self) -> av.Packet[Any]:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            await asyncio.sleep(random.uniform(0, FRAME_SEC))
            self._start = time.monotonic()
        else:
            due = self._start + self._index * FRAME_SEC
            await asyncio.sleep(max(0.0, due - time.monotonic()))
        index = self._index
        self._index += 1
        packet = av.Packet(self._packets[index % len(self._packets)])
        packet.pts = index * RTP_SAMPLES_PER_FRAME
        packet.time_base = RTP_TIME_BASE
        if index < len(self._stamps.sent):
            self._stamps.sent[index] = time.monotonic()
        return packet


class WebRTCCandidate:
    def __init__(
        self,
        offer_url: str,
        ticket: str | None,
        stamps: CandidateStamps,
        packets: list[bytes],
    ) -> None:
        self.offer_url = offer_url
        self.ticket = ticket
        self.stamps = stamps
        self._packets = packets
        self._live = asyncio.Event()
        self._silent_run = SENTENCE_BREAK_PACKETS
        self._sentence = -1
        self._position = SENTENCE_FRAMES

    async def run(self, http: httpx.AsyncClient, stop: asyncio.Event) -> None:
        """Negotiate, stream until ``stop`` is set, end the interview, close."""
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        microphone = PacketMicrophone(self._packets, self.stamps)
        try:
            channel = pc.createDataChannel("events")
            channel.on("message", self._on_message)
            pc.addTrack(microphone)
            await pc.setLocalDescription(await pc.createOffer())
            body: dict[str, Any] = {"sdp": pc.localDescription.sdp, "type": "offer"}
            if self.ticket is not None:
                body["ticket"] = self.ticket
            else:
                self._live.set()
            response = await http.post(self.offer_url, json=body)
            response.raise_for_status()
            await pc.setRemoteDescription(RTCSessionDescription(**response.json()))
            receiver = pc.getTransceivers()[0].receiver
            # Time-stamp incoming RTP only: it never reaches aiortc's decoder.
            receiver._handle_rtp_packet = self._on_rtp  # type: ignore[method-assign]
            async with asyncio.timeout(LIVE_TIMEOUT_SEC):
                await self._live.wait()
            self.stamps.live_at = time.monotonic()
            while not stop.is_set():
                if channel.readyState == "open":
                    channel.send('{"type": "ping"}')
                try:
                    async with asyncio.timeout(PING_INTERVAL_SEC):
                        await stop.wait()
                except TimeoutError:
                    pass
            if self.ticket is not None and channel.readyState == "open":
                channel.send('{"type": "end"}')
                await asyncio.sleep(0.2)
        finally:
            microphone.stop()
            await pc.close()

    async def wait_live(self) -> None:
        await self._live.wait()

    async def _on_rtp(self, packet: RtpPacket, arrival_time_ms: int) -> None:
        now = time.monotonic()
        stamps = self.stamps
        stamps.arrivals.append(now)
        size = len(packet.payload)
        if size > VOICED_PACKET_BYTES and self._silent_run >= SENTENCE_BREAK_PACKETS:
            self._sentence += 1
            self._position = 0
        self._silent_run = self._silent_run + 1 if size <= SILENT_PACKET_BYTES else 0
        if self._position < SENTENCE_FRAMES:
            index = self._sentence * SENTENCE_FRAMES + self._position
            if index < len(stamps.heard):
                stamps.heard[index] = now
            self._position += 1

    def _on_message(self, message: str | bytes) -> None:
        if not isinstance(message, str):
            return
        kind = json.loads(message).get("type")
        if kind == "live":
            self._live.set()
