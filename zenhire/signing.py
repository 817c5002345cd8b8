"""HMAC-SHA256 signatures of server-to-server (S2S) requests.

Both directions of the S2S contract (docs/s2s.md) sign
``"{timestamp}.{METHOD}.{path}.{raw body}"`` with the shared secret and send
``X-ZH-Timestamp`` (unix seconds) and ``X-ZH-Signature: v1=<hex>``. The
signed path carries the query string when the request has one (`signed_path`),
so the bounds of a recording clip are signed too. A receiver
rejects a missing or wrong signature (constant-time compare) and a timestamp
more than ``MAX_SKEW_SEC`` away from its own clock.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass

TIMESTAMP_HEADER = "X-ZH-Timestamp"
SIGNATURE_HEADER = "X-ZH-Signature"
SIGNATURE_VERSION = "v1"
MAX_SKEW_SEC = 300


def signed_path(path: str, query: str) -> str:
    """The request target a signature covers: the path, then ``?query`` if any."""
    return f"{path}?{query}" if query else path


class SignatureError(Exception):
    """A request's S2S signature is missing, malformed, stale or wrong."""


@dataclass(frozen=True)
class Signer:
    """Signs and verifies S2S requests with one shared secret."""

    secret: bytes

    def signature(self, timestamp: int, method: str, path: str, body: bytes) -> str:
        message = b".".join([str(timestamp).encode(), method.upper().encode(), path.encode(), body])
        digest = hmac.new(self.secret, message, hashlib.sha256).hexdigest()
        return f"{SIGNATURE_VERSION}={digest}"

    def headers(
        self, method: str, path: str, body: bytes, *, now: float | None = None
    ) -> dict[str, str]:
        """The two headers that sign a request to ``path`` with ``body``."""
        timestamp = int(time.time() if now is None else now)
        return {
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: self.signature(timestamp, method, path, body),
        }

    def verify(
        self,
        headers: Mapping[str, str],
        method: str,
        path: str,
        body: bytes,
        *,
        now: float | None = None,
    ) -> None:
        """Raise `SignatureError` unless ``headers`` sign this request."""
        raw_timestamp = headers.get(TIMESTAMP_HEADER) or headers.get(TIMESTAMP_HEADER.lower())
        presented = headers.get(SIGNATURE_HEADER) or headers.get(SIGNATURE_HEADER.lower())
        if not raw_timestamp or not presented:
            raise SignatureError("missing signature headers")
        try:
            timestamp = int(raw_timestamp)
        except ValueError:
            raise SignatureError("malformed timestamp") from None
        clock = time.time() if now is None else now
        if abs(clock - timestamp) > MAX_SKEW_SEC:
            raise SignatureError("timestamp outside the allowed skew")
        expected = self.signature(timestamp, method, path, body)
        if not hmac.compare_digest(expected.encode(), presented.encode()):
            raise SignatureError("signature mismatch")
