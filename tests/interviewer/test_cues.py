"""What the recognizer's words say about the floor, in each language of the plan."""

from __future__ import annotations

import pytest

from gateway.interviewer.local.cues import Cue, is_backchannel, is_interruption, read_cue


@pytest.mark.parametrize(
    ("text", "language", "cue"),
    [
        ("i worked on billing for three years and", "en", Cue.HOLD),
        ("we chose it because", "en", Cue.HOLD),
        ("my first job was at an agency um", "en", Cue.HOLD),
        ("i worked on billing for three years", "en", Cue.NONE),
        ("let me think", "en", Cue.THINKING),
        ("hmm give me a moment please", "en", Cue.THINKING),
        ("one second", "en", Cue.THINKING),
        ("let me think about it and then we talked about the whole plan for days", "en", Cue.NONE),
        ("déjame pensar", "es", Cue.THINKING),
        ("trabajé allí porque", "es", Cue.HOLD),
        ("einen moment bitte", "de", Cue.THINKING),
        ("ich habe dort gearbeitet und", "de", Cue.HOLD),
        ("laissez-moi réfléchir", "fr", Cue.THINKING),
        ("j'ai travaillé là-bas mais", "fr", Cue.HOLD),
        ("", "en", Cue.NONE),
        ("we think", "en", Cue.THINKING),
        ("let me think", "xx", Cue.NONE),
    ],
)
def test_words_give_the_cue(text: str, language: str, cue: Cue) -> None:
    assert read_cue(text, language) is cue


@pytest.mark.parametrize("text", ["mm-hm", "okay", "right", "yeah", "uh huh", "i see", ""])
def test_listener_tokens_are_backchannels(text: str) -> None:
    assert is_backchannel(text, "en")


@pytest.mark.parametrize(
    "text", ["wait", "sorry could you repeat that", "stop", "okay but what do you mean"]
)
def test_words_of_an_interruption_are_not_backchannels(text: str) -> None:
    assert not is_backchannel(text, "en")


@pytest.mark.parametrize(
    ("text", "interrupts"),
    [("wait", True), ("sorry could you", True), ("so cute", False), ("okay", False), ("", False)],
)
def test_only_words_of_interruption_confirm_a_short_burst(text: str, interrupts: bool) -> None:
    assert is_interruption(text, "en") is interrupts
