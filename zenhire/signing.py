"""HMAC-SHA256 signatures of server-to-server (S2S) requests (docs/s2s.md).

Version 2. Each direction has its own key, derived from the shared
``ZENHIRE_S2S_SECRET`` (`derive`), so a key that leaks from one purpose
signs nothing else. A request carries three headers::

    X-ZH-Timestamp: 1767225600             unix seconds, digits only
    X-ZH-Nonce:     <22+ url-safe chars>   fresh per request
    X-ZH-Signature: v2 kid=<8 hex> sig=<64 hex>

and the signature is HMAC-SHA256 of the lines (``\\n``-joined, none of them
can hold a newline)::

    zh-s2s-v2
    <direction>
    <timestamp>
    <nonce>
    <METHOD>
    <path with query, as sent>
    <hex SHA-256 of the raw body>

A receiver rejects a missing or malformed header, a key id it does not
hold, a wrong signature (constant-time compare), a timestamp more than
`MAX_SKEW_SEC` away, and a nonce it has seen within the skew window
(`NonceCache`): a signed request cannot be replayed. Rotation: a signer
signs with its first secret and verifies with any of them, so a new secret
is rolled out by adding it second everywhere, then first, then removing
the old one.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

TIMESTAMP_HEADER = "X-ZH-Timestamp"
NONCE_HEADER = "X-ZH-Nonce"
SIGNATURE_HEADER = "X-ZH-Signature"
SIGNATURE_VERSION = "v2"
MAX_SKEW_SEC = 300
NONCE_BYTES = 16
KEY_ID_CHARS = 8
# Nonces remembered at most; a receiver past this many requests per skew
# window forgets the oldest first (they are then refused as stale soon after).
NONCE_CACHE_MAX = 200_000
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_NONCE = re.compile(r"[A-Za-z0-9_-]{22,64}")
_SIGNATURE = re.compile(
    rf"{SIGNATURE_VERSION} kid=(?P<kid>[0-9a-f]{{{KEY_ID_CHARS}}}) sig=(?P<sig>[0-9a-f]{{64}})"
)
_TARGET = re.compile(r"/[\x21-\x7e]*")


class SignatureError(Exception):
    """A request's S2S signature is missing, malformed, stale, replayed or wrong."""


class Direction(enum.Enum):
    """Who signs: each direction has a key of its own."""

    TO_CONTROL_PLANE = "gateway-to-control-plane"
    TO_GATEWAY = "control-plane-to-gateway"
    BETWEEN_REPLICAS = "gateway-to-gateway"  # a join forwarded to the interview's owner


def derive(secret: bytes, purpose: str) -> bytes:
    """The key for ``purpose``, derived from the shared secret."""
    return hmac.new(secret, b"zenhire-key-v2/" + purpose.encode(), hashlib.sha256).digest()


def key_id(key: bytes) -> str:
    """A short public name of a key (a hash prefix), so a receiver knows which to use."""
    return hashlib.sha256(b"zenhire-kid/" + key).hexdigest()[:KEY_ID_CHARS]


class NonceCache:
    """Nonces seen within the skew window, bounded; `claim` refuses a second use."""

    def __init__(self, max_entries: int = NONCE_CACHE_MAX) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._max = max_entries

    def __len__(self) -> int:
        return len(self._seen)

    def claim(self, nonce: str, now: float) -> None:
        while self._seen:
            oldest, at = next(iter(self._seen.items()))
            if at >= now - 2 * MAX_SKEW_SEC and len(self._seen) < self._max:
                break
            del self._seen[oldest]
        if nonce in self._seen:
            raise SignatureError("replayed request")
        self._seen[nonce] = now


@dataclass(frozen=True)
class Signer:
    """Signs one direction's requests with its current key; verifies with any it holds."""

    direction: Direction
    keys: tuple[bytes, ...] = field(repr=False)

    @classmethod
    def of(cls, secrets_: Sequence[str], direction: Direction) -> Signer:
        """The signer of ``direction`` from the shared secrets, current first."""
        if not secrets_:
            raise ValueError("at least one S2S secret is needed")
        return cls(direction, tuple(derive(s.encode(), direction.value) for s in secrets_))

    def signature(
        self, key: bytes, timestamp: str, nonce: str, method: str, target: str, body: bytes
    ) -> str:
        lines = [
            f"zh-s2s-{SIGNATURE_VERSION}",
            self.direction.value,
            timestamp,
            nonce,
            method.upper(),
            target,
            hashlib.sha256(body).hexdigest(),
        ]
        return hmac.new(key, "\n".join(lines).encode(), hashlib.sha256).hexdigest()

    def headers(
        self, method: str, target: str, body: bytes, *, now: float | None = None
    ) -> dict[str, str]:
        """The headers that sign a request to ``target`` (path and query) with ``body``."""
        if not _TARGET.fullmatch(target):
            raise ValueError("the request target must be a path (and query) of printable ASCII")
        timestamp = str(int(time.time() if now is None else now))
        nonce = secrets.token_urlsafe(NONCE_BYTES)
        key = self.keys[0]
        digest = self.signature(key, timestamp, nonce, method, target, body)
        return {
            TIMESTAMP_HEADER: timestamp,
            NONCE_HEADER: nonce,
            SIGNATURE_HEADER: f"{SIGNATURE_VERSION} kid={key_id(key)} sig={digest}",
        }

    def verify(
        self,
        headers: Mapping[str, str],
        method: str,
        target: str,
        body: bytes,
        *,
        nonces: NonceCache | None = None,
        now: float | None = None,
    ) -> None:
        """Raise `SignatureError` unless ``headers`` sign this request, fresh and first."""
        clock = time.time() if now is None else now
        presented = check_headers(headers, now=clock)
        key = next((k for k in self.keys if key_id(k) == presented.kid), None)
        if key is None:
            raise SignatureError("unknown key id")
        expected = self.signature(key, presented.timestamp, presented.nonce, method, target, body)
        if not hmac.compare_digest(expected, presented.sig):
            raise SignatureError("signature mismatch")
        if nonces is not None:
            nonces.claim(presented.nonce, clock)


@dataclass(frozen=True)
class Presented:
    """The signature headers of a request, well-formed and fresh (not yet checked)."""

    timestamp: str
    nonce: str
    kid: str
    sig: str = field(repr=False)


def check_headers(headers: Mapping[str, str], *, now: float | None = None) -> Presented:
    """The request's signature headers; raise `SignatureError` for a missing, malformed
    or stale one. Needs no body and no key, so a receiver can refuse before reading."""
    timestamp = _header(headers, TIMESTAMP_HEADER)
    nonce = _header(headers, NONCE_HEADER)
    presented = _SIGNATURE.fullmatch(_header(headers, SIGNATURE_HEADER))
    if not _TIMESTAMP.fullmatch(timestamp):
        raise SignatureError("malformed timestamp")
    if not _NONCE.fullmatch(nonce):
        raise SignatureError("malformed nonce")
    if presented is None:
        raise SignatureError("malformed signature")
    clock = time.time() if now is None else now
    if abs(clock - int(timestamp)) > MAX_SKEW_SEC:
        raise SignatureError("timestamp outside the allowed skew")
    return Presented(timestamp, nonce, presented["kid"], presented["sig"])


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name) or headers.get(name.lower())
    if not value:
        raise SignatureError(f"missing {name}")
    return value


def target_of(raw_path: bytes, query_string: bytes) -> str:
    """The request target a receiver verifies: the path as sent, and its query if any."""
    target = raw_path.decode("latin-1")
    return f"{target}?{query_string.decode('latin-1')}" if query_string else target


def signed_path(path: str, query: str) -> str:
    """A request target from its parts: the path, then ``?query`` if any."""
    return f"{path}?{query}" if query else path
