"""The recognizer's words for turn-taking: in once the speech is decoded, whatever
pause is still queued behind it. Real PocketSphinx worker, real Flite speech."""

from __future__ import annotations

import asyncio

from audio.frames import SILENCE, split_frames
from gateway.interviewer.local.transcriber import CAUGHT_UP_MS, SphinxTranscriber
from gateway.session.events import CandidateEvent
from tests.controlplane.harness import until
from zenhire.loopback.speech import synthesize
from zenhire.tasks import TaskGroup

PAUSE_FRAMES = 150  # 3 s
WAIT_SEC = 30.0


async def ignore(event: CandidateEvent) -> None:
    """Captions go nowhere here."""


async def is_in(transcriber: SphinxTranscriber) -> bool:
    return transcriber.partial() is not None


async def test_a_queued_pause_does_not_hide_the_words() -> None:
    """A loaded recognizer may still have the pause to decode when the end of turn is
    judged; the words of the speech before it are in all the same."""
    speech = split_frames(synthesize("Let me think.", voice="flite:slt"))[0]
    transcriber = SphinxTranscriber(ignore, 700)
    async with asyncio.timeout(WAIT_SEC), TaskGroup() as group:
        worker = group.create_task(transcriber.run())
        transcriber.open("c1")
        for frame in speech:
            transcriber.feed(frame, speech=True)
        await until(lambda: is_in(transcriber), WAIT_SEC)
        # The pause arrives in one burst: the worker decodes it as one request.
        for _ in range(PAUSE_FRAMES):
            transcriber.feed(SILENCE, speech=False)
        await asyncio.sleep(0)
        assert transcriber.partial() == "let me think"
        assert transcriber.lag_ms() <= CAUGHT_UP_MS
        # Speech after the pause is new audio to decode: not in until decoded.
        for frame in speech:
            transcriber.feed(frame, speech=True)
        assert transcriber.partial() is None
        assert transcriber.lag_ms() > CAUGHT_UP_MS
        await until(lambda: is_in(transcriber), WAIT_SEC)
        assert "think" in (transcriber.partial() or "")
        worker.cancel()
