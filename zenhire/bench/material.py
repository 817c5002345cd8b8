"""What the simulated people say: real speech from eSpeak NG, as frames and Opus packets.

The candidate's microphone is a long stretch of varied speech, cut into
20 ms frames; over WebRTC it is pre-encoded once into Opus packets
(`SpeechEncoder`, as a browser would send them), so that the load
generator only packs and sends. The interviewer's voice (`interviewer`) is
another stretch, streamed by the fake upstream.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from audio.frames import FRAME_BYTES, SAMPLE_RATE, split_frames
from audio.opus import SpeechDecoder, SpeechEncoder
from gateway.interviewer.local.voice import Voice

CANDIDATE_LINES = (
    "I have spent six years building payment systems in Python and Go.",
    "Last year I led the migration of our ledger to a new database without downtime.",
    "When an incident starts, I first make sure customers are safe, then I look for the cause.",
    "In code review I look for clear names, small functions and tests that explain intent.",
    "The hardest decision I made was to stop a project that had lost its reason to exist.",
    "I keep learning by reading source code, and by teaching what I learned to my team.",
)
INTERVIEWER_LINES = (
    "Thank you for joining. Let us talk about your experience with distributed systems.",
    "Could you walk me through a production incident that taught you something important?",
    "How do you decide when a piece of software is ready to ship to customers?",
    "Tell me about a time you disagreed with a colleague, and how it was resolved.",
)
WORDS_PER_MINUTE = 175
# Leading silence louder than this (peak) counts as the start of speech.
VOICED_PEAK = 200
# Pauses inside the interviewer's speech are cut to this, so that a longer
# silence in what the candidate receives can only be a pause between sentences.
MAX_PAUSE_FRAMES = 10


async def speech(lines: tuple[str, ...], seconds: float) -> bytes:
    """``lines`` spoken in turn, looped to ``seconds``, starting on a voiced frame."""
    voice = Voice("en-us", WORDS_PER_MINUTE)
    chunks: list[bytes] = []
    for line in lines:
        chunks.extend([chunk async for chunk in voice.stream(line)])
    spoken = b"".join(chunks)
    samples = np.frombuffer(spoken, dtype="<i2")
    voiced = np.flatnonzero(np.abs(samples) > VOICED_PEAK)
    start = int(voiced[0]) if len(voiced) else 0
    once = spoken[start * 2 :]
    wanted = int(seconds * SAMPLE_RATE) * 2
    looped = once * (wanted // len(once) + 1)
    return looped[: wanted - wanted % FRAME_BYTES]


def without_long_pauses(frames: list[bytes]) -> list[bytes]:
    """``frames`` with every run of quiet frames cut to `MAX_PAUSE_FRAMES`."""
    kept: list[bytes] = []
    quiet = 0
    for frame in frames:
        quiet = quiet + 1 if np.abs(np.frombuffer(frame, dtype="<i2")).max() <= VOICED_PEAK else 0
        if quiet <= MAX_PAUSE_FRAMES:
            kept.append(frame)
    return kept


@dataclass(frozen=True)
class Microphone:
    """The candidate's side of the run: frames, and the same frames as Opus packets."""

    frames: list[bytes]
    packets: list[bytes]

    @classmethod
    def of(cls, pcm: bytes) -> Microphone:
        frames, _ = split_frames(pcm)
        encoder = SpeechEncoder()
        return cls(frames, [encoder.encode(frame) for frame in frames])


def decoded_inline(packets: list[bytes]) -> list[bytes]:
    """The frames the gateway's inline decoder makes of ``packets`` (for fingerprints)."""
    decoder = SpeechDecoder()
    return [decoder.decode(packet) for packet in packets]
