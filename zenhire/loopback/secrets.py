"""Every secret and token the loopback harness hands out, so tests can prove that
no log line shows one (tests/reliability.py watches every record).

Only values long enough to be unmistakable are kept; a match names the kind
of secret, never the value.
"""

from __future__ import annotations

MIN_CHARS = 12
_known: dict[str, str] = {}


def register(value: str, kind: str) -> str:
    """Remember ``value`` (an API key, a link token, a ticket, …); return it."""
    if len(value) >= MIN_CHARS:
        _known[value] = kind
    return value


def found_in(text: str) -> str | None:
    """The kind of the first registered secret that ``text`` shows, if any."""
    for value, kind in _known.items():
        if value in text:
            return kind
    return None
