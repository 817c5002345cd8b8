"""HTTP ``Range`` headers for one artifact: a single byte range, parsed strictly.

`parse` reads the header before the artifact's size is known and raises
`BadRange` for anything but one ``bytes=`` range (a malformed header,
several ranges, another unit, an overlong header): the answer is ``400``.
`ByteRange.bounds` places a parsed range on an artifact of ``size`` bytes
and raises `Unsatisfiable` when it lies past the end: the answer is ``416``.

Numbers are never converted whole: a position of more than `MAX_DIGITS`
digits is larger than any artifact, so it counts as "past the end" without
``int()`` ever seeing thousands of digits (which it refuses).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A browser's seek is ``bytes=123456-``; nothing legitimate comes near this.
MAX_HEADER_CHARS = 200
# 10**18 bytes is an exabyte: past any recording, and well inside an int64.
MAX_DIGITS = 18
BEYOND = 10**MAX_DIGITS
_SPEC = re.compile(r"(?i:bytes)=([0-9]*)-([0-9]*)")


class BadRange(ValueError):
    """The header is not one ``bytes=`` range; the message says why."""

    code = "BAD_RANGE"


class Unsatisfiable(ValueError):
    """The range lies outside the artifact."""


@dataclass(frozen=True)
class ByteRange:
    """``bytes=first-last`` (``last`` None: to the end), or ``bytes=-suffix``."""

    first: int | None
    last: int | None
    suffix: int | None = None

    def bounds(self, size: int) -> tuple[int, int]:
        """The inclusive ``(start, end)`` this range selects of ``size`` bytes."""
        if self.suffix is not None:
            if self.suffix == 0 or size == 0:
                raise Unsatisfiable("an empty suffix range")
            return max(0, size - self.suffix), size - 1
        assert self.first is not None
        if self.first >= size:
            raise Unsatisfiable("the range starts past the end")
        end = size - 1 if self.last is None else min(self.last, size - 1)
        return self.first, end


def parse(header: str) -> ByteRange:
    """The single byte range ``header`` asks for; raise `BadRange` otherwise."""
    if len(header) > MAX_HEADER_CHARS:
        raise BadRange(f"The Range header is longer than {MAX_HEADER_CHARS} characters.")
    match = _SPEC.fullmatch(header.strip())
    if match is None:
        if "," in header:
            raise BadRange("Only one byte range per request is served.")
        raise BadRange('The Range header must be "bytes=first-last", "bytes=first-" or "bytes=-n".')
    first, last = (_digits(group) for group in match.groups())
    if not first and not last:
        raise BadRange("A byte range needs a first position or a suffix length.")
    if not first:
        return ByteRange(None, None, suffix=_position(last))
    if last and (len(last), last) < (len(first), first):
        raise BadRange("A byte range must not end before it starts.")
    return ByteRange(_position(first), _position(last) if last else None)


def _digits(group: str) -> str:
    """``group`` without leading zeros ("0" for zero), "" when absent."""
    return (group.lstrip("0") or "0") if group else ""


def _position(digits: str) -> int:
    """A byte position; anything longer than `MAX_DIGITS` is `BEYOND` every artifact."""
    return BEYOND if len(digits) > MAX_DIGITS else int(digits)
