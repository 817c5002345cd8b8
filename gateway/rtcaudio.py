"""Audio at the WebRTC edge: aiortc frames in and out of the 20 ms internal frame.

    page ──Opus──▶ aiortc decoder ──AudioFrame (48 kHz s16 stereo)──▶ CandidateAudio
         ──▶ 960-byte frames (24 kHz mono PCM16) ──▶ LiveSession.receive_audio

    session clock ──offer()──▶ InterviewerTrack ──recv() (24 kHz mono s16)──▶ aiortc
         Opus encoder (resamples to 48 kHz stereo itself) ──▶ page

aiortc's Opus decoder always yields interleaved s16 stereo at 48 kHz; G.711
and G.722 yield mono at their own rates. `CandidateAudio` takes any s16
layout and rate, so a page that negotiates another codec still works.
"""

from __future__ import annotations

import asyncio
import fractions
from collections import deque

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from audio.frames import FRAME_SAMPLES, SAMPLE_RATE, SILENCE, split_frames
from audio.resample import Resampler

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

    `offer` never blocks (the session clock calls it every tick). `recv`
    returns one 20 ms frame per call, paced to the wall clock, with
    continuous ``pts`` so the RTP timeline never jumps.
    """

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._queue: deque[bytes] = deque(maxlen=OUTGOING_AUDIO_MAX_FRAMES)
        self._pts = 0
        self._start: float | None = None

    def offer(self, frame: bytes) -> None:
        self._queue.append(frame)

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        now = asyncio.get_running_loop().time()
        if self._start is None:
            self._start = now
        else:
            self._pts += FRAME_SAMPLES
            delay = self._start + self._pts / SAMPLE_RATE - now
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -MAX_PACING_LAG_SEC:
                self._start = now - self._pts / SAMPLE_RATE
        pcm = self._queue.popleft() if self._queue else SILENCE
        samples = np.frombuffer(pcm, dtype="<i2").reshape(1, FRAME_SAMPLES)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._pts
        frame.time_base = TIME_BASE
        return frame


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
