"""Tuning of the embedded interviewer, one immutable value per gateway.

Every field is a plain number or flag so the gateway can read each from a
``ZENHIRE_LOCAL_<FIELD>`` variable. Durations are milliseconds on the
recording's timeline (frame time), never wall-clock time, so an interview
behaves the same however fast its frames arrive.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from gateway.interviewer import Echo
from zenhire.environment import Environment, SettingError

PREFIX = "ZENHIRE_LOCAL_"
MIN_QUESTIONS = 1
MAX_QUESTIONS = 7
MIN_WORDS_PER_MINUTE = 80
MAX_WORDS_PER_MINUTE = 450


@dataclass(frozen=True)
class LocalInterviewerSettings:
    """How the embedded interviewer takes turns, waits and speaks.

    - ``end_of_turn_silence_ms``: silence after the candidate's last speech
      that ends their turn when no end-of-turn model decides it.
    - ``end_of_turn_model``: let Smart Turn (when installed) decide whether a
      pause ends the turn: after ``end_of_turn_check_ms`` of silence the model
      hears the answer so far; its verdict is taken ``end_of_turn_budget_ms``
      later (frame time); a probability of at least ``end_of_turn_threshold``
      ends the turn there, anything less waits for more speech or, failing
      that, ``end_of_turn_patience_ms`` of silence. A pause judged unfinished
      is judged again ``end_of_turn_recheck_ms`` later, up to
      ``end_of_turn_rechecks`` more times, and then ends the turn at a
      probability of ``end_of_turn_recheck_threshold``. The recognizer's words
      (English) overrule the model: a pause after "and", "um" is not an end,
      one after "let me think" is a request for time; the verdict waits up to
      ``words_wait_ms`` for a recognizer that is behind.
    - ``max_answer_ms``: past this long, an answer ends at the candidate's
      next breath (``breath_ms`` of silence), at the latest ``breath_wait_ms``
      later, and the interviewer politely moves on.
    - ``echo_warmup_ms``: candidate speech in the first milliseconds of each
      prompt's audio cannot interrupt it (echo of the prompt's onset).
      ``echo_warmup_strong_ms`` replaces it when the page's readiness check
      measured strong echo (speakers): the echo canceller needs longer to
      converge, and until then the prompt's own voice sounds like speech.
    - ``interruption_speech_ms``: speech over a prompt pauses it once it has
      lasted this long (a click or a breath does not); 100 ms keeps a real
      interruption's stop under 200 ms of its onset, the VAD's own delay
      included. A cough or a backchannel pauses it for a moment, then it
      resumes (``false_interruption_ms``).
    - ``false_interruption_ms``: an interruption whose speech lasts less than
      this, followed by silence, and whose words are only a backchannel
      ("mm-hm", "okay", "right"), was not meant: the prompt resumes.
    - ``barge_in``: whether candidate speech may interrupt the interviewer.
    - ``inactivity_prompt_ms``: silence after a question before the
      interviewer checks the candidate is still there; ``inactivity_end_ms``:
      further silence after that check before the interview fails with
      ``CANDIDATE_INACTIVE``.
    - ``short_answer_ms``: an answer shorter than this gets one follow-up.
    - ``thinking_time_ms``: after "let me think" (and the like) the
      interviewer acknowledges and waits this long for the answer.
    - ``silero_vad``: judge speech with Silero VAD (when installed) rather
      than the spectral detector.
    - ``tts_words_per_minute``: speaking rate of the synthesized voice.
    - ``max_questions``: questions per interview (the plan has up to 7).
    - ``partial_caption_interval_ms``: candidate audio between two partial
      captions while they speak.
    """

    end_of_turn_silence_ms: int = 1200
    end_of_turn_model: bool = True
    end_of_turn_check_ms: int = 300
    end_of_turn_budget_ms: int = 100
    end_of_turn_threshold: float = 0.5
    end_of_turn_patience_ms: int = 3200
    end_of_turn_rechecks: int = 1
    end_of_turn_recheck_ms: int = 300
    end_of_turn_recheck_threshold: float = 0.7
    words_wait_ms: int = 800
    max_answer_ms: int = 120_000
    breath_ms: int = 200
    breath_wait_ms: int = 10_000
    echo_warmup_ms: int = 300
    echo_warmup_strong_ms: int = 900
    interruption_speech_ms: int = 100
    false_interruption_ms: int = 1000
    barge_in: bool = True
    inactivity_prompt_ms: int = 20_000
    inactivity_end_ms: int = 45_000
    short_answer_ms: int = 2_000
    thinking_time_ms: int = 20_000
    silero_vad: bool = True
    tts_words_per_minute: int = 165
    max_questions: int = 6
    partial_caption_interval_ms: int = 700

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if field.name.endswith("_ms") and value < 0:
                raise ValueError(f"{field.name} must not be negative, got {value}")
        if not MIN_QUESTIONS <= self.max_questions <= MAX_QUESTIONS:
            raise ValueError(
                f"max_questions must be {MIN_QUESTIONS}..{MAX_QUESTIONS}, got {self.max_questions}"
            )
        if not MIN_WORDS_PER_MINUTE <= self.tts_words_per_minute <= MAX_WORDS_PER_MINUTE:
            raise ValueError(
                f"tts_words_per_minute must be {MIN_WORDS_PER_MINUTE}..{MAX_WORDS_PER_MINUTE},"
                f" got {self.tts_words_per_minute}"
            )
        for name in ("end_of_turn_threshold", "end_of_turn_recheck_threshold"):
            if not 0.0 < getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {getattr(self, name)}")
        if self.end_of_turn_rechecks < 0:
            raise ValueError(
                f"end_of_turn_rechecks must not be negative, got {self.end_of_turn_rechecks}"
            )
        for name in (
            "end_of_turn_silence_ms",
            "end_of_turn_recheck_ms",
            "end_of_turn_patience_ms",
            "max_answer_ms",
            "breath_ms",
            "interruption_speech_ms",
            "partial_caption_interval_ms",
        ):
            if getattr(self, name) == 0:
                raise ValueError(f"{name} must be positive")

    def for_echo(self, echo: Echo) -> LocalInterviewerSettings:
        """These settings for an interview with ``echo`` (the longer guard when strong)."""
        if echo != "strong":
            return self
        return dataclasses.replace(
            self, echo_warmup_ms=max(self.echo_warmup_ms, self.echo_warmup_strong_ms)
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> LocalInterviewerSettings:
        """The defaults with every ``ZENHIRE_LOCAL_<FIELD>`` override of ``environ`` applied;
        raise `SettingError` naming the first unknown or invalid key."""
        env = Environment(environ)
        known = {PREFIX + field.name.upper(): field for field in fields(cls)}
        unknown = sorted(key for key in environ if key.startswith(PREFIX) and key not in known)
        if unknown:
            raise SettingError(f"{unknown[0]} is not a local interviewer setting")
        defaults = cls()
        overrides: dict[str, Any] = {}
        for key, field in known.items():
            if key not in environ:
                continue
            default = getattr(defaults, field.name)
            if isinstance(default, bool):
                overrides[field.name] = env.choice(key, "true", ("true", "false")) == "true"
            elif isinstance(default, int):
                overrides[field.name] = env.integer(key, default)
            elif isinstance(default, float):
                overrides[field.name] = env.number(key, default)
            else:
                overrides[field.name] = env.text(key, str(default))
        try:
            return dataclasses.replace(defaults, **overrides)
        except ValueError as exc:
            raise SettingError(f"local interviewer settings: {exc}") from exc
