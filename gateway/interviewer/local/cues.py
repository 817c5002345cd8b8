"""What the candidate's words say about the floor: hold on, thinking, backchannel.

The recognizer's partial hypothesis of the open turn is read at three
moments of turn-taking (`TurnTracker`), and `read_cue` answers what it
signals:

- ``HOLD``: the words so far end on a conjunction or a filler ("and",
  "because", "um"): the candidate is still going, whatever the pause;
- ``THINKING``: the words end on a request for time ("let me think", "give
  me a moment", "one second"): the interviewer acknowledges and waits;
- ``NONE``: nothing in the words; prosody (the end-of-turn model) decides.

`is_interruption` tells a real interruption ("wait", "sorry", "stop") from
a listener's token ("mm-hm", "okay", "right"): a short burst counts as a
backchannel unless its words say otherwise, because the recognizer makes
unpredictable words of such tokens. Phrases exist for every language of the plan; only
English has a recognizer today (`TRANSCRIBED_LANGUAGES`), so in the other
languages the hypothesis is always empty and the cues never fire.
"""

from __future__ import annotations

import enum
import re

# How many of the last words a thinking phrase may be followed by ("let me
# think about that"), so a phrase said early in a long answer does not count.
THINKING_TAIL_WORDS = 3


class Cue(enum.Enum):
    NONE = "none"
    HOLD = "hold"
    THINKING = "thinking"


HOLDING_WORDS = {
    # "i'm": the recognizer's dictionary gives "I'm" the sound of "um" (AH M)
    # and often writes the filler so; "I'm" itself never ends a sentence.
    "en": frozenset({"and", "but", "because", "so", "um", "uh", "or", "then", "like", "i'm"}),
    "es": frozenset({"y", "pero", "porque", "entonces", "o", "eh", "este", "pues"}),
    "de": frozenset({"und", "aber", "weil", "also", "oder", "ähm", "äh", "dann"}),
    "fr": frozenset({"et", "mais", "parce", "donc", "ou", "euh", "alors", "puis"}),
}
THINKING_PHRASES = {
    "en": (
        "let me think",
        "give me a moment",
        "give me a second",
        "one second",
        "one moment",
        "just a moment",
        "just a second",
        "one sec",
        "just a sec",
    ),
    "es": ("déjame pensar", "déjeme pensar", "un momento", "un segundo", "dame un momento"),
    "de": ("lass mich nachdenken", "einen moment", "eine sekunde", "moment mal", "kurz überlegen"),
    "fr": (
        "laissez-moi réfléchir",
        "laisse-moi réfléchir",
        "un instant",
        "une seconde",
        "un moment",
    ),
}
# Final words that ask for time on their own, as the recognizer often hears
# only the end of the phrase ("we think" for "let me think").
THINKING_LAST_WORDS = {
    "en": frozenset({"think", "moment", "second"}),
    "es": frozenset({"momento", "segundo", "pensar"}),
    "de": frozenset({"moment", "sekunde", "nachdenken", "überlegen"}),
    "fr": frozenset({"instant", "seconde", "réfléchir", "moment"}),
}
INTERRUPTION_WORDS = {
    "en": frozenset(
        {"wait", "sorry", "stop", "excuse", "pardon", "repeat", "again", "question", "hold"}
        | {"what", "mean", "hang", "actually", "no"}
    ),
    "es": frozenset({"perdón", "espere", "disculpe", "repetir", "pregunta", "no", "qué"}),
    "de": frozenset({"entschuldigung", "moment", "warten", "stopp", "wiederholen", "nein", "was"}),
    "fr": frozenset({"pardon", "attendez", "excusez", "répéter", "question", "non", "quoi"}),
}
BACKCHANNEL_WORDS = {
    "en": frozenset(
        {"mm", "hm", "mhm", "uh", "huh", "um", "okay", "ok", "right", "yeah", "yes", "yep", "sure"}
        | {"i", "see", "alright", "got", "it", "oh", "ah", "a", "hmm"}
    ),
    "es": frozenset({"sí", "vale", "claro", "ajá", "mm", "bueno", "ya"}),
    "de": frozenset({"ja", "okay", "genau", "mhm", "mm", "richtig", "gut", "aha"}),
    "fr": frozenset({"oui", "d'accord", "ok", "okay", "mm", "ouais", "bien", "ah"}),
}
# A backchannel is a token, not a sentence: more words than this is speech.
BACKCHANNEL_MAX_WORDS = 3

_WORD = re.compile(r"[\w'-]+")


def words(text: str) -> list[str]:
    """The lower-cased words of ``text``, hyphenated tokens split ("mm-hm" → mm, hm)."""
    return [part for token in _WORD.findall(text.casefold()) for part in token.split("-") if part]


def read_cue(text: str, language: str) -> Cue:
    """What the partial hypothesis ``text`` of an open turn signals in ``language``."""
    said = words(text)
    if not said:
        return Cue.NONE
    if any(_ends_near(said, words(p)) for p in THINKING_PHRASES.get(language, ())):
        return Cue.THINKING
    if said[-1] in THINKING_LAST_WORDS.get(language, frozenset()):
        return Cue.THINKING
    if said[-1] in HOLDING_WORDS.get(language, frozenset()):
        return Cue.HOLD
    return Cue.NONE


def _ends_near(said: list[str], phrase: list[str]) -> bool:
    """Whether ``phrase`` (as words: "laissez-moi" is two) is said, followed by at
    most `THINKING_TAIL_WORDS` words."""
    n = len(phrase)
    last_start = len(said) - n
    first_start = max(0, last_start - THINKING_TAIL_WORDS)
    return any(said[at : at + n] == phrase for at in range(last_start, first_start - 1, -1))


def is_backchannel(text: str, language: str) -> bool:
    """Whether ``text`` (a short burst's hypothesis) is only a listener's token.

    Empty text (a cough, a sound the recognizer made nothing of) counts as one.
    """
    said = words(text)
    known = BACKCHANNEL_WORDS.get(language, frozenset())
    return len(said) <= BACKCHANNEL_MAX_WORDS and all(word in known for word in said)


def is_interruption(text: str, language: str) -> bool:
    """Whether a short burst's hypothesis ``text`` holds a word of interruption."""
    return any(word in INTERRUPTION_WORDS.get(language, frozenset()) for word in words(text))
