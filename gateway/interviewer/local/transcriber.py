"""Candidate captions: speech-to-text of each candidate turn.

The frame loop calls `Transcriber.open`/`feed`/`close`/`discard`, which only
append to an inbox and never wait; the transcriber's own task (`run`, a
sibling in the interview's task group) does the work and sends partial
captions. `close` returns a future with the turn's final `Transcript`; `partial` is
the open turn's hypothesis so far, for turn-taking (`gateway.interviewer.local.cues`).

`SphinxTranscriber` decodes English with PocketSphinx (the en-us model that
ships in the wheel) in a worker process (`gateway.interviewer.local.sphinx`),
because PocketSphinx holds the GIL while it loads and decodes: in-process,
even a worker thread would stall every session's frame loop. The event loop
only writes audio to the worker's stdin and reads hypotheses back.
`UnavailableTranscriber` serves languages without a model: it captions a
notice and keeps the turn with a placeholder text.

    GatewayError
    └── TranscriptionError   the recognizer process could not start or died
"""

from __future__ import annotations

import asyncio
import logging
import struct
import sys
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from audio.frames import SAMPLE_BYTES, SAMPLE_RATE
from gateway.errors import GatewayError
from gateway.interviewer.local import sphinx
from gateway.session.events import CandidateEvent, Caption
from zenhire.children import Child

log = logging.getLogger("zenhire.interviewer")

# Candidate audio waiting for the decoder. Past this, new audio is not
# transcribed (the turn's timing is still kept) so a slow machine cannot
# grow memory or delay the interview without bound.
MAX_BACKLOG_MS = 10_000
MAX_BACKLOG_BYTES = SAMPLE_RATE * MAX_BACKLOG_MS // 1000 * SAMPLE_BYTES
UNINTELLIGIBLE = "[unintelligible]"
# Within a turn's speech (or the first `SETTLED_MS` of a pause), the recognizer
# is caught up when at most this much fed audio waits for it.
CAUGHT_UP_MS = 200
CAUGHT_UP_BYTES = SAMPLE_RATE * CAUGHT_UP_MS // 1000 * SAMPLE_BYTES
# The words of a pause are those the recognizer heard this far past the last
# speech. Decoding on into the pause's room noise makes words of it: "one
# second" becomes "one check engine" a few hundred ms later by a fan, "years
# and" "years and two". So the hypothesis at this point is kept as the words,
# until the candidate speaks again. Of the corpus's paused and thinking
# phrases (4 Flite and 3 eSpeak NG voices, quiet and by a fan), the cue was
# read right in 63 of 154 at 100 ms, 57 at 200 ms and 45 at 400 ms (with the
# cues and search of that day, docs/benchmark.md).
SETTLED_MS = 100
SETTLED_BYTES = SAMPLE_RATE * SETTLED_MS // 1000 * SAMPLE_BYTES

Send = Callable[[CandidateEvent], Awaitable[None]]


class TranscriptionError(GatewayError):
    """The speech recognizer could not be started or stopped answering."""

    code = "UPSTREAM_UNAVAILABLE"


@dataclass(frozen=True)
class Transcript:
    """A finished turn: ``text`` for the transcript, ``caption`` for the page."""

    text: str
    caption: str


class Transcriber(Protocol):
    def open(self, turn_id: str, captions_after_ms: int = 0) -> None:
        """Start a new candidate turn (ending any unfinished one); partial captions
        start once ``captions_after_ms`` of its audio were decoded."""
        ...

    def partial(self) -> str | None:
        """The open turn's best hypothesis so far ("" before any), or None while the
        recognizer is more than `CAUGHT_UP_MS` behind the audio fed to it. Once a
        pause is `SETTLED_MS` long, the hypothesis as it was `SETTLED_MS` past the
        speech (None until the recognizer got there)."""
        ...

    def lag_ms(self) -> int:
        """How much fed audio the recognizer has yet to decode before `partial`
        answers, in ms."""
        ...

    def feed(self, pcm: bytes, speech: bool = True) -> None:
        """Add a frame of the open turn (PCM16 24 kHz; ``speech``: the VAD heard
        speech in it). Never blocks."""
        ...

    def close(self) -> asyncio.Future[Transcript]:
        """End the open turn; the future resolves with its transcript."""
        ...

    def discard(self) -> None:
        """Drop the open turn (it was not meant as speech)."""
        ...

    async def run(self) -> None:
        """Do the work; runs until cancelled."""
        ...


@dataclass(frozen=True)
class _Open:
    turn_id: str
    captions_after_bytes: int = 0


@dataclass(frozen=True)
class _Close:
    result: asyncio.Future[Transcript]


@dataclass(frozen=True)
class _Discard:
    pass


@dataclass(frozen=True)
class _Settle:
    """The audio before this is the speech up to ``speech_end`` (bytes into the
    turn) and `SETTLED_MS` of the pause after it: keep the hypothesis."""

    speech_end: int


_Command = _Open | bytes | _Close | _Discard | _Settle


class _Inbox:
    """Commands from the frame loop to a transcriber's task, in order."""

    def __init__(self) -> None:
        self.commands: deque[_Command] = deque()
        self.audio_bytes = 0
        self._wake = asyncio.Event()

    def push(self, command: _Command) -> None:
        if isinstance(command, bytes):
            self.audio_bytes += len(command)
        self.commands.append(command)
        self._wake.set()

    async def pop(self) -> _Command:
        """The next command; consecutive audio comes back joined into one."""
        while not self.commands:
            self._wake.clear()
            await self._wake.wait()
        command = self.commands.popleft()
        if isinstance(command, bytes):
            parts = [command]
            while self.commands and isinstance(following := self.commands[0], bytes):
                self.commands.popleft()
                parts.append(following)
            command = b"".join(parts)
            self.audio_bytes -= len(command)
        return command


class _Recognizer:
    """The worker process, one request and one reply at a time."""

    def __init__(self, child: Child) -> None:
        process = child.process
        assert process.stdin is not None and process.stdout is not None
        self._child = child
        self._process = process
        self._requests = process.stdin
        self._replies = process.stdout

    @classmethod
    async def start(cls) -> _Recognizer:
        try:
            child = await Child.spawn(sys.executable, "-m", sphinx.__name__)
        except OSError as exc:
            raise TranscriptionError(f"cannot start the recognizer: {exc}") from exc
        return cls(child)

    async def ask(self, op: bytes, payload: bytes = b"") -> str:
        """Send one request; return the worker's hypothesis."""
        self._requests.write(struct.pack(sphinx.HEADER, op, len(payload)) + payload)
        try:
            await self._requests.drain()
        except ConnectionError as exc:
            raise TranscriptionError("the recognizer stopped") from exc
        reply = await self._replies.readline()
        if not reply.endswith(b"\n"):
            raise TranscriptionError(f"the recognizer exited ({self._process.returncode})")
        return reply.decode("utf-8").strip()

    async def stop(self) -> None:
        """End the worker (idempotent); waits, within a bound, until it is gone."""
        await self._child.stop()


class SphinxTranscriber:
    """English speech-to-text with partial captions every ``partial_interval_ms`` of audio."""

    def __init__(self, send: Send, partial_interval_ms: int) -> None:
        self._send = send
        self._partial_bytes = SAMPLE_RATE * partial_interval_ms // 1000 * SAMPLE_BYTES
        self._inbox = _Inbox()
        self._dropped_bytes = 0
        self._partial = ""
        self._opened = 0  # turns opened by the frame loop
        self._decoding = 0  # the turn the worker is on
        self._in_flight = 0  # bytes the worker is decoding now
        # Of the open turn, in bytes from its start: fed, fed up to the end of its
        # last speech frame, and decoded.
        self._fed = 0
        self._speech_end = 0
        self._decoded = 0
        # The hypothesis `SETTLED_MS` into the pause after the speech up to a point.
        self._settled: tuple[int, str] | None = None

    def open(self, turn_id: str, captions_after_ms: int = 0) -> None:
        self._opened += 1
        self._partial = ""
        self._fed = self._speech_end = 0
        held = SAMPLE_RATE * captions_after_ms // 1000 * SAMPLE_BYTES
        self._inbox.push(_Open(turn_id, held))

    def partial(self) -> str | None:
        if self._decoding != self._opened:
            return None
        if self._settling():
            settled = self._settled
            return settled[1] if settled is not None and settled[0] == self._speech_end else None
        if self._behind() > CAUGHT_UP_BYTES:
            return None
        return self._partial

    def lag_ms(self) -> int:
        return self._behind() * 1000 // (SAMPLE_RATE * SAMPLE_BYTES)

    def _behind(self) -> int:
        """Bytes to decode before the hypothesis is as good as it gets for now: up to
        the newest audio, or in a pause up to `SETTLED_MS` past the last speech."""
        if self._decoding != self._opened:
            return self._inbox.audio_bytes + self._in_flight
        if self._settling():
            return max(0, self._speech_end + SETTLED_BYTES - self._decoded)
        return self._fed - self._decoded

    def _settling(self) -> bool:
        """Whether the open turn is in a pause at least `SETTLED_MS` long: its words
        are those of the `_Settle` marker."""
        return self._fed - self._speech_end >= SETTLED_BYTES

    def feed(self, pcm: bytes, speech: bool = True) -> None:
        if self._inbox.audio_bytes + len(pcm) > MAX_BACKLOG_BYTES:
            self._dropped_bytes += len(pcm)
            return
        pause_before = self._fed - self._speech_end
        self._fed += len(pcm)
        if speech:
            self._speech_end = self._fed
        self._inbox.push(pcm)
        if not speech and pause_before < SETTLED_BYTES <= self._fed - self._speech_end:
            self._inbox.push(_Settle(self._speech_end))

    def close(self) -> asyncio.Future[Transcript]:
        result: asyncio.Future[Transcript] = asyncio.get_running_loop().create_future()
        self._inbox.push(_Close(result))
        return result

    def discard(self) -> None:
        self._inbox.push(_Discard())

    async def run(self) -> None:
        recognizer = await _Recognizer.start()
        try:
            await self._serve(recognizer)
        finally:
            await recognizer.stop()

    async def _serve(self, recognizer: _Recognizer) -> None:
        turn_id = ""
        since_partial = 0
        last_partial = ""
        while True:
            command = await self._inbox.pop()
            if isinstance(command, _Open):
                await recognizer.ask(sphinx.START)
                self._decoding += 1
                self._partial = ""
                self._decoded = 0
                self._settled = None
                turn_id, last_partial = command.turn_id, ""
                since_partial = -command.captions_after_bytes
            elif isinstance(command, bytes):
                self._in_flight = len(command)
                text = await recognizer.ask(sphinx.AUDIO, command)
                self._in_flight = 0
                self._decoded += len(command)
                self._partial = text
                since_partial += len(command)
                if since_partial >= self._partial_bytes and text and text != last_partial:
                    since_partial, last_partial = 0, text
                    await self._send(Caption("candidate", text, final=False, turn_id=turn_id))
            elif isinstance(command, _Settle):
                self._settled = (command.speech_end, self._partial)
            elif isinstance(command, _Close):
                text = await recognizer.ask(sphinx.END) or UNINTELLIGIBLE
                if self._dropped_bytes:
                    log.warning("transcription fell behind; %d bytes skipped", self._dropped_bytes)
                    self._dropped_bytes = 0
                if not command.result.done():
                    command.result.set_result(Transcript(text, text))
            else:
                await recognizer.ask(sphinx.DISCARD)


class UnavailableTranscriber:
    """For a language without a recognizer: a notice caption, a placeholder text."""

    def __init__(self, send: Send, language: str, notice: str) -> None:
        self._send = send
        self._notice = notice
        self._text = f"[transcription unavailable for {language}]"
        self._inbox = _Inbox()

    def open(self, turn_id: str, captions_after_ms: int = 0) -> None:
        self._inbox.push(_Open(turn_id))

    def partial(self) -> str | None:
        """Nothing is recognized."""
        return ""

    def lag_ms(self) -> int:
        """Nothing is decoded."""
        return 0

    def feed(self, pcm: bytes, speech: bool = True) -> None:
        """Audio is not transcribed."""

    def close(self) -> asyncio.Future[Transcript]:
        result: asyncio.Future[Transcript] = asyncio.get_running_loop().create_future()
        result.set_result(Transcript(self._text, self._notice))
        return result

    def discard(self) -> None:
        """Nothing was transcribed."""

    async def run(self) -> None:
        while True:
            command = await self._inbox.pop()
            if isinstance(command, _Open):
                await self._send(Caption("candidate", self._notice, False, command.turn_id))
