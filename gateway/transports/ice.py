"""The ICE servers of both ends of a WebRTC connection, with TURN credentials minted per use.

`IceServers` holds the static list (``ZENHIRE_ICE_SERVERS``) and, when a
TURN server is configured (``ZENHIRE_TURN_URLS``/``_SECRET``), mints it
time-limited credentials in the TURN REST API scheme that coturn checks
with ``use-auth-secret``/``static-auth-secret``:

    username   = "<expiry, unix seconds>:<holder>"
    credential = base64(HMAC-SHA1(secret, username))

The TURN server recomputes the credential from the shared secret, so
nothing is stored or sent between the two. It refuses a username whose
expiry has passed when an allocation is made; an allocation made in time
keeps refreshing past it, so an interview never loses its relay midway.

The page gets its credentials with its ticket (``POST
/api/v1/candidate/session``) and the gateway's own aiortc peer mints its
own for each offer, so that a relay works whichever side sits behind the
restrictive network.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable

from gateway.settings import IceServer, TurnSettings

# The TURN REST API's separator between the expiry and the holder (coturn's
# ``rest-api-separator`` default): a holder must not contain it.
SEPARATOR = ":"


def turn_credential(secret: str, username: str) -> str:
    """The password a TURN server with ``static-auth-secret=secret`` expects for ``username``."""
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class IceServers:
    def __init__(
        self,
        static: tuple[IceServer, ...],
        turn: TurnSettings | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._static = static
        self._turn = turn
        self._clock = clock

    def for_holder(self, holder: str) -> tuple[IceServer, ...]:
        """The servers for one ``RTCPeerConnection``: the static ones, then TURN credentials
        for ``holder`` (a session id or a replica id: TURN logs name it) valid for the TTL."""
        if self._turn is None:
            return self._static
        expiry = int(self._clock()) + self._turn.ttl_sec
        username = f"{expiry}{SEPARATOR}{holder.replace(SEPARATOR, '-')}"
        minted = IceServer(self._turn.urls, username, turn_credential(self._turn.secret, username))
        return (*self._static, minted)
