"""Answer clips: the clip query of the recording, and each answer's ``audio_path``.

``GET /sessions/{id}/recording?from_ms=&to_ms=&channels=`` streams one stretch
of the recording as a WAV of its own (the gateway cuts it; see
docs/s2s.md §3). `clip_query` validates those parameters (``400
VALIDATION_ERROR`` for a value that is not a whole number of milliseconds
up to `MAX_MS`, an unknown ``channels``, or ``to_ms`` before ``from_ms``) and
gives the query the control plane signs and forwards. Bounds past the end
of the recording are the gateway's to clip.

`with_audio_paths` adds ``audio_path`` to each entry of a transcript
document's ``responses[]`` that has whole-millisecond ``start_ms`` ≤
``end_ms``: the integrator-API path of that answer's clip, so no storage URL
is ever handed out. Any other document passes through unchanged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from controlplane.errors import ValidationFailed

CLIP_PARAMETERS = ("from_ms", "to_ms", "channels")
CHANNELS = ("both", "candidate")
MAX_MS = 999_999_999  # nine digits, about 11.5 days: what the gateway accepts
MILLISECONDS = re.compile(r"\d{1,9}")


def clip_query(query: Mapping[str, str]) -> str:
    """The validated clip parameters of ``query`` as a query string ("" for none)."""
    values: dict[str, str | int] = {}
    for name in ("from_ms", "to_ms"):
        raw = query.get(name)
        if raw is None:
            continue
        if not MILLISECONDS.fullmatch(raw):
            _refuse(name, f"{name} must be a whole number of milliseconds from 0 to {MAX_MS}.")
        values[name] = int(raw)
    if "channels" in query:
        if query["channels"] not in CHANNELS:
            _refuse("channels", "channels must be one of " + ", ".join(CHANNELS) + ".")
        values["channels"] = query["channels"]
    from_ms, to_ms = values.get("from_ms", 0), values.get("to_ms")
    if to_ms is not None and int(to_ms) < int(from_ms):
        _refuse("to_ms", "to_ms must not come before from_ms.")
    return urlencode(values)


def _refuse(field: str, message: str) -> None:
    raise ValidationFailed(message, {"errors": [{"field": field, "message": message}]})


def with_audio_paths(document: bytes, recording_path: str) -> bytes:
    """``document`` with ``audio_path`` on each answer it times (see the module docstring)."""
    try:
        parsed = json.loads(document)
    except (ValueError, RecursionError):
        return document
    responses = parsed.get("responses") if isinstance(parsed, dict) else None
    if not isinstance(responses, list):
        return document
    for entry in responses:
        span = _span(entry)
        if span is not None:
            entry["audio_path"] = f"{recording_path}?{urlencode(span)}"
    return json.dumps(parsed, ensure_ascii=False).encode()


def _span(entry: Any) -> dict[str, int] | None:
    if not isinstance(entry, dict):
        return None
    start, end = entry.get("start_ms"), entry.get("end_ms")
    for value in (start, end):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_MS:
            return None
    assert isinstance(start, int) and isinstance(end, int)
    return {"from_ms": start, "to_ms": end} if start <= end else None
