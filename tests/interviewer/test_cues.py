"""What the recognizer's words say about the floor, in each language of the plan."""

from __future__ import annotations

import pytest

from gateway.interviewer import Persona
from gateway.interviewer.local.cues import (
    THINKING_PHRASES,
    Cue,
    is_backchannel,
    is_interruption,
    read_cue,
)
from gateway.interviewer.local.plan import LANGUAGES, QuestionCatalog


@pytest.mark.parametrize(
    ("text", "language", "cue"),
    [
        ("i worked on billing for three years and", "en", Cue.HOLD),
        ("we chose it because", "en", Cue.HOLD),
        ("my first job was at an agency um", "en", Cue.HOLD),
        ("my first job was at an agency i'm", "en", Cue.HOLD),  # "um", as the dictionary spells it
        ("i'm", "en", Cue.HOLD),
        ("the one sec", "en", Cue.THINKING),  # the recognizer's "One second." by a fan
        ("i'm glad i stayed", "en", Cue.NONE),
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


@pytest.mark.parametrize(
    ("language", "phrase"),
    [(language, phrase) for language, phrases in THINKING_PHRASES.items() for phrase in phrases],
)
def test_every_request_for_time_of_every_language_is_heard(language: str, phrase: str) -> None:
    """Alone, or with a word after it ("let me think about it"): a request for time."""
    assert read_cue(phrase, language) is Cue.THINKING
    assert read_cue(f"hmm {phrase} please", language) is Cue.THINKING


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_acknowledges_a_request_for_time_in_its_own_words(language: str) -> None:
    """The interviewer's answer to "let me think" and its move-on line, per language."""
    phrases = QuestionCatalog.load().plan(Persona("p-1", "Engineer", language), 1).phrases
    english = QuestionCatalog.load().plan(Persona("p-1", "Engineer", "en"), 1).phrases
    assert phrases.thinking and phrases.move_on
    if language != "en":
        assert (phrases.thinking, phrases.move_on) != (english.thinking, english.move_on)
