"""The conversation so far, as text, to carry into a fresh upstream session.

An upstream session's memory dies with it; the gateway keeps what was said
(interviewer turns as heard, candidate turns as transcribed, notes it added)
and replays it as text items when it opens the next session (handover or
reconnect). It grows with the interview, one short entry per turn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway.interviewer.realtime.protocol import ItemRole, text_item


@dataclass(frozen=True)
class Entry:
    role: ItemRole
    text: str


@dataclass
class History:
    entries: list[Entry] = field(default_factory=list)

    def add(self, role: ItemRole, text: str) -> None:
        if text.strip():
            self.entries.append(Entry(role, text.strip()))

    def __bool__(self) -> bool:
        return bool(self.entries)

    @classmethod
    def restored(cls, entries: tuple[tuple[str, str], ...]) -> History:
        """The history a checkpoint kept (`Position.history`)."""
        history = cls()
        for role, text in entries:
            if role in ("user", "assistant", "system"):
                history.add(role, text)  # type: ignore[arg-type]
        return history

    def as_position(self) -> tuple[tuple[str, str], ...]:
        return tuple((entry.role, entry.text) for entry in self.entries)

    def restore_events(self) -> list[dict[str, Any]]:
        """The ``conversation.item.create`` events that rebuild the conversation."""
        return [text_item(entry.role, entry.text) for entry in self.entries]
