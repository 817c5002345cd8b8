"""Structured logs: one JSON object per line, ``session_id`` bound once.

`bind_session` sets the session id in a context variable; every task a
session starts inherits it, and `ContextFilter` copies it onto each record.
Callers pass structured fields through ``extra``. Tokens, secrets and audio
never go into a log line: tokens appear only as `token_fingerprint`.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import logging
import sys
from typing import Any

session_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "session_id", default=None
)
FINGERPRINT_CHARS = 12
_STANDARD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def bind_session(session_id: str) -> None:
    session_id_var.set(session_id)


def token_fingerprint(token: str) -> str:
    """A short, irreversible handle for a token, safe to log."""
    return hashlib.sha256(token.encode()).hexdigest()[:FINGERPRINT_CHARS]


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "session_id"):
            record.session_id = session_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRIBUTES and value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger("zenhire")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
