"""Smart Turn on real (synthesized) speech: finished answers score above unfinished ones."""

from __future__ import annotations

from functools import cache

import pytest

from audio.endofturn import COMPLETE_THRESHOLD, EndOfTurnModel
from audio.frames import SAMPLE_RATE
from audio.models import SILERO_VAD_FILE, SMART_TURN_FILE, ModelError
from tests.audio.models import require
from zenhire.loopback.speech import synthesize

LEAD_IN = bytes(SAMPLE_RATE // 2 * 2)  # 500 ms
TRAILING = bytes(SAMPLE_RATE // 5 * 2)  # 200 ms, as after a short pause detector
# The same answer finished, and trailing off into a filler or a conjunction:
# eSpeak NG's prosody is flat, so these words carry the difference.
PAIRS = [
    (
        "I led the migration of our billing system to the cloud.",
        "I led the migration of our billing system to the cloud and then um",
    ),
    ("Yes, I enjoyed that project a lot.", "Yes, I enjoyed that project a lot because"),
]
VOICES = ["en-us", "en-gb"]


@cache
def model() -> EndOfTurnModel:
    return EndOfTurnModel(require(SMART_TURN_FILE))


def score(text: str, voice: str) -> float:
    return model().probability(LEAD_IN + synthesize(text, voice=voice) + TRAILING)


@pytest.mark.parametrize("voice", VOICES)
@pytest.mark.parametrize(("finished", "unfinished"), PAIRS, ids=["um", "because"])
def test_finished_answer_scores_complete_and_trailing_off_does_not(
    finished: str, unfinished: str, voice: str
) -> None:
    done, pending = score(finished, voice), score(unfinished, voice)
    assert done >= COMPLETE_THRESHOLD > pending
    assert done - pending > 0.5


def test_only_the_last_eight_seconds_count() -> None:
    """Speech more than 8 s before the end does not change the verdict."""
    finished, unfinished = PAIRS[0]
    tail = LEAD_IN + synthesize(unfinished) + TRAILING
    padding = bytes(9 * SAMPLE_RATE * 2 - len(tail))
    early = synthesize(finished) + padding + tail
    assert model().probability(early) == pytest.approx(
        model().probability(padding + tail), abs=1e-3
    )


def test_silence_is_a_probability() -> None:
    assert 0.0 <= model().probability(b"") <= 1.0


def test_another_model_is_refused() -> None:
    with pytest.raises(ModelError):
        EndOfTurnModel(require(SILERO_VAD_FILE))
