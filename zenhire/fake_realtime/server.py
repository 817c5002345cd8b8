"""A small fake of the OpenAI Realtime API over WebSocket, faithful to its documented events.

    python -m zenhire.fake_realtime --port 8765 [--api-key sk-...] [--questions 2]

For tests and benchmarks (the real API is out of reach here). It follows
the GA reference (client and server events) and the realtime conversations
guide, written from the documents rather than from the gateway's protocol
module, so the two check each other. Per connection it:

- checks what it receives and records every violation: the ``Authorization:
  Bearer`` header (401 otherwise), the ``model`` query, the GA
  ``session.update`` shape (PCM 24 kHz in and out, server or semantic VAD,
  noise reduction, transcription, the ``end_interview`` tool) before any
  audio, base64 PCM16 of whole samples;
- hears the candidate by energy (a threshold on 20 ms windows; semantic VAD
  waits longer after a pause the lower its eagerness), sends
  ``input_audio_buffer.speech_started``/``speech_stopped`` at the audio
  positions, commits a user item, "transcribes" it with a placeholder and
  answers (``create_response``); speech during a response cancels it only
  with ``interrupt_response`` on; ``response.cancel`` cancels it (an error
  when none is active), ``conversation.item.truncate`` and
  ``conversation.item.delete`` edit the conversation;
- answers with real speech (eSpeak NG through the gateway's `Voice`, 24 kHz),
  streamed as ``delta_ms`` audio deltas at ``pace`` times real time with the
  transcript alongside; after ``questions`` answers (or a system note asking
  to wrap up) it says goodbye and calls ``end_interview``;
- continues from the conversation it is given: text items replayed into a
  fresh connection count as said, and `Connection.restore_missing` lists
  what the fake said or heard earlier that the replay lacked;
- misbehaves on cue (`Cues`): refused handshakes, a dropped connection, an
  ``error`` event, a rate limit or silence during a given response, and a
  hard session limit (``session_expired``) like the real 60 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response

from gateway.interviewer.local.voice import Voice
from zenhire.fake_realtime.connection import Connection
from zenhire.fake_realtime.cues import Cues
from zenhire.fake_realtime.session import FakeSession

__all__ = ["Connection", "Cues", "FakeRealtime"]

log = logging.getLogger("zenhire.fake_realtime.server")

STREAM_MAX_BYTES = 1 << 20
_BEARER = re.compile(r"Bearer\s+\S+")


class FakeRealtime:
    def __init__(self, cues: Cues | None = None) -> None:
        self.cues = cues or Cues()
        self.connections: list[Connection] = []
        self.attempts = 0
        self.responses = 0
        self.said: list[str] = []
        self.audio: dict[str, bytes] = {}
        self._speech: dict[str, bytes] = {}
        self._ids = itertools.count(1)
        self.url = ""

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):06d}"

    async def speech(self, text: str) -> bytes:
        if text not in self._speech:
            voice = Voice("en-us", self.cues.words_per_minute)
            self._speech[text] = b"".join([chunk async for chunk in voice.stream(text)])
        return self._speech[text]

    @asynccontextmanager
    async def running(self, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
        """Serve until the block exits; yield the ``ws://`` URL of the endpoint."""
        logger = _Redacting(log)
        async with serve(
            self._handle,
            host,
            port,
            process_request=self._check_request,
            max_size=STREAM_MAX_BYTES,
            compression=None,
            logger=logger,
        ) as server:
            bound = next(iter(server.sockets)).getsockname()[1]
            self.url = f"ws://{host}:{bound}/v1/realtime"
            yield self.url

    def _check_request(self, connection: ServerConnection, request: Request) -> Response | None:
        self.attempts += 1
        cues = self.cues
        if self.attempts <= cues.refuse_first or (
            cues.refuse_from is not None and self.attempts >= cues.refuse_from
        ):
            return connection.respond(503, "upstream unavailable (on cue)\n")
        authorization = request.headers.get("Authorization", "")
        expected = f"Bearer {cues.api_key}" if cues.api_key else None
        if not authorization.startswith("Bearer ") or (expected and authorization != expected):
            return connection.respond(401, "invalid authorization\n")
        return None

    async def _handle(self, socket: ServerConnection) -> None:
        connection = Connection(len(self.connections) + 1)
        self.connections.append(connection)
        query = (socket.request.path.partition("?")[2] if socket.request else "").split("&")
        connection.model = next((q[6:] for q in query if q.startswith("model=")), None)
        if not connection.model:
            connection.violations.append("no model query parameter")
        await FakeSession(self, socket, connection).run()


class _Redacting(logging.LoggerAdapter[logging.Logger]):
    """websockets logs handshake headers at DEBUG; never let a bearer token through."""

    def __init__(self, logger: logging.Logger) -> None:
        super().__init__(logger, {})

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if self.isEnabledFor(level):
            text = str(msg) % args if args else str(msg)
            self.logger.log(level, _BEARER.sub("Bearer [redacted]", text), **kwargs)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m zenhire.fake_realtime", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--api-key", default=None, help="the only key accepted (default: any)")
    parser.add_argument("--questions", type=int, default=2)
    parser.add_argument("--pace", type=float, default=2.0, help="audio speed vs real time")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    fake = FakeRealtime(Cues(api_key=args.api_key, questions=args.questions, pace=args.pace))

    async def serve_forever() -> None:
        async with fake.running(args.host, args.port) as url:
            print(f"fake realtime endpoint: {url}", flush=True)
            await asyncio.Future()

    with suppress(KeyboardInterrupt):
        asyncio.run(serve_forever())
