"""Settings of the realtime interviewer, one immutable value per gateway.

`gateway.settings` reads them from ``ZENHIRE_REALTIME_*`` and ``OPENAI_API_KEY``
at start-up. The key is kept out of ``repr`` so that no log line or
traceback that prints the settings can carry it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from gateway.interviewer.bargein import BargeInSettings
from gateway.interviewer.realtime.protocol import EAGERNESS, NOISE_REDUCTIONS, TURN_DETECTIONS
from zenhire.backoff import Backoff

OPENAI_REALTIME_URL = "wss://api.openai.com/v1/realtime"
DEFAULT_MODEL = "gpt-realtime"
DEFAULT_VOICE = "marin"
DEFAULT_TRANSCRIPTION_MODEL = "gpt-4o-mini-transcribe"
# OpenAI closes a realtime session after 60 minutes; hand over 5 minutes before.
DEFAULT_HANDOVER_SEC = 3300.0
# What the interview continues on once the upstream is gone for good.
FALLBACKS = ("local", "none")


@dataclass(frozen=True)
class RealtimeSettings:
    """How the gateway reaches and uses a Realtime-protocol upstream.

    - ``handover_sec``: age of an upstream session after which the next
      quiet moment moves the interview to a fresh one.
    - ``reconnect_*``: one outage is retried at most ``reconnect_attempts``
      times and for at most ``reconnect_max_sec``, with jittered exponential
      delays between ``reconnect_base_delay_sec`` and ``reconnect_max_delay_sec``.
    - ``silence_timeout_sec``: an upstream that owes a response and sends
      nothing for this long is treated as failed.
    - ``turn_detection`` / ``eagerness``: how the upstream decides that the
      candidate's turn is over; semantic VAD with low eagerness waits through
      the pauses of someone thinking aloud.
    - ``noise_reduction``: the upstream's input filter, ``near_field``
      (headset), ``far_field`` (laptop or room microphone) or ``off``.
    - ``barge_in``: when candidate speech over the interviewer stops it; the
      gateway decides, not the upstream (`gateway.interviewer.bargein`).
    - ``fallback``: ``local`` continues an interview whose upstream is gone
      for good on the embedded interviewer; ``none`` ends it ``failed``.
    """

    api_key: str = field(repr=False)
    url: str = OPENAI_REALTIME_URL
    model: str = DEFAULT_MODEL
    voice: str = DEFAULT_VOICE
    transcription_model: str = DEFAULT_TRANSCRIPTION_MODEL
    handover_sec: float = DEFAULT_HANDOVER_SEC
    connect_timeout_sec: float = 10.0
    reconnect_attempts: int = 5
    reconnect_max_sec: float = 30.0
    reconnect_base_delay_sec: float = 0.5
    reconnect_max_delay_sec: float = 5.0
    silence_timeout_sec: float = 15.0
    turn_detection: str = "semantic_vad"
    eagerness: str = "low"
    noise_reduction: str = "far_field"
    barge_in: BargeInSettings = field(default_factory=BargeInSettings)
    fallback: str = "local"

    def __post_init__(self) -> None:
        if not self.api_key:
            raise ValueError("the API key must not be empty")
        if urlsplit(self.url).scheme not in ("ws", "wss"):
            raise ValueError(f"the realtime URL must be ws:// or wss://, got {self.url!r}")
        if self.reconnect_attempts < 1:
            raise ValueError("reconnect_attempts must be at least 1")
        choices = {
            "turn_detection": TURN_DETECTIONS,
            "eagerness": EAGERNESS,
            "noise_reduction": NOISE_REDUCTIONS,
            "fallback": FALLBACKS,
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}")

    @property
    def reconnect(self) -> Backoff:
        """How one outage is retried."""
        return Backoff(
            self.reconnect_attempts,
            self.reconnect_max_sec,
            self.reconnect_base_delay_sec,
            self.reconnect_max_delay_sec,
        )

    @property
    def endpoint_label(self) -> str:
        """Scheme, host and path of the URL: what logs may show of it."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.hostname}{parts.path}"
