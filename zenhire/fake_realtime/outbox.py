"""The server events one connection sends, under GA names or, on cue, their beta names."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from websockets.asyncio.server import ServerConnection

BETA_NAMES = {
    "response.output_audio.delta": "response.audio.delta",
    "response.output_audio.done": "response.audio.done",
    "response.output_audio_transcript.delta": "response.audio_transcript.delta",
    "response.output_audio_transcript.done": "response.audio_transcript.done",
    "conversation.item.added": "conversation.item.created",
}


class Outbox:
    """Sends events on ``socket``, each with a fresh ``event_id``; a closed
    connection raises `websockets.ConnectionClosed`."""

    def __init__(
        self, socket: ServerConnection, new_id: Callable[[str], str], *, beta_names: bool
    ) -> None:
        self._socket = socket
        self._new_id = new_id
        self._beta_names = beta_names

    def name(self, name: str) -> str:
        """The name this connection uses for the GA event ``name``."""
        return BETA_NAMES.get(name, name) if self._beta_names else name

    async def send(self, event: dict[str, Any]) -> None:
        await self._socket.send(json.dumps({"event_id": self._new_id("event"), **event}))

    async def error(self, kind: str, code: str, message: str) -> None:
        await self.send(
            {"type": "error", "error": {"type": kind, "code": code, "message": message}}
        )

    def abort(self) -> None:
        """Drop the connection without a closing handshake."""
        self._socket.transport.abort()
