"""Audio at the WebRTC edge: RTP payloads in and out of the 20 ms internal frame.

Inline (`MEDIA_INLINE`, when Opus is negotiated and libopus loads):

    page ──Opus──▶ aiortc receiver ──InlineDecoding.put()──▶ `audio.opus.SpeechDecoder`
         (24 kHz mono, on the event loop) ──▶ 960-byte frames ──▶ LiveSession.receive_audio

    session ──offer()──▶ InterviewerTrack ──recv(): `SpeechEncoder` packet──▶ aiortc
         RTCRtpSender (packs it, no encoding) ──▶ page

Stock (`MEDIA_STOCK`, or any other codec), aiortc's own path:

    page ──▶ aiortc decoder thread ──AudioFrame (48 kHz s16 stereo)──▶ CandidateAudio
         ──▶ 960-byte frames ──▶ LiveSession.receive_audio
    session ──offer()──▶ InterviewerTrack ──recv() AudioFrame──▶ aiortc encoder (executor)

aiortc hands every packet to a decoder thread and every frame to an
executor for encoding; at 50 frames a second each way those thread
hand-offs cost more than the codec itself (a 20 ms Opus frame decodes in
tens of microseconds). The inline path decodes where the packet arrives
and encodes where aiortc asks for the next packet, at the internal rate,
mono (see `audio.opus` for the encoder settings and why they lose nothing
a listener hears). While the interviewer is silent for a while, the
encoder is not even called: the packet it made for silence is sent again.

aiortc's Opus decoder always yields interleaved s16 stereo at 48 kHz; G.711
and G.722 yield mono at their own rates. `CandidateAudio` takes any s16
layout and rate, so a page that negotiates another codec still works.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import logging
import queue
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import av
import numpy as np
from aiortc.codecs import get_decoder
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtp import RtpPacket

from audio.frames import FRAME_SAMPLES, FRAME_SEC, SAMPLE_RATE, SILENCE, split_frames
from audio.opus import OpusError, SpeechDecoder, SpeechEncoder
from audio.resample import Resampler

log = logging.getLogger("zenhire.webrtc")

MEDIA_INLINE = "inline"
MEDIA_STOCK = "stock"
# RTP's Opus clock is 48 kHz whatever the audio's rate (RFC 7587).
RTP_TIME_BASE = fractions.Fraction(1, 48_000)
RTP_TICKS_PER_FRAME = 960
# Silent frames encoded before the encoder's silence packet is reused: the
# encoder's state (and the page decoder's) has settled on silence by then.
SILENCE_SETTLE_FRAMES = 5
# Lost packets rebuilt (FEC for the last, PLC before it); a longer loss records as silence.
MAX_CONCEALED_FRAMES = 5
SEQUENCE_SPACE = 1 << 16
SEQUENCE_HALF = SEQUENCE_SPACE // 2

TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)
# Interviewer frames the session clock has offered but aiortc has not pulled
# yet. The clock and `recv` both run at 50 frames a second, so this holds one
# or two; after an event-loop stall the oldest are dropped (drop-oldest), which
# keeps the candidate's latency bounded at this many frames (200 ms).
OUTGOING_AUDIO_MAX_FRAMES = 10
# If `recv` falls further behind real time than this (aiortc's sender was
# stalled), it restarts its pacing instead of bursting to catch up.
MAX_PACING_LAG_SEC = 0.2
DECODED_FORMATS = ("s16", "s16p")


class InterviewerTrack(MediaStreamTrack):
    """The outgoing audio track: interviewer frames in real time, silence between.

    `offer` never blocks (the session calls it as it plays). `recv` returns
    one 20 ms frame per call with continuous ``pts``, so the RTP timeline
    never jumps: each call owns the next 20 ms slot of the wall clock. An
    offered frame goes out at once, up to one slot early (the session
    already paces its frames, so waiting for the slot would only add up to
    20 ms); with nothing offered by its slot, the call returns silence.
    """

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._queue: deque[bytes] = deque(maxlen=OUTGOING_AUDIO_MAX_FRAMES)
        self._offered = asyncio.Event()
        self._pts = 0
        self._start: float | None = None
        self._encoder: SpeechEncoder | None = None
        self._silent_frames = 0
        self._silence_packet = b""

    def offer(self, frame: bytes) -> None:
        self._queue.append(frame)
        self._offered.set()

    def encode_inline(self, encoder: SpeechEncoder) -> None:
        """From now on return Opus packets made by ``encoder`` (Opus was negotiated)."""
        self._encoder = encoder

    async def recv(self) -> av.AudioFrame | av.Packet[Any]:
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        now = loop.time()
        if self._start is None:
            self._start = now
        else:
            self._pts += FRAME_SAMPLES
            slot = self._start + self._pts / SAMPLE_RATE
            if slot - now < -MAX_PACING_LAG_SEC:
                self._start = now - self._pts / SAMPLE_RATE
            elif not self._queue and slot > now:
                self._offered.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout_at(slot):
                        await self._offered.wait()
            early = slot - FRAME_SEC - loop.time()
            if early > 0:
                await asyncio.sleep(early)
        pcm = self._queue.popleft() if self._queue else SILENCE
        if self._encoder is not None:
            return self._packet(self._encoder, pcm)
        samples = np.frombuffer(pcm, dtype="<i2").reshape(1, FRAME_SAMPLES)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._pts
        frame.time_base = TIME_BASE
        return frame

    def _packet(self, encoder: SpeechEncoder, pcm: bytes) -> av.Packet[Any]:
        if pcm != SILENCE:
            self._silent_frames = 0
            payload = encoder.encode(pcm)
        elif self._silent_frames < SILENCE_SETTLE_FRAMES:
            self._silent_frames += 1
            payload = self._silence_packet = encoder.encode(SILENCE)
        else:
            payload = self._silence_packet
        packet = av.Packet(payload)
        packet.pts = self._pts // FRAME_SAMPLES * RTP_TICKS_PER_FRAME
        packet.time_base = RTP_TIME_BASE
        return packet


class CandidateAudio:
    """Decoded candidate audio → whole 20 ms frames of 24 kHz mono PCM16.

    Channels are averaged; the resampler's bursty output is cut into frames
    and the remainder (under one frame) waits for the next call.
    """

    def __init__(self) -> None:
        self._resampler: Resampler | None = None
        self._tail = b""

    def frames(self, frame: av.AudioFrame) -> list[bytes]:
        """The whole internal frames that ``frame`` completes (often 1, sometimes 0 or 2)."""
        if frame.format.name not in DECODED_FORMATS:
            raise ValueError(f"expected s16 audio from the decoder, got {frame.format.name}")
        resampler = self._resampler
        if resampler is None or resampler.from_rate != frame.sample_rate:
            resampler = self._resampler = Resampler(frame.sample_rate, SAMPLE_RATE)
            self._tail = b""
        channels = len(frame.layout.channels)
        samples = frame.to_ndarray().astype(np.int32)
        if frame.format.is_planar:
            mixed = samples.sum(axis=0) // channels
        else:
            mixed = samples.reshape(-1, channels).sum(axis=1) // channels
        pcm = mixed.astype("<i2").tobytes()
        whole, self._tail = split_frames(self._tail + resampler.process(pcm))
        return whole


class InlineDecoding:
    """Candidate audio decoded where aiortc's receiver hands it over, on the event loop.

    aiortc's ``RTCRtpReceiver`` holds audio packets in a jitter buffer until
    it has four more (60-80 ms), then puts ``(codec, encoded frame)`` items
    on a ``queue.Queue`` that its decoder thread drains. `attach` replaces
    both before the receiver starts: `InOrder` passes each packet on as it
    arrives (dropping late ones), and `put` decodes at once (Opus at 24 kHz
    mono, a lost packet rebuilt from the next one's FEC; any other codec
    through aiortc's decoder and `CandidateAudio`) and hands whole frames to
    ``deliver``. The session's inbox absorbs arrival jitter for the
    recording, so nothing waits for it here. The decoder thread still
    starts, and waits in `get` until the receiver stops, then ends the
    track as aiortc expects. The seams are private attributes of aiortc
    (checked at `attach`; without them nothing changes).
    """

    RECEIVER_QUEUE = "_RTCRtpReceiver__decoder_queue"
    RECEIVER_JITTER = "_RTCRtpReceiver__jitter_buffer"

    def __init__(self, deliver: Callable[[bytes], None]) -> None:
        self._deliver = deliver
        self._opus = SpeechDecoder()
        self._other: Any = None
        self._other_name = ""
        self._reframe = CandidateAudio()
        self._tail = b""
        self._stopped = threading.Event()
        self._last_timestamp: int | None = None
        self.errors = 0
        self.concealed = 0

    def attach(self, receiver: object) -> bool:
        """Take over ``receiver``'s decoding; False when this aiortc has no such seam."""
        if not isinstance(getattr(receiver, self.RECEIVER_QUEUE, None), queue.Queue):
            return False
        if not isinstance(getattr(receiver, self.RECEIVER_JITTER, None), JitterBuffer):
            return False
        setattr(receiver, self.RECEIVER_QUEUE, self)
        setattr(receiver, self.RECEIVER_JITTER, InOrder())
        return True

    # -- the part of queue.Queue that aiortc uses --------------------------------

    def put(self, item: tuple[Any, Any] | None) -> None:
        if item is None:
            self._stopped.set()
            return
        codec, encoded = item
        try:
            if codec.name.lower() == "opus":
                frames = self._decode_opus(encoded)
            else:
                frames = self._decode_other(codec, encoded)
        except (OpusError, av.FFmpegError, ValueError) as exc:
            self.errors += 1
            if self.errors == 1:
                log.warning("candidate audio failed to decode", extra={"error": str(exc)})
            return
        for pcm in frames:
            self._deliver(pcm)

    def get(self) -> None:
        """What the idle decoder thread waits on: None (stop) once the receiver stops."""
        self._stopped.wait()

    def _decode_opus(self, encoded: JitterFrame) -> list[bytes]:
        pcm = b""
        if self._last_timestamp is not None:
            missing = (encoded.timestamp - self._last_timestamp) // RTP_TICKS_PER_FRAME - 1
            if 0 < missing <= MAX_CONCEALED_FRAMES:
                for _ in range(missing - 1):
                    pcm += self._opus.conceal()
                pcm += self._opus.conceal(encoded.data)
                self.concealed += missing
        self._last_timestamp = encoded.timestamp
        frames, self._tail = split_frames(self._tail + pcm + self._opus.decode(encoded.data))
        return frames

    def _decode_other(self, codec: Any, encoded: Any) -> list[bytes]:
        if codec.name != self._other_name:
            self._other, self._other_name = get_decoder(codec), codec.name
        frames: list[bytes] = []
        for decoded in self._other.decode(encoded):
            frames.extend(self._reframe.frames(decoded))
        return frames


class InOrder:
    """aiortc's jitter buffer for audio, without the wait: each packet is a frame,
    passed on at once, unless an earlier-sent packet already was (late or duplicate)."""

    def __init__(self) -> None:
        self._last: int | None = None

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        sequence = packet.sequence_number
        if self._last is not None and (sequence - self._last) % SEQUENCE_SPACE >= SEQUENCE_HALF:
            return False, None
        if sequence == self._last:
            return False, None
        self._last = sequence
        data: bytes = packet._data  # type: ignore[attr-defined]  # set by aiortc's depayloader
        return False, JitterFrame(data, packet.timestamp)
