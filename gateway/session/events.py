"""Events the gateway sends to the candidate's page.

They travel as JSON text on the WebSocket transport (or on the WebRTC data
channel ``events``) and share one shape: ``{"type": <name>, ...fields}``.
"""

from __future__ import annotations

import enum
import json
from dataclasses import asdict, dataclass
from typing import Literal

Speaker = Literal["interviewer", "candidate"]


class TalkState(enum.StrEnum):
    LISTENING = "listening"
    THINKING = "thinking"
    SPEAKING = "speaking"


@dataclass(frozen=True)
class Caption:
    speaker: Speaker
    text: str
    final: bool
    turn_id: str
    type: Literal["caption"] = "caption"


@dataclass(frozen=True)
class State:
    state: TalkState
    type: Literal["state"] = "state"


@dataclass(frozen=True)
class Timer:
    elapsed_sec: int
    remaining_sec: int
    type: Literal["timer"] = "timer"


@dataclass(frozen=True)
class Waiting:
    position: int
    retry_after_sec: int
    type: Literal["waiting"] = "waiting"


@dataclass(frozen=True)
class Live:
    """The live interview has started (or resumed) for this connection."""

    resumed: bool
    elapsed_sec: int
    remaining_sec: int
    type: Literal["live"] = "live"


@dataclass(frozen=True)
class HistoryCaption:
    speaker: Speaker
    text: str
    turn_id: str


@dataclass(frozen=True)
class History:
    """The final captions of the interview so far, oldest first (after a reload or a
    reconnect); ``truncated`` when older ones were left out to bound the event."""

    captions: tuple[HistoryCaption, ...]
    truncated: bool
    type: Literal["history"] = "history"


@dataclass(frozen=True)
class Ended:
    """The interview is over. With ``rating_window_sec`` > 0 the connection stays open
    that long for the candidate's rating (``{"type": "rating", ...}``)."""

    reason: str
    rating_window_sec: int = 0
    type: Literal["ended"] = "ended"


@dataclass(frozen=True)
class Rated:
    """The candidate's rating (or its skip) was recorded; the connection closes."""

    type: Literal["rated"] = "rated"


@dataclass(frozen=True)
class Error:
    code: str
    message: str
    type: Literal["error"] = "error"


@dataclass(frozen=True)
class Reconnect:
    """Reconnect now, without backoff: this replica is handing the interview on.

    ``reason`` is ``GATEWAY_DRAINING`` (a deploy) or ``SESSION_MOVED`` (another
    replica holds the interview now); the page reconnects with the same ticket.
    """

    reason: str
    type: Literal["reconnect"] = "reconnect"


CandidateEvent = (
    Caption | State | Timer | Waiting | Live | History | Ended | Rated | Error | Reconnect
)


def encode(event: CandidateEvent) -> str:
    """The event as the JSON text frame the page receives."""
    return json.dumps(asdict(event), separators=(",", ":"))
