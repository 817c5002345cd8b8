"""Wall-clock time as both services write it: UTC, ISO 8601, milliseconds, ``Z``."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def format_timestamp(moment: datetime) -> str:
    """``2026-05-29T10:00:00.000Z`` for an aware datetime (converted to UTC)."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_timestamp(text: str) -> datetime:
    """The aware datetime of a timestamp written by `format_timestamp`."""
    return datetime.fromisoformat(text)


def iso(epoch_sec: float) -> str:
    """`format_timestamp` of a Unix time."""
    return format_timestamp(datetime.fromtimestamp(epoch_sec, UTC))


def now_iso() -> str:
    return format_timestamp(utc_now())
