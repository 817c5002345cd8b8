"""Wall-clock time as the API writes it (`zenhire.timestamps`, shared with the gateway)."""

from __future__ import annotations

from zenhire.timestamps import format_timestamp, parse_timestamp, utc_now

__all__ = ["format_timestamp", "parse_timestamp", "utc_now"]
