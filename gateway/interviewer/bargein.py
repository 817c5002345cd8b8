"""When candidate speech over the interviewer is an interruption: one rule for every interviewer.

`BargeInRule` sees each 20 ms candidate frame's voice-activity verdict, whether
interviewer audio is playing and how much of the playing item was heard, and
answers with at most one verdict per frame:

    LISTENING ──sustained speech over the interviewer, past the echo warm-up──▶ PAUSED
        Pause(onset_ms): stop the interviewer's audio now, keep the rest
    PAUSED ──voiced speech reaches backchannel_max_ms──▶ LISTENING
        Interrupt(onset_ms): a real interruption; the item stays cut
    PAUSED ──the burst ends (burst_gap_ms without speech) before that──▶ LISTENING
        Resume(): a backchannel ("mm-hm", "okay", "right") or a cough; play on

**Sustained** means the burst has lasted ``interruption_speech_ms`` since its
first voiced frame (its onset) and at least `SUSTAINED_SPEECH_SHARE` of its
frames were voiced: words have gaps, a click or a knock is one loud frame and
then nothing. The interviewer therefore stops within ``interruption_speech_ms``
(plus a frame) of the onset, long before anyone can tell a backchannel from a
sentence; the **short-speech rule** then tells them apart by the voiced
duration of the burst, which only a real interruption reaches.

Candidate speech in the first ``echo_warmup_ms`` of an item cannot pause it:
what the microphone picks up of the item's own onset is not the candidate.

Pure: no audio, no clock, no I/O; times are frame times on the recording's
timeline, so the same frames always give the same verdicts.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from audio.frames import FRAME_MS

# Speech over the interviewer is sustained when at least this share of its
# frames since the onset were voiced.
SUSTAINED_SPEECH_SHARE = 0.6


@dataclass(frozen=True)
class BargeInSettings:
    """Tuning of `BargeInRule`; milliseconds of frame time (see the module docstring).

    ``enabled`` off: candidate speech never stops the interviewer (and is not judged).
    """

    enabled: bool = True
    interruption_speech_ms: int = 140
    backchannel_max_ms: int = 1000
    burst_gap_ms: int = 240
    echo_warmup_ms: int = 300

    def __post_init__(self) -> None:
        for name in ("interruption_speech_ms", "backchannel_max_ms", "burst_gap_ms"):
            if getattr(self, name) < FRAME_MS:
                raise ValueError(f"{name} must be at least {FRAME_MS} ms")
        if self.echo_warmup_ms < 0:
            raise ValueError("echo_warmup_ms must not be negative")
        if self.backchannel_max_ms < self.interruption_speech_ms:
            raise ValueError("backchannel_max_ms must not be below interruption_speech_ms")


@dataclass(frozen=True)
class Pause:
    """Sustained speech over the interviewer from ``onset_ms``: stop its audio, keep the rest."""

    onset_ms: int


@dataclass(frozen=True)
class Resume:
    """The burst was a backchannel: play the rest of the paused audio."""


@dataclass(frozen=True)
class Interrupt:
    """The burst from ``onset_ms`` is a real interruption: the paused item stays cut."""

    onset_ms: int


Verdict = Pause | Resume | Interrupt


class Floor(enum.Enum):
    LISTENING = "listening"
    PAUSED = "paused"


class BargeInRule:
    """One candidate stream's barge-in decisions (see the module docstring)."""

    def __init__(self, settings: BargeInSettings | None = None) -> None:
        self.settings = settings or BargeInSettings()
        self.floor = Floor.LISTENING
        self._onset_ms: int | None = None  # first voiced frame of the open burst
        self._last_voiced_ms = 0
        self._voiced_frames = 0

    @property
    def paused(self) -> bool:
        return self.floor is Floor.PAUSED

    def step(self, t_ms: int, voiced: bool, playing: bool, played_ms: int) -> Verdict | None:
        """Advance by the frame at ``t_ms``; ``played_ms``: what was heard of the playing item."""
        if self.floor is Floor.PAUSED:
            return self._paused(t_ms, voiced)
        eligible = playing and played_ms >= self.settings.echo_warmup_ms
        if not eligible:
            self._forget()
            return None
        if voiced:
            if self._onset_ms is None:
                self._onset_ms, self._voiced_frames = t_ms, 0
            self._voiced_frames += 1
            self._last_voiced_ms = t_ms
        elif self._onset_ms is not None and self._gap(t_ms):
            self._forget()
        onset = self._onset_ms
        if onset is None:
            return None
        span_frames = (t_ms - onset) // FRAME_MS + 1
        if span_frames * FRAME_MS < self.settings.interruption_speech_ms:
            return None
        if self._voiced_frames < span_frames * SUSTAINED_SPEECH_SHARE:
            return None
        self.floor = Floor.PAUSED
        return Pause(onset)

    def _paused(self, t_ms: int, voiced: bool) -> Verdict | None:
        assert self._onset_ms is not None
        onset = self._onset_ms
        if voiced:
            self._voiced_frames += 1
            self._last_voiced_ms = t_ms
            if self._voiced_frames * FRAME_MS >= self.settings.backchannel_max_ms:
                self.floor = Floor.LISTENING
                self._forget()
                return Interrupt(onset)
            return None
        if not self._gap(t_ms):
            return None
        self.floor = Floor.LISTENING
        self._forget()
        return Resume()

    def _gap(self, t_ms: int) -> bool:
        """The open burst has been quiet for ``burst_gap_ms`` by the frame at ``t_ms``."""
        return t_ms - self._last_voiced_ms >= self.settings.burst_gap_ms

    def _forget(self) -> None:
        self._onset_ms = None
        self._voiced_frames = 0
