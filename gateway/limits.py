"""Caps on what clients may start, per address and for the whole replica.

    Rate         verify attempts: a token bucket per address, one for the replica
    Occupancy    things held open: WebSockets, WebRTC peers still connecting
    Limits       the three this gateway keeps, built from `gateway.settings.EdgeSettings`
    client_address(scope)   whom a cap counts against

A refusal is `Limited`, with the seconds after which trying again can
succeed (the ``Retry-After`` of a ``429``). Limits are per replica: a load
balancer spreads an address over replicas, which only makes each cap looser.

Memory stays bounded whatever addresses arrive. `Rate` keeps at most
`MAX_TRACKED_ADDRESSES` buckets and forgets the least recently seen first
(a forgotten address starts with a full bucket, while the replica's own
bucket still holds), and drops a bucket that has refilled. `Occupancy` keeps
an entry only for an address that holds something, so never more entries
than its replica-wide cap.

The address is the connection's peer as the ASGI server reports it; uvicorn
replaces it with the ``X-Forwarded-For`` client only for a connection from
a proxy in ``ZENHIRE_FORWARDED_ALLOW_IPS`` (`zenhire.cli`). IPv6 clients
are counted by their /64: one host is routinely handed a whole /64, so
counting single addresses would let it rotate through them.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from starlette.responses import JSONResponse
from starlette.types import Scope

from gateway.http import error_response
from gateway.settings import EdgeSettings

MAX_TRACKED_ADDRESSES = 10_000
IPV6_PREFIX = 64
UNKNOWN_ADDRESS = "unknown"
# What a refused connection is told to wait: held connections free up at human pace.
HOLD_RETRY_AFTER_SEC = 5
VERIFY_WINDOW_SEC = 60.0
RATE_LIMITED = ("RATE_LIMITED", "Too many attempts; please wait a moment and try again.")
CONNECTION_LIMIT = (
    "CONNECTION_LIMIT",
    "Too many connections from your network; retrying shortly.",
)


class Limited(Exception):
    """A cap is reached; try again after ``retry_after_sec`` (a whole number, at least 1).

    ``code`` and ``message`` are what the candidate is told (the ``error`` of a
    refused WebSocket, the envelope of a ``429``).
    """

    def __init__(self, code: str, message: str, retry_after_sec: float) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after_sec = max(1, math.ceil(retry_after_sec))

    def response(self) -> JSONResponse:
        """``429`` in the envelope, with ``Retry-After``."""
        refusal = error_response(
            429, self.code, self.message, {"retry_after_sec": self.retry_after_sec}
        )
        refusal.headers["Retry-After"] = str(self.retry_after_sec)
        return refusal


def client_address(scope: Scope) -> str:
    """Whom a cap counts against: the client's IPv4 address, or its IPv6 /64."""
    client = scope.get("client")
    if not client:
        return UNKNOWN_ADDRESS
    host = str(client[0])
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host  # a unix socket's peer, or a test client's name
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, IPV6_PREFIX), strict=False))
    return str(address)


class _Bucket:
    """``burst`` tokens, refilled at ``rate`` per second."""

    __slots__ = ("stamp", "tokens")

    def __init__(self, burst: float, now: float) -> None:
        self.tokens = burst
        self.stamp = now

    def refill(self, rate: float, burst: float, now: float) -> None:
        self.tokens = min(burst, self.tokens + (now - self.stamp) * rate)
        self.stamp = now

    def wait_sec(self, rate: float) -> float:
        """How long until one token is there."""
        return (1 - self.tokens) / rate


class Rate:
    """At most ``per_address`` attempts per ``window_sec`` from one address (all at once,
    if they like), and ``total_per_sec`` from everyone (bursts of twice that)."""

    def __init__(
        self,
        refusal: tuple[str, str],
        per_address: int,
        window_sec: float,
        total_per_sec: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_addresses: int = MAX_TRACKED_ADDRESSES,
    ) -> None:
        self.refusal = refusal
        self._burst = float(per_address)
        self._rate = per_address / window_sec
        self._total_burst = 2.0 * total_per_sec
        self._total_rate = total_per_sec
        self._clock = clock
        self._max = max_addresses
        self._total = _Bucket(self._total_burst, clock())
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        """Addresses tracked now."""
        return len(self._buckets)

    def spend(self, address: str) -> None:
        """Count one attempt from ``address``; raise `Limited` (nothing counted) past a cap."""
        now = self._clock()
        bucket = self._buckets.pop(address, None) or _Bucket(self._burst, now)
        bucket.refill(self._rate, self._burst, now)
        self._total.refill(self._total_rate, self._total_burst, now)
        try:
            if bucket.tokens < 1:
                raise Limited(*self.refusal, bucket.wait_sec(self._rate))
            if self._total.tokens < 1:
                raise Limited(*self.refusal, self._total.wait_sec(self._total_rate))
            bucket.tokens -= 1
            self._total.tokens -= 1
        finally:
            self._keep(address, bucket)

    def _keep(self, address: str, bucket: _Bucket) -> None:
        self._buckets[address] = bucket  # now the most recently seen
        while len(self._buckets) > self._max:
            self._buckets.popitem(last=False)
        oldest = next(iter(self._buckets))
        # One refilled bucket a call is forgotten: it says nothing a new one would not.
        first = self._buckets[oldest]
        first.refill(self._rate, self._burst, self._clock())
        if first.tokens >= self._burst and oldest != address:
            del self._buckets[oldest]


@dataclass
class Hold:
    """One thing held open; `release` (idempotent) gives it back."""

    occupancy: Occupancy
    address: str
    released: bool = False

    def release(self) -> None:
        if not self.released:
            self.released = True
            self.occupancy._give_back(self.address)


class Occupancy:
    """At most ``per_address`` held at once by one address, ``total`` by everyone."""

    def __init__(self, refusal: tuple[str, str], per_address: int, total: int) -> None:
        self.refusal = refusal
        self.per_address = per_address
        self.total = total
        self._held: Counter[str] = Counter()
        self._count = 0

    def __len__(self) -> int:
        """Things held now."""
        return self._count

    @property
    def addresses(self) -> int:
        """Addresses holding something now."""
        return len(self._held)

    def hold(self, address: str) -> Hold:
        """Hold one more for ``address``; raise `Limited` past either cap."""
        # (A Counter's lookup of a missing key stores nothing.)
        if self._count >= self.total or self._held[address] >= self.per_address:
            raise Limited(*self.refusal, HOLD_RETRY_AFTER_SEC)
        self._held[address] += 1
        self._count += 1
        return Hold(self, address)

    def _give_back(self, address: str) -> None:
        self._count -= 1
        self._held[address] -= 1
        if self._held[address] <= 0:
            del self._held[address]


@dataclass(frozen=True)
class Limits:
    """The caps of one gateway process (its `Services` hold them)."""

    verify: Rate
    websockets: Occupancy
    pending_peers: Occupancy

    @classmethod
    def of(cls, edge: EdgeSettings) -> Limits:
        return cls(
            verify=Rate(
                RATE_LIMITED,
                edge.verify_per_address_per_min,
                VERIFY_WINDOW_SEC,
                edge.verify_per_sec,
            ),
            websockets=Occupancy(
                CONNECTION_LIMIT, edge.websockets_per_address, edge.websockets_max
            ),
            pending_peers=Occupancy(
                CONNECTION_LIMIT, edge.pending_peers_per_address, edge.pending_peers_max
            ),
        )
