"""The embedded interviewer: no network, no keys, one process.

    LocalInterviewerFactory(settings, judge, vad_model) ──create(context)──▶ LocalInterviewer
        run(conversation): one task group per interview
            ├── Listener.run       the frame loop (VAD, turn-taking, barge-in)
            ├── Transcriber.run    PocketSphinx captions (English) or a notice
            ├── PreparedVoice.run  the likely next prompts synthesized ahead
            ├── Interview.keep_answers  answers captioned and kept once transcribed
            └── Interview.hold     the dialogue; Speaker → eSpeak NG → play()

The factory holds what every interview of the process shares: the
end-of-turn judge (`ModelJudge`, one worker thread) and the loaded Silero
VAD model; `open_models` loads both (each None when not installed, so turns
end on silence and the spectral VAD judges speech) and closes the judge.

When the dialogue ends, its siblings are cancelled and `run` returns the
`Outcome`. A synthesizer or recognizer that cannot run ends the interview as
``failed`` with ``UPSTREAM_UNAVAILABLE`` (the interviewer is this gateway's
upstream); anything else propagates to the session, as does cancellation.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from audio.models import SILERO_VAD_FILE, ModelError, installed
from audio.silero import SileroModel, SileroVad
from audio.vad import VoiceActivityDetector
from gateway.errors import GatewayError
from gateway.interviewer import Conversation, InterviewPlanContext, Outcome, Takeover
from gateway.interviewer.local.interview import Interview
from gateway.interviewer.local.judge import ModelJudge, TurnJudge
from gateway.interviewer.local.listener import Detector, Listener
from gateway.interviewer.local.plan import Plan, QuestionCatalog
from gateway.interviewer.local.prepared import PreparedVoice
from gateway.interviewer.local.settings import LocalInterviewerSettings
from gateway.interviewer.local.speaker import Speaker
from gateway.interviewer.local.transcriber import (
    SphinxTranscriber,
    Transcriber,
    TranscriptionError,
    UnavailableTranscriber,
)
from gateway.interviewer.local.voice import ESPEAK, SynthesisError, Voice
from zenhire.tasks import while_running

__all__ = [
    "LocalInterviewer",
    "LocalInterviewerFactory",
    "LocalInterviewerSettings",
    "Models",
    "open_models",
]

log = logging.getLogger("zenhire.interviewer")

UPSTREAM_UNAVAILABLE = "UPSTREAM_UNAVAILABLE"
MS_PER_SEC = 1000
# Languages PocketSphinx has a model for in this build (the wheel's en-us).
TRANSCRIBED_LANGUAGES = frozenset({"en"})


@dataclass(frozen=True)
class Models:
    """The models every local interview of a process shares (None: not installed)."""

    judge: TurnJudge | None = None
    vad: SileroModel | None = None


@contextmanager
def open_models(settings: LocalInterviewerSettings) -> Iterator[Models]:
    """The installed models the settings ask for; the judge's thread ends on exit."""
    judge = ModelJudge.installed() if settings.end_of_turn_model else None
    vad: SileroModel | None = None
    path = installed(SILERO_VAD_FILE) if settings.silero_vad else None
    if settings.silero_vad and path is None:
        log.warning("no Silero VAD installed (scripts/install): the spectral VAD judges speech")
    elif path is not None:
        try:
            vad = SileroModel(path)
        except ModelError:
            log.warning("Silero VAD unusable: the spectral VAD judges speech", exc_info=True)
    try:
        yield Models(judge, vad)
    finally:
        if judge is not None:
            judge.close()


class LocalInterviewer:
    """One interview held by the embedded interviewer (see the module docstring)."""

    def __init__(
        self,
        context: InterviewPlanContext,
        plan: Plan,
        settings: LocalInterviewerSettings,
        synthesizer: str = ESPEAK,
        models: Models | None = None,
    ) -> None:
        self.context = context
        self.plan = plan
        self._settings = settings.for_echo(context.echo)
        self._synthesizer = synthesizer
        self._models = models or Models()

    async def run(self, conversation: Conversation) -> Outcome:
        settings = self._settings
        transcriber = self._transcriber(conversation)
        listener = Listener(
            conversation,
            settings,
            transcriber,
            self._vad(),
            self._models.judge,
            self.plan.language,
        )
        voice = PreparedVoice(
            Voice(self.plan.voice, settings.tts_words_per_minute, self._synthesizer)
        )
        speaker = Speaker(conversation, voice, listener)
        interview = Interview(conversation, self.context, self.plan, settings, speaker, listener)
        outcome: Outcome | None = None
        try:
            outcome = await while_running(
                interview.hold(),
                listener.run(),
                transcriber.run(),
                voice.run(),
                interview.keep_answers(),
            )
        except* (SynthesisError, TranscriptionError) as failure:
            log.error(
                "local interviewer failed in session %s",
                self.context.session_id,
                exc_info=failure.exceptions[0],
            )
            error = failure.exceptions[0]
            code = error.code if isinstance(error, GatewayError) else UPSTREAM_UNAVAILABLE
            outcome = Outcome("failed", code, "The interviewer's voice or captions failed.")
        assert outcome is not None
        return outcome

    def _vad(self) -> Detector:
        if self._models.vad is not None and self._settings.silero_vad:
            return SileroVad(self._models.vad)
        return VoiceActivityDetector()

    def _transcriber(self, conversation: Conversation) -> Transcriber:
        if self.plan.language in TRANSCRIBED_LANGUAGES:
            return SphinxTranscriber(conversation.send, self._settings.partial_caption_interval_ms)
        return UnavailableTranscriber(
            conversation.send, self.plan.language, self.plan.phrases.transcription_unavailable
        )


class LocalInterviewerFactory:
    """Builds a `LocalInterviewer` per session; the question data loads once, here.

    ``synthesizer`` is the eSpeak NG executable (a name on ``PATH`` or a path);
    ``models`` (from `open_models`, owned by the caller) are shared by every
    interview; without them turns end on silence and the spectral VAD is used.
    """

    def __init__(
        self,
        settings: LocalInterviewerSettings | None = None,
        *,
        synthesizer: str = ESPEAK,
        models: Models | None = None,
    ) -> None:
        self.settings = settings or LocalInterviewerSettings()
        self._synthesizer = synthesizer
        self._models = models or Models()
        self._catalog = QuestionCatalog.load()

    def supports_language(self, language: str) -> bool:
        return self._catalog.supports(language)

    def create(self, context: InterviewPlanContext) -> LocalInterviewer:
        """A fresh interviewer; raise ValueError for an unsupported language."""
        if not self.supports_language(context.persona.language):
            raise ValueError(f"no local interviewer for language {context.persona.language!r}")
        return LocalInterviewer(
            context,
            self._catalog.plan(
                context.persona,
                self.settings.max_questions,
                self.settings.max_answer_ms // MS_PER_SEC,
            ),
            self.settings,
            self._synthesizer,
            self._models,
        )

    def take_over(self, context: InterviewPlanContext, takeover: Takeover) -> LocalInterviewer:
        """An interviewer for the rest of an interview another one began (`Plan.taken_over`);
        raise ValueError for an unsupported language."""
        interviewer = self.create(context)
        interviewer.plan = interviewer.plan.taken_over(takeover)
        return interviewer
