"""What every connection shares with the whole fake endpoint."""

from __future__ import annotations

from typing import Protocol

from zenhire.fake_realtime.cues import Cues


class Host(Protocol):
    """The endpoint as a connection sees it: its cues, the responses started and
    the lines said over all connections, the audio recorded per item
    (`Cues.record_audio`), unique ids, and synthesized speech."""

    cues: Cues
    responses: int
    said: list[str]
    audio: dict[str, bytes]

    def new_id(self, prefix: str) -> str: ...

    async def speech(self, text: str) -> bytes: ...
