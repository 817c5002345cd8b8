"""Where a webhook may point: an http(s) URL on a public address.

A URL whose host is, or resolves to, a loopback, private, link-local,
multicast, reserved or unspecified address is refused, unless private
destinations are allowed (``ZENHIRE_WEBHOOKS_ALLOW_PRIVATE=1``, which
``zenhire dev`` sets). The check runs when a webhook is registered and again
before every attempt, since a name can be re-pointed after registration.
When private destinations are allowed, registration checks only the URL's
syntax and does no DNS lookup.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from controlplane.errors import DestinationRefused

SCHEMES = ("http", "https")
RESOLVE_TIMEOUT_SEC = 5.0


def parse(url: str) -> tuple[str, int]:
    """The host and port of a well-formed webhook URL; raise `DestinationRefused`."""
    if any(char.isspace() or ord(char) < 0x20 for char in url):
        raise DestinationRefused("The URL must not contain whitespace or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise DestinationRefused(f"The URL is malformed: {exc}.") from exc
    if parts.scheme not in SCHEMES:
        raise DestinationRefused("The URL must start with http:// or https://.")
    if not parts.hostname:
        raise DestinationRefused("The URL must name a host.")
    if parts.username is not None or parts.password is not None:
        raise DestinationRefused("The URL must not carry credentials.")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def check(url: str, *, allow_private: bool, resolve: bool) -> None:
    """Raise `DestinationRefused` unless ``url`` may receive webhooks.

    With ``resolve`` the host name is looked up and every address it has must be
    public; literal addresses are checked without a lookup.
    """
    host, port = parse(url)
    literal = _address(host)
    if literal is not None:
        addresses = [literal]
    elif allow_private or not resolve:
        return
    else:
        addresses = await _resolve(host, port)
    if allow_private:
        return
    for address in addresses:
        if not _public(address):
            raise DestinationRefused(
                "The URL resolves to a loopback or private address, which is not allowed."
            )


async def _resolve(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_SEC):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError, UnicodeError) as exc:
        raise DestinationRefused(f"The URL's host {host!r} does not resolve.") from exc
    found = [_address(str(info[4][0])) for info in infos]
    return [address for address in found if address is not None]


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast
