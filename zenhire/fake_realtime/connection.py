"""The record of one connection that tests and benchmarks inspect."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from zenhire.fake_realtime.conversation import text_of


@dataclass
class Connection:
    """What one connection received, and what the fake found wrong with it.

    ``restore_missing`` is set at the connection's first response: what the
    fake said or heard on earlier connections that the text items created on
    this one do not contain.
    """

    number: int
    model: str | None = None
    session: dict[str, Any] | None = None
    appended_samples: int = 0
    items_created: list[dict[str, Any]] = field(default_factory=list)
    truncates: list[dict[str, Any]] = field(default_factory=list)
    cancels: int = 0
    deleted: list[str] = field(default_factory=list)
    function_outputs: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    restore_missing: list[str] | None = None
    closed_by_limit: bool = False

    @property
    def texts_created(self) -> list[str]:
        return [text for item in self.items_created if (text := text_of(item))]
