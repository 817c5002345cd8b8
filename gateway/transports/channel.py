"""What both transports share about one candidate connection.

A `CandidateChannel` is the `Transport` the live session holds, whichever
way the candidate connected. It owns everything that is not I/O:

- the outgoing events, bounded (`OUTGOING_EVENTS_MAX`): a page that falls
  this far behind is closed with ``POLICY`` rather than let it hold memory;
- the close request: the first one wins, later ones are ignored, and a
  refusal is always told to the page as an ``error`` event before its close;
- the candidate's control messages (``end``, ``ping``, ``features``, ``rating``,
  anything else);
- the per-connection budgets: audio frames and control messages, each a
  token bucket with the same numbers on both transports; what exceeds a
  budget is dropped, and a sender that keeps flooding is closed;
- admission: joining the live interview (`gateway.candidate.admission`),
  then the captions so far (a reload or reconnect starts with an empty
  box), and leaving it when the connection ends.

The transport hands audio for the candidate to ``send_audio`` (its own
bounded queue, or a track that paces itself), writes what `take_events`
returns, and closes its connection when `closing` is set; `wait` wakes it
for events, the close, and (``wake_on_audio``) queued audio.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Callable

from audio.frames import FRAME_BYTES, FRAMES_PER_SEC
from gateway.candidate.admission import join
from gateway.candidate.refusals import Refusal, Refused
from gateway.interviewer import Outcome
from gateway.s2s.controlplane import Verification
from gateway.services import Services
from gateway.session.events import CandidateEvent, Error, encode
from gateway.session.live import LiveSession
from gateway.session.rating import RatingInvalid, parse_rating
from zenhire.timestamps import now_iso

MAX_TEXT_CHARS = 4096
OUTGOING_EVENTS_MAX = 500
CANDIDATE_ENDED = Outcome("completed", message="The candidate ended the interview.")
# Complaints: the page is told, the connection stays open.
FRAME_INVALID = Error("FRAME_INVALID", "Audio frames must be 20 ms of PCM16.")
UNKNOWN_MESSAGE = Error("BAD_MESSAGE", "Unknown message.")
RATING_CLOSED = Error("RATING_CLOSED", "The interview is not waiting for a rating.")


class Budget:
    """A token bucket: ``rate`` per second with a ``burst`` allowance.

    `allow` spends a token or counts a drop; `flooding` says the sender went
    on long past the allowance (more than ``drop_limit`` drops in all).
    """

    def __init__(self, rate: float, burst: float, drop_limit: int) -> None:
        self.rate, self.burst, self.drop_limit = rate, burst, drop_limit
        self.dropped = 0
        self._tokens = burst
        self._stamp = time.monotonic()

    def allow(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        self.dropped += 1
        return False

    @property
    def flooding(self) -> bool:
        return self.dropped > self.drop_limit


def audio_budget() -> Budget:
    """Candidate frames: real time, plus a burst for what a network stall delivers at once."""
    return Budget(
        rate=FRAMES_PER_SEC * 1.1, burst=2 * FRAMES_PER_SEC, drop_limit=5 * FRAMES_PER_SEC
    )


def control_budget() -> Budget:
    """Control messages: the page pings once a second and ends once."""
    return Budget(rate=5.0, burst=20.0, drop_limit=100)


class CandidateChannel:
    """One candidate connection: a session `Transport`. Offers never block."""

    def __init__(
        self,
        kind: str,
        found: Services,
        verification: Verification,
        send_audio: Callable[[bytes], None],
        *,
        wake_on_audio: bool = False,
    ) -> None:
        self.kind = kind
        self.verification = verification
        self.session: LiveSession | None = None
        self.closing: tuple[int, str] | None = None
        self._found = found
        self._send_audio = send_audio
        self._wake_on_audio = wake_on_audio
        self._events: deque[str] = deque()
        self._ready = asyncio.Event()
        self._frames = audio_budget()
        self._controls = control_budget()

    # -- Transport ----------------------------------------------------------------

    def offer_audio(self, frame: bytes) -> None:
        self._send_audio(frame)
        if self._wake_on_audio:
            self.wake()

    def offer_event(self, event: CandidateEvent) -> None:
        if len(self._events) >= OUTGOING_EVENTS_MAX:
            self.refuse(Refusal.EVENTS_BACKLOG)
            return
        self._events.append(encode(event))
        self.wake()

    def close(self, code: int, reason: str) -> None:
        if self.closing is None:
            self.closing = (code, reason)
            self.wake()

    # -- the transport's side -------------------------------------------------------

    def refuse(self, refusal: Refusal) -> None:
        """Tell the page why with an ``error`` event, then close."""
        if self.closing is not None:
            return
        # Past the bound on purpose: the page must learn why it is closed.
        self._events.append(encode(Error(refusal.code, refusal.message)))
        self.close(refusal.close_code, refusal.code)

    def wake(self) -> None:
        self._ready.set()

    async def wait(self) -> None:
        """Until there is something to write or a close to carry out."""
        await self._ready.wait()
        self._ready.clear()

    def take_events(self) -> list[str]:
        events = list(self._events)
        self._events.clear()
        return events

    def receive_audio(self, pcm: bytes) -> None:
        """One candidate frame: to the session, within the audio budget."""
        if len(pcm) > FRAME_BYTES:
            self.refuse(Refusal.FRAME_TOO_LARGE)
            return
        session = self.session
        if session is None:
            return
        if len(pcm) != FRAME_BYTES:
            self.offer_event(FRAME_INVALID)
        elif self._frames.allow():
            session.receive_audio(pcm)
        elif self._frames.flooding:
            self.refuse(Refusal.AUDIO_FLOOD)

    def receive_text(self, text: str) -> None:
        """One control message from the page, within the control budget."""
        if len(text) > MAX_TEXT_CHARS:
            self.refuse(Refusal.MESSAGE_TOO_LARGE)
            return
        if not self._controls.allow():
            if self._controls.flooding:
                self.refuse(Refusal.MESSAGE_FLOOD)
            return
        try:
            message = json.loads(text)
        except json.JSONDecodeError:
            message = None
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "end" and self.session is not None:
            self.session.end(CANDIDATE_ENDED)
        elif kind == "rating" and isinstance(message, dict):
            self._rate(message)
        elif kind == "features" and isinstance(message, dict):
            if message.get("rating") is True and self.session is not None:
                self.session.rating_wanted = True
        elif kind not in ("ping", "end"):
            self.offer_event(UNKNOWN_MESSAGE)

    def _rate(self, message: dict[str, object]) -> None:
        """The candidate's rating: recorded within the window, else the page is told why not."""
        try:
            rating = parse_rating(message, now_iso())
        except RatingInvalid as invalid:
            self.offer_event(Error("RATING_INVALID", str(invalid)))
            return
        if self.session is None or not self.session.rate(rating):
            self.offer_event(RATING_CLOSED)

    async def admit(self) -> None:
        """Join the live interview (waiting for a slot), or say why not and close."""
        try:
            self.session = await join(self._found, self.verification, self)
        except Refused as refused:
            self.refuse(refused.refusal)
            return
        if len(self.session.captions):
            self.offer_event(self.session.captions.event())

    async def release(self) -> None:
        """The connection is over: leave the interview, or the waiting room."""
        if self.session is not None:
            self.session.detach(self)
        else:
            verification = self.verification
            await self._found.registry.slots.leave_queue(
                verification.client_id, verification.session_id
            )
