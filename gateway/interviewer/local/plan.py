"""The interview plan: what the embedded interviewer says, in which order.

Texts are data, one JSON file per language in ``questions/`` (``en.json``,
``es.json``, ...), plus ``roles.json`` mapping keywords of a role name to a
question family. Every question has an ``id`` that is stable across languages
(``eng-03`` asks the same thing in English and in German), so transcripts of
different interviews can be compared question by question.

A plan opens with the general opener (``gen-01``) and continues with the
role family's questions; roles that match no keyword get the general bank.
A persona with custom questions gets exactly those, in their order, under
the same greeting and closing (``Plan.custom``: each question's own time
limit bounds its answer).
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

from gateway.interviewer import Persona, PersonaQuestion, Takeover

DATA_PACKAGE = "gateway.interviewer.local"
DATA_FOLDER = "questions"
ROLES_FILE = "roles.json"
GENERAL = "general"
FAMILIES = (GENERAL, "engineering", "sales", "support", "design", "management")
LANGUAGES = ("en", "es", "de", "fr")
# A persona's role name is integrator data read aloud; keep prompts speakable.
MAX_ROLE_CHARS = 80
# The time limit a catalog question reports (the answer itself is bounded by
# the interviewer's ``max_answer_ms``).
DEFAULT_ANSWER_LIMIT_SEC = 120


@dataclass(frozen=True)
class Question:
    id: str
    text: str


@dataclass(frozen=True)
class Phrases:
    """The fixed lines of one language.

    ``greeting`` has ``{role}`` and ``{questions}``, the latter filled with
    ``questions_one`` or ``questions_other`` (which has ``{count}``).
    ``thinking`` acknowledges a request for time; ``move_on`` ends an answer
    that ran past its limit.
    ``takeover`` opens an interview taken over from another interviewer
    (the candidate's one apology).
    """

    greeting: str
    questions_one: str
    questions_other: str
    acknowledgements: tuple[str, ...]
    follow_up: str
    still_there: str
    thinking: str
    move_on: str
    closing: str
    transcription_unavailable: str
    takeover: str
    # Said first when another replica took the interview over mid-way.
    reconnected: str = ""


@dataclass(frozen=True)
class Plan:
    """Everything one interview will say, already in the persona's language."""

    language: str
    voice: str
    family: str
    greeting: str
    questions: tuple[PersonaQuestion, ...]
    phrases: Phrases
    custom: bool = False

    def taken_over(self, takeover: Takeover) -> Plan:
        """The rest of this plan in an interview another interviewer began: the
        apology instead of the greeting, and only the questions not asked yet.

        Custom questions are matched by id; the other interviewer asks its own
        questions instead of the catalog's, one per answer, so as many catalog
        questions as the candidate gave answers count as asked.
        """
        if self.custom:
            asked = set(takeover.asked_question_ids)
            rest = tuple(q for q in self.questions if q.id not in asked)
        else:
            rest = self.questions[takeover.answers :]
        return dataclasses.replace(self, greeting=self.phrases.takeover, questions=rest)

    def acknowledgement(self, index: int) -> str:
        """The ``index``-th acknowledgement, cycling through the language's list."""
        lines = self.phrases.acknowledgements
        return lines[index % len(lines)]


@dataclass(frozen=True)
class _Language:
    voice: str
    phrases: Phrases
    banks: dict[str, tuple[Question, ...]]


def primary_language(language: str) -> str:
    """``"de-AT"`` → ``"de"``: the primary subtag, lower-cased."""
    return re.split(r"[-_]", language.strip(), maxsplit=1)[0].lower()


class QuestionCatalog:
    """All languages' plans and the role keywords, loaded once from package data."""

    def __init__(self, languages: dict[str, _Language], keywords: dict[str, str]) -> None:
        self._languages = languages
        # Longest keyword first: "account manager" (sales) beats "manager".
        self._keywords = sorted(keywords.items(), key=lambda item: -len(item[0]))

    @classmethod
    def load(cls) -> QuestionCatalog:
        """Read ``questions/*.json``; raise ValueError naming a malformed file."""
        folder = resources.files(DATA_PACKAGE).joinpath(DATA_FOLDER)
        languages = {
            code: _parse_language(code, _read(folder.joinpath(f"{code}.json").read_text("utf-8")))
            for code in LANGUAGES
        }
        roles = _read(folder.joinpath(ROLES_FILE).read_text("utf-8"))
        keywords = {
            word.casefold(): family for family, words in roles["families"].items() for word in words
        }
        return cls(languages, keywords)

    def supports(self, language: str) -> bool:
        return primary_language(language) in self._languages

    def family(self, role_name: str) -> str:
        """The question family whose longest keyword occurs as whole words in ``role_name``."""
        role = role_name.casefold()
        for word, family in self._keywords:
            if re.search(rf"(?<!\w){re.escape(word)}(?!\w)", role):
                return family
        return GENERAL

    def plan(
        self,
        persona: Persona,
        max_questions: int,
        answer_limit_sec: int = DEFAULT_ANSWER_LIMIT_SEC,
    ) -> Plan:
        """The plan for ``persona``; raise KeyError for an unsupported language.

        ``max_questions`` and ``answer_limit_sec`` apply to catalog questions;
        a persona's custom questions are all asked, with their own limits.
        """
        language = self._languages[primary_language(persona.language)]
        family = self.family(persona.role_name)
        if persona.questions:
            questions = persona.questions
        else:
            opener, *general_rest = language.banks[GENERAL]
            rest = tuple(general_rest) if family == GENERAL else language.banks[family]
            questions = tuple(
                PersonaQuestion(q.id, q.text, GENERAL if i == 0 else family, answer_limit_sec)
                for i, q in enumerate((opener, *rest)[:max_questions])
            )
        role = " ".join(persona.role_name.split())[:MAX_ROLE_CHARS]
        phrases = language.phrases
        count = len(questions)
        amount = phrases.questions_one if count == 1 else phrases.questions_other
        greeting = phrases.greeting.format(role=role, questions=amount.format(count=count))
        return Plan(
            language=primary_language(persona.language),
            voice=language.voice,
            family=family,
            greeting=greeting,
            questions=questions,
            phrases=phrases,
            custom=bool(persona.questions),
        )


def _read(text: str) -> dict[str, Any]:
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("question data must be a JSON object")
    return data


def _parse_language(code: str, data: dict[str, Any]) -> _Language:
    try:
        phrases = data["phrases"]
        banks = {
            family: tuple(Question(str(q["id"]), str(q["text"])) for q in data["questions"][family])
            for family in FAMILIES
        }
        parsed = _Language(
            voice=str(data["voice"]),
            phrases=Phrases(
                greeting=str(phrases["greeting"]),
                questions_one=str(phrases["questions_one"]),
                questions_other=str(phrases["questions_other"]),
                acknowledgements=tuple(str(line) for line in phrases["acknowledgements"]),
                follow_up=str(phrases["follow_up"]),
                still_there=str(phrases["still_there"]),
                thinking=str(phrases["thinking"]),
                move_on=str(phrases["move_on"]),
                closing=str(phrases["closing"]),
                transcription_unavailable=str(phrases["transcription_unavailable"]),
                takeover=str(phrases["takeover"]),
                reconnected=str(phrases["reconnected"]),
            ),
            banks=banks,
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"questions/{code}.json is malformed: {exc!r}") from exc
    if not parsed.phrases.acknowledgements or not all(parsed.banks.values()):
        raise ValueError(f"questions/{code}.json has an empty list")
    return parsed
