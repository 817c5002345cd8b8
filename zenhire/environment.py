"""Typed reads of ``ZENHIRE_*`` settings from an environment mapping.

Every read names its key, so a missing or invalid value fails at start-up
with a message that says which setting to fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


class SettingError(ValueError):
    """A setting is missing or has a value that cannot be used."""


@dataclass(frozen=True)
class Environment:
    values: Mapping[str, str]

    def text(self, key: str, default: str) -> str:
        value = self.values.get(key, default).strip()
        if not value:
            raise SettingError(f"{key} must not be empty")
        return value

    def optional(self, key: str) -> str | None:
        value = self.values.get(key, "").strip()
        return value or None

    def integer(self, key: str, default: int, *, minimum: int = 0) -> int:
        raw = self.values.get(key)
        if raw is None or not raw.strip():
            return default
        try:
            value = int(raw)
        except ValueError:
            raise SettingError(f"{key} must be an integer, got {raw!r}") from None
        if value < minimum:
            raise SettingError(f"{key} must be at least {minimum}, got {value}")
        return value

    def number(self, key: str, default: float, *, minimum: float = 0.0) -> float:
        raw = self.values.get(key)
        if raw is None or not raw.strip():
            return default
        try:
            value = float(raw)
        except ValueError:
            raise SettingError(f"{key} must be a number, got {raw!r}") from None
        if value < minimum:
            raise SettingError(f"{key} must be at least {minimum}, got {value}")
        return value

    def choice(self, key: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.text(key, default)
        if value not in choices:
            raise SettingError(f"{key} must be one of {', '.join(choices)}, got {value!r}")
        return value

    def flag(self, key: str, default: bool) -> bool:
        """``1`` or ``0``."""
        return self.choice(key, "1" if default else "0", ("0", "1")) == "1"

    def url(self, key: str, default: str) -> str:
        value = self.text(key, default).rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise SettingError(f"{key} must be an http(s) URL, got {value!r}")
        return value
