"""The shared S2S secret, as both services read it.

``ZENHIRE_S2S_SECRET`` is the current secret; ``ZENHIRE_S2S_PREVIOUS_SECRETS``
(comma-separated) are still accepted while a rotation rolls out
(`zenhire.signing`). A service bound to an address other than loopback
refuses to start with the public development default or a secret shorter
than `MIN_SECRET_BYTES`: anyone who knows it could mint tickets, fetch
recordings or post billing events.
"""

from __future__ import annotations

import ipaddress

from zenhire.environment import Environment, SettingError

DEV_S2S_SECRET = "zenhire-dev-s2s-secret"
MIN_SECRET_BYTES = 32
SECRET_KEY = "ZENHIRE_S2S_SECRET"
PREVIOUS_KEY = "ZENHIRE_S2S_PREVIOUS_SECRETS"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def read_s2s_secrets(env: Environment, host: str) -> tuple[str, ...]:
    """The secrets, current first; raise `SettingError` naming the key of a weak one."""
    current = env.text(SECRET_KEY, DEV_S2S_SECRET)
    previous = tuple(s.strip() for s in (env.optional(PREVIOUS_KEY) or "").split(",") if s.strip())
    if not is_loopback(host):
        if current == DEV_S2S_SECRET:
            raise SettingError(
                f"{SECRET_KEY} is the public development default; set a random secret of "
                f"{MIN_SECRET_BYTES}+ bytes before listening on {host}"
            )
        for key, secret in [(SECRET_KEY, current)] + [(PREVIOUS_KEY, s) for s in previous]:
            if len(secret.encode()) < MIN_SECRET_BYTES:
                raise SettingError(
                    f"{key} must be at least {MIN_SECRET_BYTES} bytes when listening on {host}"
                )
    return (current, *previous)
