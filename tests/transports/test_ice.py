"""TURN REST credentials as coturn's ``use-auth-secret`` computes them.

The reference value is coturn's own algorithm written out independently
(``base64(HMAC-SHA1(static-auth-secret, "<expiry>:<id>"))``, as in the
draft-uberti-behave-turn-rest examples); `tests/e2e/test_turn.py` has a real
coturn accept and refuse them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from gateway.settings import IceServer, TurnSettings
from gateway.transports.ice import IceServers, turn_credential

NOW = 1_800_000_000.0
STUN = IceServer(("stun:stun.example.net:3478",))


def _coturn_password(secret: bytes, username: bytes) -> bytes:
    return base64.b64encode(hmac.new(secret, username, hashlib.sha1).digest())


def test_the_credential_is_base64_of_hmac_sha1_of_the_username() -> None:
    assert (
        turn_credential("north", "1800003600:ses_1")
        == _coturn_password(b"north", b"1800003600:ses_1").decode()
    )


def test_minted_credentials_expire_after_the_ttl_and_name_their_holder() -> None:
    turn = TurnSettings(("turn:127.0.0.1:3478",), "north", ttl_sec=900)
    servers = IceServers((STUN,), turn, clock=lambda: NOW).for_holder("ses_1")
    assert servers[0] == STUN
    minted = servers[1]
    assert minted.urls == turn.urls
    assert minted.username == f"{int(NOW) + 900}:ses_1"
    assert minted.credential == turn_credential("north", minted.username)


def test_a_holder_cannot_move_the_expiry() -> None:
    """coturn reads the expiry up to the first separator: a holder's own ':' is replaced."""
    turn = TurnSettings(("turn:127.0.0.1:3478",), "north", ttl_sec=900)
    minted = IceServers((), turn, clock=lambda: NOW).for_holder("9999999999:x")[0]
    assert minted.username == f"{int(NOW) + 900}:9999999999-x"


def test_without_turn_only_the_static_servers_are_given() -> None:
    assert IceServers((STUN,), None).for_holder("ses_1") == (STUN,)


def test_the_credential_never_shows_in_repr() -> None:
    turn = TurnSettings(("turn:127.0.0.1:3478",), "north", ttl_sec=900)
    minted = IceServers((), turn).for_holder("ses_1")[0]
    assert minted.credential is not None and minted.credential not in repr(minted)
