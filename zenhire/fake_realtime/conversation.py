"""The conversation of one connection, as the fake model keeps it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Conversation:
    """Its items in order (user, assistant and system messages, function call outputs)
    and, per assistant item, how many milliseconds of its audio have been sent."""

    items: list[dict[str, Any]] = field(default_factory=list)
    audio_ms: dict[str, int] = field(default_factory=dict)

    @property
    def last_id(self) -> str | None:
        """The ``previous_item_id`` of an item added now."""
        return self.items[-1]["id"] if self.items else None


def text_of(item: dict[str, Any]) -> str:
    """The text parts of a message item, joined by spaces."""
    content = item.get("content") or []
    return " ".join(str(part.get("text") or "") for part in content if isinstance(part, dict))
