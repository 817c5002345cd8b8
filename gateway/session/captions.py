"""The final captions of one live interview, kept for a page that comes back.

A reload or a reconnect starts the page with an empty caption box; on every
(re)attach the channel sends `CaptionHistory.event`, so the candidate sees
the conversation so far. Bounded twice: at most `HISTORY_MAX_CAPTIONS`
captions, and the newest ones whose text fits `HISTORY_MAX_BYTES` (the
event must fit one data-channel message); older ones are dropped and the
event says so. An interview taken over from another replica starts with
the checkpoint's turns (`restore`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from gateway.session.events import Caption, History, HistoryCaption

HISTORY_MAX_CAPTIONS = 200
HISTORY_MAX_BYTES = 32 * 1024


class CaptionHistory:
    def __init__(self) -> None:
        self._captions: OrderedDict[str, HistoryCaption] = OrderedDict()
        self._dropped = False

    def __len__(self) -> int:
        return len(self._captions)

    def note(self, caption: Caption) -> None:
        """Keep ``caption`` if final; an empty final caption withdraws its turn."""
        if not caption.final:
            return
        text = caption.text.strip()
        if not text:
            self._captions.pop(caption.turn_id, None)
            return
        self._captions[caption.turn_id] = HistoryCaption(caption.speaker, text, caption.turn_id)
        while len(self._captions) > HISTORY_MAX_CAPTIONS:
            self._captions.popitem(last=False)
            self._dropped = True

    def restore(self, turns: Iterable[dict[str, Any]]) -> None:
        """Keep the transcript turns of a checkpoint (their caption ids stayed behind)."""
        ordered = sorted(turns, key=lambda turn: (turn.get("start_ms", 0), turn.get("end_ms", 0)))
        for number, turn in enumerate(ordered):
            speaker, text = turn.get("speaker"), turn.get("text")
            if speaker in ("candidate", "interviewer") and isinstance(text, str):
                self.note(Caption(speaker, text, final=True, turn_id=f"before-{number}"))

    def event(self) -> History:
        """The newest captions that fit the byte bound, oldest first."""
        kept: list[HistoryCaption] = []
        size = 0
        for caption in reversed(self._captions.values()):
            size += len(caption.text.encode("utf-8"))
            if size > HISTORY_MAX_BYTES:
                return History(tuple(reversed(kept)), truncated=True)
            kept.append(caption)
        return History(tuple(reversed(kept)), truncated=self._dropped)
