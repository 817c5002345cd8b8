"""The conversation of one connection, as the fake model keeps it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Conversation:
    """Its items in order (user, assistant and system messages, function call outputs),
    per assistant item how many milliseconds of its audio have been sent, and the
    question ids the client's ``ask_question`` tool lists (in order)."""

    items: list[dict[str, Any]] = field(default_factory=list)
    audio_ms: dict[str, int] = field(default_factory=dict)
    question_ids: list[str] = field(default_factory=list)

    @property
    def last_id(self) -> str | None:
        """The ``previous_item_id`` of an item added now."""
        return self.items[-1]["id"] if self.items else None


def text_of(item: dict[str, Any]) -> str:
    """The text parts of a message item, joined by spaces."""
    content = item.get("content") or []
    return " ".join(str(part.get("text") or "") for part in content if isinstance(part, dict))


def question_ids(session: dict[str, Any], tool: str) -> list[str]:
    """The ids a session's ``tool`` function takes as ``question_id`` (its enum)."""
    for spec in session.get("tools") or []:
        if isinstance(spec, dict) and spec.get("name") == tool:
            prop = ((spec.get("parameters") or {}).get("properties") or {}).get("question_id")
            enum = prop.get("enum") if isinstance(prop, dict) else None
            if isinstance(enum, list):
                return [str(value) for value in enum]
    return []
