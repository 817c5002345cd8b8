"""Saying one prompt: synthesis into the playout, with barge-in and resume.

`Speaker.say` captions the prompt (the moment the interviewer decides to
speak), then plays it sentence by sentence: each sentence's synthesizer
starts when the previous one is queued, and its audio streams into
`Conversation.play` as it is produced; a sentence prepared ahead
(`PreparedVoice`, see `prepare`) is queued at once. While it plays, the
`Listener` may cut it (barge-in); `say` then waits for the listener's
verdict: a false interruption resumes the prompt from the start of the
sentence that was cut, a real one ends it.
"""

from __future__ import annotations

import asyncio
import bisect
from contextlib import aclosing
from dataclasses import dataclass, field

from audio.frames import SAMPLE_BYTES, SAMPLE_RATE
from gateway.interviewer import Conversation
from gateway.interviewer.local.listener import Listener
from gateway.interviewer.local.prepared import PreparedVoice
from gateway.interviewer.local.timing import ReplyTiming, now
from gateway.interviewer.local.voice import split_sentences
from gateway.session.events import Caption, State, TalkState
from zenhire.tasks import TaskGroup

BYTES_PER_MS = SAMPLE_RATE * SAMPLE_BYTES // 1000


@dataclass(frozen=True)
class Spoken:
    """A prompt on the recording's timeline; ``interrupted``: cut by the candidate;
    ``heard``: any of its audio was played (a reply dropped before it was is not)."""

    start_ms: int
    end_ms: int
    interrupted: bool
    heard: bool = True


@dataclass
class _Playback:
    """One run of a prompt's audio; the listener's handle on it (`Interruptible`)."""

    conversation: Conversation
    verdict: asyncio.Future[bool]
    player: asyncio.Task[None] | None = None
    started_ms: int | None = None
    # Where each sentence starts, in ms of this run's audio.
    sentence_offsets: list[int] = field(default_factory=list)
    cut_played_ms: int | None = None
    cut_at_ms: int = 0

    def cut(self) -> None:
        # Cancel the producer before dropping the queue, so no chunk it was
        # about to queue can slip in after the cut.
        if self.player is not None:
            self.player.cancel()
        self.cut_played_ms = self.conversation.stop_playback()
        self.cut_at_ms = self.conversation.now_ms()

    def resolve(self, resume: bool) -> None:
        if not self.verdict.done():
            self.verdict.set_result(resume)

    def resume_sentence(self) -> int:
        """Index (in this run) of the sentence the cut fell in."""
        played = self.cut_played_ms or 0
        return max(0, bisect.bisect_right(self.sentence_offsets, played) - 1)


class Speaker:
    def __init__(
        self, conversation: Conversation, voice: PreparedVoice, listener: Listener
    ) -> None:
        self._conversation = conversation
        self._voice = voice
        self._listener = listener

    def prepare(self, *texts: str) -> None:
        """Synthesize what may be said next ahead, most likely first. Never blocks."""
        self._voice.prepare(*texts)

    async def say(self, text: str, turn_id: str, timing: ReplyTiming | None = None) -> Spoken:
        """Speak ``text``; return once it was heard to the end or cut for good.

        ``timing`` (a reply's) gets when synthesis started and the first audio
        was queued."""
        conversation = self._conversation
        await conversation.send(Caption("interviewer", text, final=True, turn_id=turn_id))
        sentences = split_sentences(text)
        if timing is not None:
            timing.prepared = self._voice.is_prepared(text)
        start_ms: int | None = None
        heard = False
        while sentences:
            playback = await self._play_run(sentences, timing)
            timing = None
            if start_ms is None:
                start_ms = playback.started_ms
            heard = heard or playback.cut_played_ms != 0
            if playback.cut_played_ms is None:
                break
            if not playback.verdict.result():
                at = playback.cut_at_ms
                return Spoken(at if start_ms is None else start_ms, at, True, heard)
            sentences = sentences[playback.resume_sentence() :]
        end_ms = conversation.now_ms()
        return Spoken(end_ms if start_ms is None else start_ms, end_ms, interrupted=False)

    async def _play_run(self, sentences: list[str], timing: ReplyTiming | None) -> _Playback:
        """Play ``sentences`` until done, or until cut and the verdict is in."""
        loop = asyncio.get_running_loop()
        playback = _Playback(self._conversation, loop.create_future())
        self._conversation.mark_item()
        async with TaskGroup() as group:
            playback.player = group.create_task(self._play(sentences, playback, timing))
            self._listener.watch(playback)
            try:
                await asyncio.wait(
                    (playback.player, playback.verdict), return_when=asyncio.FIRST_COMPLETED
                )
                if playback.cut_played_ms is not None:
                    await playback.verdict
            finally:
                self._listener.watch(None)
        return playback

    async def _play(
        self, sentences: list[str], playback: _Playback, timing: ReplyTiming | None
    ) -> None:
        conversation = self._conversation
        queued_bytes = 0
        if timing is not None:
            timing.synthesis_started = now()
        for sentence in sentences:
            playback.sentence_offsets.append(queued_bytes // BYTES_PER_MS)
            async with aclosing(self._voice.stream(sentence)) as chunks:
                async for pcm in chunks:
                    first = playback.started_ms is None
                    if first:
                        playback.started_ms = conversation.now_ms()
                    await conversation.play(pcm)
                    if first and timing is not None:
                        timing.first_audio = now()
                    queued_bytes += len(pcm)
                    if first:
                        await conversation.send(State(TalkState.SPEAKING))
        await conversation.drain()
