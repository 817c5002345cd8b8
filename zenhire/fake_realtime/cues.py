"""How the fake behaves, and the faults it stages on cue."""

from __future__ import annotations

from dataclasses import dataclass, field

# A faulty response: "drop" aborts the connection and "error" sends a
# server_error, both after FAULT_AFTER_DELTAS audio deltas; "rate_limit"
# fails the response before any audio; "silent" never answers.
FAULTS = ("drop", "error", "rate_limit", "silent")
FAULT_AFTER_DELTAS = 2


@dataclass(frozen=True)
class Cues:
    """How the fake behaves. ``faults`` maps a response number (1-based, counted
    over all connections) to one of `FAULTS`; ``refuse_first`` refuses that many
    handshakes, ``refuse_from`` every handshake from that attempt number on."""

    api_key: str | None = None
    questions: int = 2
    pace: float = 2.0
    delta_ms: int = 100
    words_per_minute: int = 210
    vad_threshold: float = 300.0
    vad_start_ms: int = 60
    vad_silence_ms: int = 500
    max_session_sec: float = 3600.0
    refuse_first: int = 0
    refuse_from: int | None = None
    faults: dict[int, str] = field(default_factory=dict)
    beta_names: bool = False
    record_audio: bool = False
