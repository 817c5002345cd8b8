"""The two bearer secrets the control plane mints: API keys and candidate tokens.

Both are random URL-safe strings returned exactly once; the database keeps
only their SHA-256 hex digest, and lookups go through that digest.
"""

from __future__ import annotations

import hashlib
import secrets

API_KEY_PREFIX = "zh_api_"
SECRET_BYTES = 32


def new_api_key() -> str:
    """``zh_api_<random urlsafe>``, shown to the integrator once."""
    return API_KEY_PREFIX + secrets.token_urlsafe(SECRET_BYTES)


def new_candidate_token() -> str:
    """The per-candidate token that travels in the link's ``#t=`` fragment."""
    return secrets.token_urlsafe(SECRET_BYTES)


def digest(secret: str) -> str:
    """The SHA-256 hex digest under which a secret is stored and looked up."""
    return hashlib.sha256(secret.encode()).hexdigest()
