"""The embedded interviewer's plan, languages, voice and settings (no live audio)."""

from __future__ import annotations

import json
import time
from contextlib import aclosing
from importlib import resources

import pytest

from audio.frames import SAMPLE_BYTES
from gateway.interviewer import InterviewPlanContext, Persona, PersonaQuestion, Takeover
from gateway.interviewer.local.interviewer import LocalInterviewerFactory, LocalInterviewerSettings
from gateway.interviewer.local.plan import FAMILIES, LANGUAGES, QuestionCatalog
from gateway.interviewer.local.voice import SynthesisError, Voice, split_sentences

FIRST_AUDIO_BUDGET_SEC = 0.3


@pytest.fixture(scope="module")
def catalog() -> QuestionCatalog:
    return QuestionCatalog.load()


def persona(role: str, language: str = "en") -> Persona:
    return Persona(id="p-1", role_name=role, language=language)


@pytest.mark.parametrize(
    ("role", "family"),
    [
        ("Senior Software Engineer", "engineering"),
        ("Backend Developer (Python)", "engineering"),
        ("Account Executive", "sales"),
        ("Account Manager", "sales"),
        ("Customer Support Specialist", "support"),
        ("Product Designer", "design"),
        ("UX Researcher", "design"),
        ("Engineering Manager", "management"),
        ("Head of Operations", "management"),
        ("Desarrollador de software", "engineering"),
        ("Ingénieur logiciel", "engineering"),
        ("Barista", "general"),
        ("", "general"),
    ],
)
def test_role_keywords_choose_the_family(catalog: QuestionCatalog, role: str, family: str) -> None:
    """The longest keyword found as whole words wins; no keyword means the general bank."""
    assert catalog.family(role) == family


def test_keywords_match_whole_words_only(catalog: QuestionCatalog) -> None:
    """ "ui" inside "Building Inspector" is not a design role."""
    assert catalog.family("Building Inspector") == "general"


def test_plan_greets_with_the_role_and_asks_role_questions(catalog: QuestionCatalog) -> None:
    plan = catalog.plan(persona("Senior Software Engineer"), max_questions=6)
    assert "Senior Software Engineer" in plan.greeting
    assert "6 questions" in plan.greeting
    ids = [q.id for q in plan.questions]
    assert ids[0] == "gen-01"
    assert ids[1:] == ["eng-01", "eng-02", "eng-03", "eng-04", "eng-05"]


def test_general_fallback_plan_has_seven_distinct_questions(catalog: QuestionCatalog) -> None:
    plan = catalog.plan(persona("Lighthouse Keeper"), max_questions=7)
    ids = [q.id for q in plan.questions]
    assert len(ids) == len(set(ids)) == 7
    assert all(i.startswith("gen-") for i in ids)


def test_every_language_has_the_same_question_ids() -> None:
    """A question id means the same question in every language."""
    folder = resources.files("gateway.interviewer.local").joinpath("questions")
    banks = {
        code: {
            family: [
                q["id"]
                for q in json.loads(folder.joinpath(f"{code}.json").read_text())["questions"][
                    family
                ]
            ]
            for family in FAMILIES
        }
        for code in LANGUAGES
    }
    assert all(bank == banks["en"] for bank in banks.values())


def test_plan_speaks_the_persona_language(catalog: QuestionCatalog) -> None:
    plan = catalog.plan(persona("Vendedor", "es-MX"), max_questions=5)
    assert (plan.language, plan.voice, plan.family) == ("es", "es", "sales")
    assert "Vendedor" in plan.greeting and "5 preguntas" in plan.greeting


def test_factory_supports_exactly_en_es_de_fr() -> None:
    factory = LocalInterviewerFactory()
    assert all(factory.supports_language(code) for code in ("en", "en-US", "es", "de", "fr"))
    assert not any(factory.supports_language(code) for code in ("it", "pt-BR", "", "english"))
    context = InterviewPlanContext("s-1", persona("Engineer", "it"), 1800, 60)
    with pytest.raises(ValueError, match="'it'"):
        factory.create(context)


def test_settings_reject_nonsense() -> None:
    with pytest.raises(ValueError, match="max_questions"):
        LocalInterviewerSettings(max_questions=0)
    with pytest.raises(ValueError, match="echo_warmup_ms"):
        LocalInterviewerSettings(echo_warmup_ms=-1)
    with pytest.raises(ValueError, match="end_of_turn_silence_ms"):
        LocalInterviewerSettings(end_of_turn_silence_ms=0)


def test_prompts_split_into_sentences() -> None:
    text = "Thank you. Walk me through it! What was your part? ¿Y usted? Fini ?"
    assert split_sentences(text) == [
        "Thank you.",
        "Walk me through it!",
        "What was your part?",
        "¿Y usted?",
        "Fini ?",
    ]


@pytest.mark.parametrize("voice", ["en-us", "es", "de", "fr-fr"])
async def test_voice_streams_24khz_audio_fast(voice: str) -> None:
    """The first chunk of a sentence arrives well within the 300 ms budget."""
    started = time.monotonic()
    first_at = None
    total = 0
    async with aclosing(Voice(voice, 165).stream("Hello, one two three.")) as chunks:
        async for pcm in chunks:
            first_at = first_at or time.monotonic() - started
            assert len(pcm) % SAMPLE_BYTES == 0
            total += len(pcm)
    assert first_at is not None and first_at < FIRST_AUDIO_BUDGET_SEC
    assert 0.5 < total / SAMPLE_BYTES / 24_000 < 5.0


async def test_missing_synthesizer_is_a_synthesis_error() -> None:
    voice = Voice("en-us", 165, executable="/nonexistent/espeak-ng")
    with pytest.raises(SynthesisError, match="cannot run"):
        async with aclosing(voice.stream("Hello.")) as chunks:
            async for _ in chunks:
                pass


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_taken_over_plan_apologises_and_skips_what_was_answered(
    catalog: QuestionCatalog, language: str
) -> None:
    plan = catalog.plan(persona("Backend Engineer", language), max_questions=4)
    rest = plan.taken_over(Takeover(asked_question_ids=(), answers=1))
    assert rest.greeting == plan.phrases.takeover and rest.greeting
    assert rest.questions == plan.questions[1:]


def test_a_taken_over_plan_of_custom_questions_skips_those_asked(
    catalog: QuestionCatalog,
) -> None:
    custom = tuple(
        PersonaQuestion(f"custom-{i}", f"Question {i}?", "general", 60) for i in (1, 2, 3)
    )
    plan = catalog.plan(Persona("p-1", "Engineer", "en", custom), max_questions=4)
    rest = plan.taken_over(Takeover(asked_question_ids=("custom-1", "custom-2"), answers=1))
    assert [q.id for q in rest.questions] == ["custom-3"]
