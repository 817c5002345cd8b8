"""Short-lived candidate tickets.

After a token is verified the page holds a ticket instead: an HMAC-signed,
expiring claim on one session. The raw token is never sent again, and a
ticket is useless for any other session or after it expires.
Format: ``base64url(json claims) "." base64url(hmac-sha256)``, signed with
the current ticket key and accepted with any key still held (a secret
rotation does not log candidates out).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from gateway.errors import TicketError

MAX_TICKET_CHARS = 512
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class Ticket:
    session_id: str
    expires_at: float


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TicketBook:
    def __init__(
        self, keys: tuple[bytes, ...], ttl_sec: int, clock: Callable[[], float] = time.time
    ) -> None:
        if not keys:
            raise ValueError("a ticket book needs a key")
        self._keys = keys
        self._ttl_sec = ttl_sec
        self._clock = clock

    def issue(self, session_id: str) -> str:
        claims = {"sid": session_id, "exp": int(self._clock()) + self._ttl_sec}
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        return f"{payload}.{self._sign(self._keys[0], payload)}"

    def check(self, ticket: object) -> Ticket:
        """The ticket's claims; raise `TicketError` unless it is ours and fresh."""
        if not isinstance(ticket, str) or not ticket or len(ticket) > MAX_TICKET_CHARS:
            raise TicketError("missing or malformed ticket")
        payload, _, signature = ticket.partition(".")
        presented = signature.encode()
        if not any(
            hmac.compare_digest(self._sign(k, payload).encode(), presented) for k in self._keys
        ):
            raise TicketError("ticket signature mismatch")
        try:
            claims = json.loads(_unb64(payload))
            session_id, expires_at = claims["sid"], claims["exp"]
        except (ValueError, KeyError, TypeError) as exc:
            raise TicketError("malformed ticket") from exc
        # Even a ticket we signed is read strictly: an id by its pattern, a whole expiry.
        if not (isinstance(session_id, str) and SESSION_ID.fullmatch(session_id)):
            raise TicketError("malformed ticket")
        if type(expires_at) is not int:
            raise TicketError("malformed ticket")
        if expires_at < self._clock():
            raise TicketError("ticket expired")
        return Ticket(session_id, expires_at)

    @staticmethod
    def _sign(key: bytes, payload: str) -> str:
        return _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())
