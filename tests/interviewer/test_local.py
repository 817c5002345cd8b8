"""The embedded interviewer holding real interviews against a scripted candidate.

Real eSpeak NG speaks for both sides, real PocketSphinx transcribes; the
`ConversationDriver` runs the session's clock faster than real time. Timing
assertions use frame time (``t_ms``) except the first-audio budget, which is
wall-clock time by definition.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import statistics
from functools import cache

import pytest

from audio.frames import FRAME_MS, SAMPLE_BYTES, SAMPLE_RATE, split_frames
from audio.level import rms_dbfs
from gateway.interviewer import InterviewPlanContext, Outcome, Persona
from gateway.interviewer.local.interview import INTERRUPTED_MARK
from gateway.interviewer.local.interviewer import LocalInterviewerFactory, LocalInterviewerSettings
from gateway.session.events import Caption, State, TalkState
from tests.conversation_driver import ConversationDriver, Cue, ScriptedCandidate
from tests.processes import child_processes
from zenhire.loopback.speech import synthesize

WALL_LIMIT_SEC = 60.0
WRAP_UP_SEC = 60
FAST_TICK_SEC = 0.0025  # 8x real time, for tests without speech recognition
FIRST_AUDIO_BUDGET_SEC = 0.3
BARGE_IN_BUDGET_MS = 200
GREETING, FIRST_QUESTION, SECOND_QUESTION = 1, 2, 3
# Quick interviewer speech keeps the tests short; turn-taking is unchanged.
# Answers of the scripted candidate are short; 1 s keeps follow-ups out of the way.
QUICK = LocalInterviewerSettings(max_questions=1, tts_words_per_minute=260, short_answer_ms=1000)
VOICED_DBFS = -30.0
ENGLISH_ANSWERS = (
    "I write software for hospitals.",
    "I like to work with people and I like to learn.",
)
# Words PocketSphinx reliably gets from eSpeak's voice (it is rough on the rest).
KEY_WORDS = {"write", "software", "hospitals", "like", "work", "people", "learn"}
LONG_ANSWER = "I have worked as a software engineer for five years, mostly on web services."
NOTICES = {
    "es": "La transcripción en directo no está disponible en español.",
    "de": "Die Live-Transkription ist auf Deutsch nicht verfügbar.",
    "fr": "La transcription en direct n'est pas disponible en français.",
}
# Frame time the interviewer may take to react at the fast tick (wall ms x 8).
SLACK_MS = 200
# After `run` decides to return, the driver's clock keeps ticking (8x faster than
# wall time) while the interviewer stops its helper processes; on a loaded
# machine that takes tens of wall milliseconds, hundreds of frame milliseconds.
RETURN_SLACK_MS = 600
CANCEL_AFTER_SEC = 1.5
VOICES = {"en": "en-us", "es": "es", "de": "de", "fr": "fr-fr"}
ANSWERS = {
    "es": "Trabajo como ingeniero de software desde hace cinco años.",
    "de": "Ich arbeite seit fünf Jahren als Softwareentwickler.",
    "fr": "Je travaille comme ingénieur logiciel depuis cinq ans.",
}


@cache
def speech(text: str, voice: str = "en-us") -> bytes:
    return synthesize(text, SAMPLE_RATE, voice)


def burst(ms: int) -> bytes:
    """``ms`` of voiced speech (the vowel of "ah"), with silence after it."""
    frames, _ = split_frames(speech("ah"))
    voiced = [f for f in frames if rms_dbfs(f) > VOICED_DBFS]
    return b"".join(voiced[: ms // FRAME_MS]) + bytes(len(frames[0]) * 10)


async def interview(
    cues: list[Cue],
    settings: LocalInterviewerSettings = QUICK,
    language: str = "en",
    tick_sec: float | None = None,
    reply_after_ms: int = 400,
    max_duration_sec: int = 1800,
) -> tuple[Outcome, ConversationDriver]:
    factory = LocalInterviewerFactory(settings)
    persona = Persona("p-1", "Software Engineer", language)
    context = InterviewPlanContext("s-1", persona, max_duration_sec, WRAP_UP_SEC)
    candidate = ScriptedCandidate(cues, reply_after_ms=reply_after_ms)
    driver = ConversationDriver(candidate, max_duration_sec=max_duration_sec)
    if tick_sec is not None:
        driver.tick_sec = tick_sec
    async with asyncio.timeout(WALL_LIMIT_SEC):
        outcome = await driver.run(factory.create(context))
    return outcome, driver


def prompt_ms(driver: ConversationDriver, prompt: int) -> int:
    """Milliseconds of audio the interviewer queued for ``prompt``, over all its runs."""
    nbytes = sum(q.nbytes for q in driver.queued if q.prompt == prompt)
    return nbytes * 1000 // (SAMPLE_RATE * SAMPLE_BYTES)


def first_audio_delays(driver: ConversationDriver) -> list[float]:
    """Wall seconds from each interviewer caption (the decision to speak) to its first play()."""
    decisions = [
        s.wall
        for s in driver.sent
        if isinstance(s.event, Caption) and s.event.speaker == "interviewer"
    ]
    return [
        next(q for q in driver.queued if q.prompt == number).wall - wall
        for number, wall in enumerate(decisions, start=1)
    ]


async def test_english_interview_runs_start_to_finish() -> None:
    """Greeting, questions answered by speech, acknowledgements, closing: completed."""
    settings = LocalInterviewerSettings(max_questions=2, short_answer_ms=1000)
    cues = [Cue(FIRST_QUESTION + i, speech(text)) for i, text in enumerate(ENGLISH_ANSWERS)]
    outcome, driver = await interview(cues, settings)

    assert outcome == Outcome("completed")
    speakers = [(t.speaker, t.question_id) for t in driver.turns]
    assert speakers == [
        ("interviewer", None),
        ("interviewer", "gen-01"),
        ("candidate", "gen-01"),
        ("interviewer", "eng-01"),
        ("candidate", "eng-01"),
        ("interviewer", None),
    ]
    assert "Software Engineer" in driver.turns[0].text
    assert driver.turns[3].text.startswith("Thank you.")
    assert "last question" in driver.turns[-1].text
    ends = [0] + [t.end_ms for t in driver.turns]
    assert all(t.start_ms >= end for t, end in zip(driver.turns, ends, strict=False))
    assert all(t.end_ms > t.start_ms for t in driver.turns)
    for said, turn in zip(driver.candidate.said, driver.turns[2::2], strict=True):
        assert abs(turn.start_ms - said.onset_ms) <= 3 * FRAME_MS
    states = {s.event.state for s in driver.sent if isinstance(s.event, State)}
    assert states == set(TalkState)

    interviewer_captions = [c.text for c in driver.captions("interviewer")]
    assert interviewer_captions == [t.text for t in driver.turns if t.speaker == "interviewer"]
    assert all(c.final for c in driver.captions("interviewer"))
    delays = first_audio_delays(driver)
    assert max(delays) < FIRST_AUDIO_BUDGET_SEC, delays
    report_turn_latency(driver)


async def test_candidate_captions_carry_the_spoken_words() -> None:
    """Partial captions while speaking, a final one per turn, with key words recognised.

    PocketSphinx adapts its normalisation to the voice over the first turn, so
    the words are looked for across both answers.
    """
    settings = dataclasses.replace(QUICK, max_questions=2)
    cues = [Cue(FIRST_QUESTION + i, speech(text)) for i, text in enumerate(ENGLISH_ANSWERS)]
    outcome, driver = await interview(cues, settings)
    assert outcome.status == "completed"

    finals = driver.captions("candidate", final=True)
    partials = driver.captions("candidate", final=False)
    assert len(finals) == 2 and partials
    assert {c.turn_id for c in partials} <= {c.turn_id for c in finals}
    words = {word for caption in finals for word in caption.text.split()}
    assert len(words & KEY_WORDS) >= 3, [c.text for c in finals]
    answers = [t.text for t in driver.turns if t.speaker == "candidate"]
    assert answers == [c.text for c in finals]


async def test_barge_in_cuts_the_interviewer() -> None:
    """Speech over a question stops playback within 200 ms of its onset; the cut is kept."""
    cues = [Cue(FIRST_QUESTION, speech(LONG_ANSWER), after_heard_ms=800)]
    outcome, driver = await interview(cues, tick_sec=FAST_TICK_SEC)
    assert outcome.status == "completed"

    [stop] = driver.stops
    [said] = driver.candidate.said
    assert 0 <= stop.t_ms - said.onset_ms <= BARGE_IN_BUDGET_MS
    assert 800 <= stop.played_ms < prompt_ms(driver, FIRST_QUESTION)
    question = driver.turns[1]
    assert question.text.endswith(INTERRUPTED_MARK) and question.question_id == "gen-01"
    assert question.end_ms == stop.t_ms
    heard_after_cut = [t for t, _ in driver.heard if stop.t_ms <= t < driver.turns[2].end_ms]
    assert not heard_after_cut
    answer = driver.turns[2]
    assert answer.speaker == "candidate" and answer.question_id == "gen-01"
    assert abs(answer.start_ms - said.onset_ms) <= 3 * FRAME_MS


async def test_short_burst_resumes_the_prompt() -> None:
    """A 160 ms burst then silence is a false interruption: the question resumes."""
    cues = [
        Cue(FIRST_QUESTION, burst(160), after_heard_ms=1200),
        Cue(FIRST_QUESTION, speech(ENGLISH_ANSWERS[0])),
    ]
    outcome, driver = await interview(cues, tick_sec=FAST_TICK_SEC, reply_after_ms=1000)
    assert outcome.status == "completed"

    [stop] = driver.stops
    question_marks = [m for m in driver.marks if driver.turns[1].start_ms <= m]
    assert len(question_marks) >= 2, "the question was played again after the cut"
    question = driver.turns[1]
    assert not question.text.endswith(INTERRUPTED_MARK)
    assert question.end_ms > stop.t_ms
    assert [t.speaker for t in driver.turns].count("candidate") == 1


async def test_echo_warmup_ignores_speech_at_prompt_start() -> None:
    """A burst in the first 300 ms of a prompt does not touch it."""
    cues = [
        Cue(FIRST_QUESTION, burst(200), after_heard_ms=0),
        Cue(FIRST_QUESTION, speech(ENGLISH_ANSWERS[0])),
    ]
    outcome, driver = await interview(cues, tick_sec=FAST_TICK_SEC)
    assert outcome.status == "completed"
    assert driver.stops == []
    assert [t.speaker for t in driver.turns].count("candidate") == 1


async def test_without_warmup_the_same_burst_interrupts() -> None:
    """With ``echo_warmup_ms=0`` that burst cuts the prompt (then it resumes)."""
    settings = dataclasses.replace(QUICK, echo_warmup_ms=0)
    cues = [
        Cue(FIRST_QUESTION, burst(200), after_heard_ms=0),
        Cue(FIRST_QUESTION, speech(ENGLISH_ANSWERS[0])),
    ]
    outcome, driver = await interview(cues, settings, tick_sec=FAST_TICK_SEC, reply_after_ms=1000)
    assert outcome.status == "completed"
    assert len(driver.stops) == 1
    assert not driver.turns[1].text.endswith(INTERRUPTED_MARK)


async def test_short_answer_gets_a_follow_up() -> None:
    """An answer under ``short_answer_ms`` is followed up under the same question id."""
    cues = [
        Cue(FIRST_QUESTION, speech("Yes.")),
        Cue(SECOND_QUESTION, speech(ENGLISH_ANSWERS[0])),
    ]
    settings = dataclasses.replace(QUICK, short_answer_ms=2000)
    outcome, driver = await interview(cues, settings, tick_sec=FAST_TICK_SEC)
    assert outcome.status == "completed"
    follow_up = driver.turns[3]
    assert (follow_up.speaker, follow_up.question_id) == ("interviewer", "gen-01")
    assert "tell me a little more" in follow_up.text
    assert (driver.turns[4].speaker, driver.turns[4].question_id) == ("candidate", "gen-01")


async def test_each_reply_logs_where_its_time_went(caplog: pytest.LogCaptureFixture) -> None:
    """One ``reply timing`` line per answer: how it ended, its stages in order, and
    that each reply was synthesized ahead (while the candidate answered)."""
    caplog.set_level(logging.INFO, logger="zenhire.interviewer")
    settings = dataclasses.replace(QUICK, max_questions=2)
    cues = [Cue(FIRST_QUESTION + i, speech(text)) for i, text in enumerate(ENGLISH_ANSWERS)]
    outcome, _ = await interview(cues, settings)

    assert outcome == Outcome("completed")
    timings = [r.__dict__ for r in caplog.records if r.getMessage() == "reply timing"]
    assert [(t["turn_id"], t["ended_by"], t["prepared"]) for t in timings] == [
        ("c1", "silence", True),
        ("c2", "silence", True),
    ]
    for timing in timings:
        stages = [timing[f"{s}_ms"] for s in ("decided", "reply_chosen", "first_audio")]
        assert 0 <= stages[0] <= stages[1] <= stages[2]
        assert timing["transcribed_ms"] >= 0


async def test_silent_candidate_is_checked_on_then_inactive() -> None:
    """Silence: "Are you still there?", then more silence ends the interview."""
    settings = dataclasses.replace(QUICK, inactivity_prompt_ms=1500, inactivity_end_ms=2000)
    outcome, driver = await interview([], settings, tick_sec=FAST_TICK_SEC)
    assert (outcome.status, outcome.code) == ("failed", "CANDIDATE_INACTIVE")
    still_there = driver.turns[-1]
    assert still_there.text.startswith("Are you still there?")
    assert still_there.question_id == "gen-01"
    question = driver.turns[1]
    # Silence counts from the end of each prompt; the interviewer then needs a
    # few ticks (at 8x speed) to start speaking or to return.
    assert 1500 <= still_there.start_ms - question.end_ms <= 1500 + SLACK_MS
    assert 2000 <= driver.t_ms - still_there.end_ms <= 2000 + RETURN_SLACK_MS


@pytest.mark.parametrize("language", ["es", "de", "fr"])
async def test_every_language_holds_a_full_interview(language: str) -> None:
    """Prompts in the language, answers kept with timing, captions say there is no ASR."""
    cues = [Cue(FIRST_QUESTION, speech(ANSWERS[language], VOICES[language]))]
    outcome, driver = await interview(cues, language=language, tick_sec=FAST_TICK_SEC)
    assert outcome == Outcome("completed")
    answer = next(t for t in driver.turns if t.speaker == "candidate")
    assert answer.text == f"[transcription unavailable for {language}]"
    assert answer.question_id == "gen-01"
    assert answer.end_ms - answer.start_ms > 1000
    [notice] = {c.text for c in driver.captions("candidate")}
    assert notice == NOTICES[language]
    assert "Software Engineer" in driver.turns[0].text
    assert max(first_audio_delays(driver)) < FIRST_AUDIO_BUDGET_SEC


async def test_interviewer_wraps_up_when_time_runs_short() -> None:
    """Inside the wrap-up margin the remaining questions are skipped for the closing."""
    outcome, driver = await interview([], tick_sec=FAST_TICK_SEC, max_duration_sec=WRAP_UP_SEC + 5)
    assert outcome == Outcome("completed")
    assert [t.question_id for t in driver.turns] == [None, None]
    assert "last question" in driver.turns[-1].text


@pytest.mark.fault(
    "local voice broken",
    injected="the speech synthesizer fails",
    happened="the interview fails UPSTREAM_UNAVAILABLE, artifacts stored",
    lost="nothing recorded",
)
async def test_broken_synthesizer_fails_the_interview_as_upstream_unavailable() -> None:
    factory = LocalInterviewerFactory(QUICK, synthesizer="/nonexistent/espeak-ng")
    context = InterviewPlanContext("s-1", Persona("p-1", "Engineer", "en"), 1800, WRAP_UP_SEC)
    driver = ConversationDriver(ScriptedCandidate([]))
    async with asyncio.timeout(WALL_LIMIT_SEC):
        outcome = await driver.run(factory.create(context))
    assert (outcome.status, outcome.code) == ("failed", "UPSTREAM_UNAVAILABLE")
    assert child_processes() == []


async def test_cancellation_propagates_and_stops_helper_processes() -> None:
    """The session cancels the interview: run() does not swallow it, no child process is left."""
    factory = LocalInterviewerFactory(QUICK)
    context = InterviewPlanContext("s-1", Persona("p-1", "Engineer", "en"), 1800, WRAP_UP_SEC)
    driver = ConversationDriver(ScriptedCandidate([]))
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(CANCEL_AFTER_SEC):
            await driver.run(factory.create(context))
    assert driver.queued, "the interview was under way"
    assert child_processes() == []


def report_turn_latency(driver: ConversationDriver) -> None:
    """Print end of turn → next interviewer audio, on the frame timeline and the wall clock."""
    frame_gaps, wall_gaps = [], []
    thinking = [s for s in driver.sent if s.event == State(TalkState.THINKING)][1:]
    for turn, detected in zip(
        (t for t in driver.turns if t.speaker == "candidate"), thinking, strict=False
    ):
        heard = next(t for t, _ in driver.heard if t >= turn.end_ms + 1)
        frame_gaps.append(heard - turn.end_ms)
        queued = next(q for q in driver.queued if q.wall >= detected.wall)
        wall_gaps.append((queued.wall - detected.wall) * 1000)
    print(
        f"end of speech → next audio (frame ms): {frame_gaps}; "
        f"turn detected → audio queued (wall ms): {[round(w, 1) for w in wall_gaps]}; "
        f"median {statistics.median(wall_gaps):.1f}"
    )
