"""The gateway's barge-in over the realtime upstream: candidate frames → VAD → the rule → playback.

The upstream's own interruption is off (``interrupt_response``), so this is
the only thing that stops the interviewer. `tap` passes every candidate
frame on to the `Uplink` unchanged and, on the way, while interviewer audio
plays (or is paused), judges it with a voice-activity detector and the
shared `BargeInRule`:

- `Pause` pauses the playback in the same frame, without awaiting anything,
  so the interviewer stops within the rule's ``interruption_speech_ms`` of
  the candidate's first voiced frame;
- `Resume` (a backchannel, a cough) plays the rest as if nothing happened;
- `Interrupt` cuts the paused item for good and queues the `Cut` for the
  relay, which records it and tells the upstream (``response.cancel`` and
  ``conversation.item.truncate`` at what was heard).

Frames are judged only while the interviewer is audible or paused, so an
interview costs no VAD time while the candidate talks alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from audio.vad import VadResult, VoiceActivityDetector
from gateway.interviewer import CandidateFrame, Conversation
from gateway.interviewer.bargein import BargeInRule, BargeInSettings, Interrupt, Pause, Resume
from gateway.interviewer.realtime.playback import Playback, SpokenItem

log = logging.getLogger("zenhire.interviewer.realtime")

# Cuts waiting for the relay (one per interruption; there is no relay while
# reconnecting). Past it the oldest is dropped: its items are recorded by then
# or belong to a session that is gone.
MAX_PENDING_CUTS = 8


class Detector(Protocol):
    """Voice activity on one stream's 20 ms frames (`audio.vad`, `audio.silero`)."""

    def process(self, pcm: bytes, room: bool = True) -> VadResult:
        """Judge a frame; ``room``: the candidate is not talking (the room's sound)."""
        ...


@dataclass(frozen=True)
class Cut:
    """An interruption from ``onset_ms`` that stopped ``items`` (``heard_ms`` set)."""

    onset_ms: int
    at_ms: int
    items: list[SpokenItem]


class Interruptions:
    def __init__(
        self,
        conversation: Conversation,
        playback: Playback,
        settings: BargeInSettings,
        vad: Detector | None = None,
    ) -> None:
        self._conversation = conversation
        self._playback = playback
        self._rule = BargeInRule(settings)
        self._vad = vad or VoiceActivityDetector()
        self._cuts: deque[Cut] = deque(maxlen=MAX_PENDING_CUTS)
        self._cut_ready = asyncio.Event()
        self.pauses = 0
        self.resumes = 0

    async def tap(self, frames: AsyncIterator[CandidateFrame]) -> AsyncIterator[CandidateFrame]:
        """``frames``, unchanged, each heard on its way."""
        async for frame in frames:
            self.hear(frame)
            yield frame

    def hear(self, frame: CandidateFrame) -> None:
        """Judge one candidate frame and act on the verdict at once (see the module docstring)."""
        conversation, rule = self._conversation, self._rule
        if not rule.settings.enabled:
            return
        playing = self._playback.speaking
        if not (playing or rule.paused):
            rule.step(frame.t_ms, False, False, 0)
            return
        # While a pause for a barge-in holds, the candidate is talking: not the room.
        voiced = self._vad.process(frame.pcm, room=not rule.paused).is_speech
        match rule.step(frame.t_ms, voiced, playing, conversation.played_ms()):
            case Pause(onset_ms=onset):
                self.pauses += 1
                self._playback.pause()
                log.debug("interviewer paused", extra={"onset_ms": onset, "t_ms": frame.t_ms})
            case Resume():
                self.resumes += 1
                self._playback.resume()
                log.debug("interviewer resumed after a backchannel", extra={"t_ms": frame.t_ms})
            case Interrupt(onset_ms=onset):
                items = self._playback.cut()
                self._cuts.append(Cut(onset, frame.t_ms, items))
                self._cut_ready.set()
                log.info(
                    "candidate interrupted the interviewer",
                    extra={"onset_ms": onset, "t_ms": frame.t_ms},
                )

    async def next_cut(self) -> Cut:
        """The oldest interruption the relay has not handled yet."""
        while not self._cuts:
            self._cut_ready.clear()
            await self._cut_ready.wait()
        return self._cuts.popleft()
