"""The candidate's turns as one upstream session reports them.

The upstream's server VAD marks where speech starts and stops (positions in
the audio it received, mapped onto the recording's timeline by the
`Uplink`); its input transcription streams the words. Deltas become
partial captions, the completed transcription a final caption, a transcript
turn and a history entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import count

from gateway.interviewer import Conversation, Turn
from gateway.interviewer.realtime.history import History
from gateway.interviewer.realtime.uplink import Uplink
from gateway.session.events import Caption

# Finished speech whose transcription has not come after this long is given up
# on (it no longer holds back a handover).
TRANSCRIPTION_WAIT_MS = 10_000


@dataclass
class _Said:
    turn_id: str
    start_ms: int
    end_ms: int | None = None
    text: str = ""


class CandidateSpeech:
    def __init__(self, conversation: Conversation, uplink: Uplink, history: History) -> None:
        self._conversation = conversation
        self._uplink = uplink
        self._history = history
        self._said: dict[str, _Said] = {}
        self._turn_ids = count(1)
        self.speaking = False

    @property
    def transcribing(self) -> bool:
        """Some finished speech still waits (not too long) for its transcription."""
        now = self._conversation.now_ms()
        return any(
            said.end_ms is not None and now - said.end_ms < TRANSCRIPTION_WAIT_MS
            for said in self._said.values()
        )

    def reset(self) -> None:
        """A new upstream session: speech the old one did not transcribe is lost."""
        self._said.clear()
        self.speaking = False

    def started(self, item_id: str, audio_start_ms: int) -> None:
        self.speaking = True
        start = self._uplink.timeline_ms(audio_start_ms, self._conversation.now_ms())
        self._said[item_id] = _Said(f"candidate-{next(self._turn_ids)}", start)

    def stopped(self, item_id: str, audio_end_ms: int) -> None:
        self.speaking = False
        said = self._said_for(item_id)
        said.end_ms = self._uplink.timeline_ms(audio_end_ms, self._conversation.now_ms())

    async def delta(self, item_id: str, text: str) -> None:
        said = self._said_for(item_id)
        said.text += text
        await self._conversation.send(Caption("candidate", said.text, False, said.turn_id))

    async def completed(self, item_id: str, text: str) -> None:
        said = self._said_for(item_id)
        del self._said[item_id]
        text = text.strip()
        await self._conversation.send(Caption("candidate", text, True, said.turn_id))
        if text:
            end_ms = said.end_ms if said.end_ms is not None else self._conversation.now_ms()
            self._conversation.add_turn(Turn("candidate", text, said.start_ms, end_ms))
            self._history.add("user", text)

    def failed(self, item_id: str) -> None:
        self._said.pop(item_id, None)

    def _said_for(self, item_id: str) -> _Said:
        if item_id not in self._said:
            now = self._conversation.now_ms()
            self._said[item_id] = _Said(f"candidate-{next(self._turn_ids)}", now)
        return self._said[item_id]
