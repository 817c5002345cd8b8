"""A candidate connection as a live session sees it, and the close codes it speaks.

Both transports present one `Transport` to the session: the shared
`gateway.transports.channel.CandidateChannel`. The close codes are
WebSocket's (RFC 6455 plus the 4xxx application range); a WebRTC peer has
no close frame, so it tells the page the same thing with an ``error``
event (docs/candidate-protocol.md).
"""

from __future__ import annotations

import enum
from typing import Protocol

from gateway.session.events import CandidateEvent


class CloseCode(enum.IntEnum):
    NORMAL = 1000
    UNSUPPORTED = 1003
    POLICY = 1008
    TOO_BIG = 1009
    INTERNAL = 1011
    TRY_AGAIN_LATER = 1013
    BAD_HELLO = 4400
    TICKET_INVALID = 4401
    FORBIDDEN = 4403
    HELLO_TIMEOUT = 4408
    SESSION_CLOSED = 4409


class Transport(Protocol):
    """One candidate connection, as a session sees it. Offers never block."""

    kind: str

    def offer_audio(self, frame: bytes) -> None: ...

    def offer_event(self, event: CandidateEvent) -> None: ...

    def close(self, code: int, reason: str) -> None: ...
