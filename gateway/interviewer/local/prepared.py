"""Prompts synthesized ahead, so a reply's first audio is ready when it is chosen.

While the candidate answers, the interview knows what it will most likely
say next (the acknowledgement and the next question) and what else it
might (the follow-up, "take your time", "are you still there?", the
move-on line). `PreparedVoice.prepare` queues those sentences; `run`, a
sibling task of the interview, synthesizes them one at a time into memory;
`stream` yields a prepared sentence's audio at once (one still being
prepared as it is produced) and synthesizes any other live with the
`Voice`. Either way a sentence is one eSpeak NG run, so it sounds the same.

Bounds: a sentence longer than `MAX_PREPARED_CHARS` is never prepared, and
at most `MAX_PREPARED_BYTES` of audio is held per interview: past it, the
least recently used sentences are dropped (synthesized live if said).
A synthesis that fails while preparing is logged and dropped; saying that
sentence then synthesizes it live, so a broken synthesizer still fails the
interview where it did before. One that fails while being said from its
preparation raises `SynthesisError` as a live one would.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict, deque
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass, field

from gateway.interviewer.local.voice import SynthesisError, Voice, split_sentences

log = logging.getLogger("zenhire.interviewer")

# About 40 s of 24 kHz PCM16: the likely next prompt and the usual
# alternatives, a few times over.
MAX_PREPARED_BYTES = 2_000_000
# About 40 s of speech at the default rate; a custom question past it is said live.
MAX_PREPARED_CHARS = 600
# Preparing is a guess, so it yields the core to what is needed now: the frame
# loop, Smart Turn and a prompt being said (the gateway's priority), and the
# recognizer (`sphinx.NICENESS`, 10), whose words decide a pause. A burst of
# preparing at a turn's start otherwise left the recognizer 0.9 to 2.3 s
# behind at the verdict on a short turn ("let me think"), one interview on
# the gateway's core, so the words did not count. A prompt said while it is
# still being prepared goes on at this priority (a process may not raise its
# child's again): eSpeak NG runs tens of times faster than real time, and
# still many times faster with a quarter of a core.
PREPARING_NICENESS = 15


@dataclass
class _Take:
    """One sentence's audio, complete once ``done`` (``failed``: it is not usable)."""

    chunks: list[bytes] = field(default_factory=list)
    nbytes: int = 0
    done: bool = False
    failed: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, pcm: bytes) -> None:
        self.chunks.append(pcm)
        self.nbytes += len(pcm)
        self.changed.set()

    def finish(self, failed: bool) -> None:
        self.done, self.failed = True, failed
        self.changed.set()


class PreparedVoice:
    """A `Voice` with sentences synthesized ahead (see the module docstring)."""

    def __init__(self, voice: Voice, max_bytes: int = MAX_PREPARED_BYTES) -> None:
        self.voice = voice
        self._max_bytes = max_bytes
        self._takes: OrderedDict[str, _Take] = OrderedDict()
        self._queue: deque[str] = deque()
        self._wake = asyncio.Event()

    def prepare(self, *texts: str) -> None:
        """Synthesize the sentences of ``texts`` ahead, in this order. Never blocks."""
        for text in texts:
            for sentence in split_sentences(text):
                known = sentence in self._takes or sentence in self._queue
                if not known and len(sentence) <= MAX_PREPARED_CHARS:
                    self._queue.append(sentence)
        if self._queue:
            self._wake.set()

    def is_prepared(self, text: str) -> bool:
        """Whether the first sentence of ``text`` is prepared (or being prepared)."""
        sentences = split_sentences(text)
        take = self._takes.get(sentences[0]) if sentences else None
        return take is not None and not take.failed

    async def stream(self, sentence: str) -> AsyncGenerator[bytes, None]:
        """Yield ``sentence`` spoken (as `Voice.stream`), from its preparation if any."""
        take = self._takes.get(sentence)
        if take is None or take.failed:
            if sentence in self._queue:
                self._queue.remove(sentence)  # needed now: not worth a second run
            async with aclosing(self.voice.stream(sentence)) as chunks:
                async for pcm in chunks:
                    yield pcm
            return
        self._takes.move_to_end(sentence)
        sent = 0
        while True:
            while sent < len(take.chunks):
                yield take.chunks[sent]
                sent += 1
            if take.done:
                break
            take.changed.clear()
            await take.changed.wait()
        if take.failed:
            raise SynthesisError("the synthesizer failed on a prepared sentence")

    async def run(self) -> None:
        """Prepare queued sentences one at a time until cancelled."""
        while True:
            while not self._queue:
                self._wake.clear()
                await self._wake.wait()
            sentence = self._queue.popleft()
            take = self._takes[sentence] = _Take()
            failed = True
            try:
                async with aclosing(self.voice.stream(sentence, PREPARING_NICENESS)) as chunks:
                    async for pcm in chunks:
                        take.add(pcm)
                failed = False
            except SynthesisError:
                log.warning("preparing a prompt failed: it is synthesized when said", exc_info=True)
            finally:
                take.finish(failed)
                if failed:
                    self._takes.pop(sentence, None)
            self._evict()

    def _evict(self) -> None:
        held = sum(take.nbytes for take in self._takes.values())
        while held > self._max_bytes and self._takes:
            _, oldest = self._takes.popitem(last=False)
            held -= oldest.nbytes
