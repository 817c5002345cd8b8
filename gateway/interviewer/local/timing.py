"""Where the time between a candidate's last word and the interviewer's reply goes.

One `ReplyTiming` follows a finished candidate turn from the frame loop to
the first audio of the reply: the `Listener` notes when the first quiet
frame after the last speech was handled and how the end was decided (and,
with the end-of-turn model, when it was asked and when it answered), the
`Interview` when the recognizer's final text came in and when the reply was
chosen, the `Speaker` when its synthesis started (or that it was prepared
ahead) and when its first audio was queued for playout. Once the reply was
said and the text is in (in either order, `finish`), the whole is logged as
one ``reply timing`` line, durations in ms from the silence onset.

Times are ``time.monotonic()`` seconds: the system's monotonic clock, the
same in every process of the machine, so a benchmark can put its own
candidate's clock beside them. Frame times cannot be used for this: under
load the frame loop handles frames later than they arrive.
"""

from __future__ import annotations

import enum
import logging
import time
from dataclasses import dataclass

log = logging.getLogger("zenhire.interviewer")

MS_PER_SEC = 1000


class EndedBy(enum.Enum):
    """What ended a candidate turn."""

    MODEL = "model"  # the end-of-turn model's verdict (and the words did not object)
    WORDS = "words"  # a request for time in the recognizer's words
    SILENCE = "silence"  # the silence timer (no model, or the model's patience ran out)
    LIMIT = "limit"  # the answer ran past its limit and ended at a breath


@dataclass
class ReplyTiming:
    """One turn's way to its reply (``time.monotonic()`` seconds; None: not reached)."""

    turn_id: str
    ended_by: EndedBy = EndedBy.SILENCE
    silence_onset: float | None = None  # the first frame after the last speech frame
    judge_asked: float | None = None
    judge_answered: float | None = None
    decided: float | None = None  # the frame loop ended the turn
    transcribed: float | None = None  # the recognizer's final text is in
    reply_chosen: float | None = None
    synthesis_started: float | None = None
    prepared: bool = False  # the reply's first sentence was synthesized ahead
    first_audio: float | None = None  # the reply's first audio queued for playout
    judge_asks: int = 0  # questions to the end-of-turn model about the last pause
    probability: float | None = None  # its last verdict
    # What the words said at the end (`gateway.interviewer.local.cues`); None: not in yet.
    cue: str | None = "none"
    words_lag_ms: int | None = None  # how far behind the recognizer was at that moment
    said: bool = False
    logged: bool = False

    def finish(self, *, said: bool = False, transcribed: bool = False) -> None:
        """Note that the reply was said or the text is in; log once both are."""
        if transcribed:
            self.transcribed = now()
        self.said = self.said or said
        if self.said and self.transcribed is not None and not self.logged:
            self.logged = True
            self.log()

    def log(self) -> None:
        """Write the timing as one ``reply timing`` line (no words, no audio: the
        cue is the words' meaning for turn-taking, one of three values)."""
        origin = self.silence_onset
        if origin is None:
            return
        log.info(
            "reply timing",
            extra={
                "turn_id": self.turn_id,
                "ended_by": self.ended_by.value,
                "prepared": self.prepared,
                "judge_asks": self.judge_asks,
                "probability": self.probability,
                "cue": self.cue,
                "words_lag_ms": self.words_lag_ms,
                "silence_onset_mono": round(origin, 4),
                **{
                    f"{name}_ms": _ms(getattr(self, name), origin)
                    for name in STAGES
                    if getattr(self, name) is not None
                },
            },
        )


# The stages after the silence onset, in the order they happen.
STAGES = (
    "judge_asked",
    "judge_answered",
    "decided",
    "transcribed",
    "reply_chosen",
    "synthesis_started",
    "first_audio",
)


def now() -> float:
    return time.monotonic()


def _ms(at: float, origin: float) -> float:
    return round((at - origin) * MS_PER_SEC, 1)
