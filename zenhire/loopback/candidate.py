"""A scripted candidate on the WebSocket transport, paced like a browser.

It verifies its link, consents when asked, connects, waits for a slot, and
then streams 20 ms frames in real time: silence by default, and its next
scripted answer each time the interviewer has spoken and fallen quiet.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

from audio.frames import FRAME_BYTES, FRAME_SEC, SILENCE, split_frames
from zenhire.loopback import secrets
from zenhire.tasks import TaskGroup

# The interviewer counts as done speaking after this long without its audio.
QUIET_AFTER_SPEECH_SEC = 0.6
# Frames a late sender may send back to back to catch up (the gateway's burst is 100).
MAX_CATCH_UP_SEC = 0.5


@dataclass
class Candidate:
    gateway_url: str
    ticket: str = ""
    session: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    frames_received: int = 0
    frames_sent: int = 0
    answers: deque[bytes] = field(default_factory=deque)
    close_code: int | None = None
    answer_starts: list[float] = field(default_factory=list)
    socket: ClientConnection | None = field(default=None, repr=False)
    # When each stretch of interviewer audio began (time.monotonic()).
    speech_starts: list[float] = field(default_factory=list)
    # When each ``live`` event arrived (time.monotonic()): the interview's timeline
    # starts at the first one.
    live_times: list[float] = field(default_factory=list)

    @property
    def ws_url(self) -> str:
        return self.gateway_url.replace("http://", "ws://") + "/api/v1/candidate/ws"

    async def open(
        self, http: httpx.AsyncClient, token: str, *, consent: bool = True
    ) -> httpx.Response:
        """Verify the link (and consent when the session asks for it)."""
        response = await http.post(
            f"{self.gateway_url}/api/v1/candidate/session", json={"token": token}
        )
        if response.status_code != 200:
            return response
        body = response.json()
        self.ticket, self.session = secrets.register(body["ticket"], "ticket"), body
        if consent and body["consent"]["required"]:
            accepted = await http.post(
                f"{self.gateway_url}/api/v1/candidate/consent",
                json={
                    "ticket": self.ticket,
                    "accepted": True,
                    "text_version": body["consent"]["version"],
                },
            )
            assert accepted.status_code == 200, accepted.text
        return response

    _heard_at: float = 0.0

    def heard_after(self, moment: float) -> float | None:
        """When interviewer audio first began after ``moment`` (time.monotonic()), if it did."""
        return next((t for t in self.speech_starts if t > moment), None)

    def kinds(self, kind: str) -> list[dict[str, Any]]:
        return [event for event in self.events if event["type"] == kind]

    async def connect(self) -> ClientConnection:
        # An unbounded receive queue: a test that stops reading must not stall
        # the close handshake behind unread audio frames.
        socket = await websockets.connect(self.ws_url, max_size=1 << 20, max_queue=None)
        await socket.send(json.dumps({"type": "hello", "ticket": self.ticket}))
        self._heard_at = 0.0  # audio on a new connection starts a new stretch
        return socket

    async def interview(self, answers: list[bytes], *, end_after_sec: float | None = None) -> None:
        """Hold the interview until the gateway ends it (or end it ourselves)."""
        self.answers.extend(answers)
        async with await self.connect() as socket:
            self.socket = socket
            await self.converse(socket, end_after_sec=end_after_sec)

    async def converse(
        self, socket: ClientConnection, *, end_after_sec: float | None = None
    ) -> None:
        live = asyncio.Event()
        last_heard = [0.0]
        async with TaskGroup() as group:
            sender = group.create_task(self._send(socket, live, last_heard, end_after_sec))
            try:
                async for message in socket:
                    if isinstance(message, bytes):
                        self.frames_received += 1
                        now = time.monotonic()
                        if not self.speech_starts or now - self._heard_at > QUIET_AFTER_SPEECH_SEC:
                            self.speech_starts.append(now)
                        self._heard_at = last_heard[0] = now
                        continue
                    event = json.loads(message)
                    self.events.append(event)
                    if event["type"] == "live":
                        self.live_times.append(time.monotonic())
                        live.set()
            finally:
                self.close_code = socket.close_code
                sender.cancel()

    async def _send(
        self,
        socket: ClientConnection,
        live: asyncio.Event,
        last_heard: list[float],
        end_after_sec: float | None,
    ) -> None:
        await live.wait()
        started = time.monotonic()
        pending: deque[bytes] = deque()
        next_at = time.monotonic()
        while True:
            now = time.monotonic()
            if end_after_sec is not None and now - started > end_after_sec:
                await socket.send(json.dumps({"type": "end"}))
                return
            heard = last_heard[0]
            if not pending and self.answers and heard and now - heard > QUIET_AFTER_SPEECH_SEC:
                frames, tail = split_frames(self.answers.popleft())
                pending.extend(frames + ([tail + bytes(FRAME_BYTES - len(tail))] if tail else []))
                self.answer_starts.append(now)
                last_heard[0] = 0.0
            try:
                await socket.send(pending.popleft() if pending else SILENCE)
            except websockets.ConnectionClosed:
                return  # the gateway closed first; the reader reports how
            self.frames_sent += 1
            next_at += FRAME_SEC
            if time.monotonic() - next_at > MAX_CATCH_UP_SEC:
                # Stalled (a loaded machine): carry on from now rather than send the
                # backlog in one burst, which the gateway would rightly call a flood.
                next_at = time.monotonic()
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))


def drop(socket: ClientConnection) -> None:
    """Cut the connection without a close handshake, as a network loss would."""
    socket.transport.abort()
