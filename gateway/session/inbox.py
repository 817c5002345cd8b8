"""Candidate frames between their arrival and the recording's tick.

The interviewer hears each frame the moment it arrives (the session
forwards it on arrival); this inbox only feeds the recording, one frame per
20 ms tick. Arrival and tick are two clocks: a frame that comes a little
after its tick makes that tick record silence, and from then on every
frame waits one tick longer. Left alone, each such hiccup would add 20 ms
to the candidate channel for the rest of the interview. So the inbox keeps
its backlog short: while frames have been waiting beyond `SLACK_FRAMES` for
`CATCH_UP_TICKS` ticks in a row, it drops the quietest waiting frame (a
20 ms cut in a pause, where nobody hears it), and it never holds more than
`MAX_FRAMES` (past that, the oldest goes: a burst after a network stall).
"""

from __future__ import annotations

from collections import deque

import numpy as np

from audio.frames import to_samples

MAX_FRAMES = 10
SLACK_FRAMES = 1
CATCH_UP_TICKS = 50


class CandidateInbox:
    def __init__(self) -> None:
        self._frames: deque[tuple[bytes, float]] = deque(maxlen=MAX_FRAMES)
        self._backlogged_ticks = 0
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._frames)

    def push(self, pcm: bytes, arrived: float) -> int:
        """Queue a frame (``arrived``: monotonic seconds); return how many wait before it."""
        if len(self._frames) == MAX_FRAMES:
            self.dropped += 1
        self._frames.append((pcm, arrived))
        return len(self._frames) - 1

    def take(self) -> tuple[bytes, float] | None:
        """The frame for this tick (and its arrival time), or None: the tick records silence."""
        frames = self._frames
        if not frames:
            self._backlogged_ticks = 0
            return None
        taken = frames.popleft()
        if len(frames) > SLACK_FRAMES:
            self._backlogged_ticks += 1
            if self._backlogged_ticks >= CATCH_UP_TICKS:
                self._drop_quietest()
                self._backlogged_ticks = 0
        else:
            self._backlogged_ticks = 0
        return taken

    def _drop_quietest(self) -> None:
        energies = [float(np.abs(to_samples(pcm)).mean()) for pcm, _ in self._frames]
        del self._frames[int(np.argmin(energies))]
        self.dropped += 1
