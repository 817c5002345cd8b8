"""Who may use the operator console and API: holders of an operator key.

Keys come from ``ZENHIRE_OPERATOR_KEYS`` (``name:secret`` pairs, the name is
the operator's identity in the audit log) and/or ``ZENHIRE_OPERATOR_KEY``
(identity ``operator``). Requests carry ``Authorization: Bearer <secret>``.
Without any key configured the console and its API do not exist (404).
Secrets are compared in constant time against every configured key, and
only the identity is ever logged. A candidate ticket is not an operator key
and never opens anything here.
"""

from __future__ import annotations

import hmac

BEARER = "bearer "
MAX_AUTHORIZATION_CHARS = 512


class OperatorKeys:
    def __init__(self, keys: tuple[tuple[str, str], ...]) -> None:
        self._keys = [(name, secret.encode()) for name, secret in keys]

    @property
    def enabled(self) -> bool:
        return bool(self._keys)

    def identify(self, authorization: str | None) -> str | None:
        """The identity whose key is in this ``Authorization`` header, or None."""
        if not authorization or len(authorization) > MAX_AUTHORIZATION_CHARS:
            return None
        if authorization[: len(BEARER)].lower() != BEARER:
            return None
        offered = authorization[len(BEARER) :].strip().encode()
        found = None
        for name, secret in self._keys:
            # No early exit: the time taken does not tell which key matched.
            if hmac.compare_digest(offered, secret) and found is None:
                found = name
        return found
