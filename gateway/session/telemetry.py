"""What a live session tells operators about itself, as it happens.

`SessionTelemetry` is the session's current condition, read by the operator
console: the session fills the talk state and audio levels; a transport
that knows its link (WebRTC) fills ``packet_loss_pct`` and ``jitter_ms``.
Fields nobody fills stay ``None`` and show as "—".

`SessionMeter` is where a session's countable facts go (the Prometheus
metrics implement it); `NullMeter` discards them. `Finished` is the record
of one ended session kept for the console's "recent" list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass
class SessionTelemetry:
    """Mutable on purpose: written on the session's clock, read by the console."""

    state: str | None = None  # listening | thinking | speaking, as last sent to the page
    input_level: float | None = None  # candidate audio, 0..1 meter value
    output_level: float | None = None  # interviewer audio, 0..1 meter value
    packet_loss_pct: float | None = None
    jitter_ms: float | None = None


@dataclass(frozen=True)
class Finished:
    session_id: str
    client_id: str
    role_name: str
    status: str
    code: str | None
    message: str
    ended_at: str
    duration_sec: float
    replica_id: str = ""


class SessionMeter(Protocol):
    def started(self, client_id: str, transport: str) -> None: ...

    def finished(self, session_id: str, client_id: str, status: str, code: str | None) -> None: ...

    def relayed(self, latency_sec: float) -> None:
        """A candidate frame reached the session clock ``latency_sec`` after it arrived."""
        ...

    def recorded(self, nbytes: int) -> None:
        """``nbytes`` more of recording audio were written."""
        ...


class NullMeter:
    def started(self, client_id: str, transport: str) -> None:
        pass

    def finished(self, session_id: str, client_id: str, status: str, code: str | None) -> None:
        pass

    def relayed(self, latency_sec: float) -> None:
        pass

    def recorded(self, nbytes: int) -> None:
        pass
