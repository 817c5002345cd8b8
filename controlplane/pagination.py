"""Cursor pagination of integrator lists: ``?limit=&cursor=`` → ``{data, next_cursor}``.

A cursor is opaque to the integrator: the base64url of a small JSON value
naming the list it belongs to and the sort key of the last item of the page
it ends. It is only a position, never a permission (every query is also
filtered by the caller's client), so it need not be signed; a cursor that does
not decode, or belongs to another list, is ``400 VALIDATION_ERROR``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence

from starlette.datastructures import QueryParams

from controlplane.errors import ValidationFailed

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_CURSOR_CHARS = 512


def limit_of(query: QueryParams) -> int:
    """``?limit=``, 1 to `MAX_LIMIT`, default `DEFAULT_LIMIT`."""
    raw = query.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise _invalid("limit", f"limit must be an integer from 1 to {MAX_LIMIT}.")
    return int(raw)


def encode_cursor(kind: str, key: Sequence[str | int]) -> str:
    text = json.dumps([kind, *key], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(query: QueryParams, kind: str, shape: tuple[type, ...]) -> list[str | int] | None:
    """The sort key in ``?cursor=``, whose items have the types of ``shape``."""
    raw = query.get("cursor")
    if raw is None or raw == "":
        return None
    try:
        if len(raw) > MAX_CURSOR_CHARS:
            raise ValueError("too long")
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        value = json.loads(text)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise _invalid("cursor", "cursor is not a cursor this API returned.") from exc
    if (
        not isinstance(value, list)
        or len(value) != len(shape) + 1
        or value[0] != kind
        or not all(type(item) is want for item, want in zip(value[1:], shape, strict=True))
    ):
        raise _invalid("cursor", "cursor is not a cursor this API returned for this list.")
    key: list[str | int] = value[1:]
    return key


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, {"errors": [{"field": field, "message": message}]})
