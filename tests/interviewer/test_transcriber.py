"""The recognizer's words for turn-taking: in once the speech and the pause's first
`SETTLED_MS` are decoded, whatever of the pause is still queued behind them, and
not what it makes of the pause's room noise. Real PocketSphinx worker, real Flite
speech, Silero's verdicts."""

from __future__ import annotations

import asyncio

from audio.frames import FRAME_MS, SILENCE, split_frames
from audio.models import SILERO_VAD_FILE
from audio.silero import SileroModel, SileroVad
from gateway.interviewer.local.cues import Cue, read_cue
from gateway.interviewer.local.listener import PREROLL_MS
from gateway.interviewer.local.transcriber import CAUGHT_UP_MS, SphinxTranscriber
from gateway.session.events import CandidateEvent
from tests.audio.models import require
from tests.controlplane.harness import until
from zenhire.bench.corpus import Microphone, frames, speech
from zenhire.loopback.speech import synthesize
from zenhire.tasks import TaskGroup

PAUSE_FRAMES = 150  # 3 s
PREROLL_FRAMES = PREROLL_MS // FRAME_MS
WAIT_SEC = 30.0


async def ignore(event: CandidateEvent) -> None:
    """Captions go nowhere here."""


async def is_in(transcriber: SphinxTranscriber) -> bool:
    return transcriber.partial() is not None


async def test_a_queued_pause_does_not_hide_the_words() -> None:
    """A loaded recognizer may still have the pause to decode when the end of turn is
    judged; the words of the speech before it are in once its first moment is."""
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
        # In once the pause's first `SETTLED_MS` are decoded.
        await until(lambda: is_in(transcriber), WAIT_SEC)
        assert transcriber.partial() == "let me think"
        assert transcriber.lag_ms() == 0
        # Speech after the pause is new audio to decode: not in until decoded.
        for frame in speech:
            transcriber.feed(frame, speech=True)
        assert transcriber.partial() is None
        assert transcriber.lag_ms() > CAUGHT_UP_MS
        await until(lambda: is_in(transcriber), WAIT_SEC)
        assert "think" in (transcriber.partial() or "")
        worker.cancel()


async def test_the_words_of_a_pause_are_not_what_the_room_noise_adds() -> None:
    """By a fan, decoding on into the pause turns "one second" into "one check
    engine": the words are those heard just past the speech."""
    microphone = Microphone("fan")
    said = [SILENCE] * 60 + frames(speech("One second.", "flite:rms")) + [SILENCE] * PAUSE_FRAMES
    heard = [microphone.frame(frame) for frame in said]
    vad = SileroVad(SileroModel(require(SILERO_VAD_FILE)))
    verdicts = [vad.process(frame).is_speech for frame in heard]
    first = verdicts.index(True)
    transcriber = SphinxTranscriber(ignore, 700)
    async with asyncio.timeout(WAIT_SEC), TaskGroup() as group:
        worker = group.create_task(transcriber.run())
        transcriber.open("c1")
        # As the frame loop feeds a turn: its pre-roll as speech, then each frame
        # with the VAD's verdict.
        for frame in heard[first - PREROLL_FRAMES : first]:
            transcriber.feed(frame)
        for frame, is_speech in zip(heard[first:], verdicts[first:], strict=True):
            transcriber.feed(frame, speech=is_speech)
        await until(lambda: is_in(transcriber), WAIT_SEC)
        assert read_cue(transcriber.partial() or "", "en") is Cue.THINKING
        # What the recognizer made of the whole pause: the problem is real.
        whole = await transcriber.close()
        assert read_cue(whole.text, "en") is not Cue.THINKING
        worker.cancel()
