"""The AI interviewer behind an upstream speaking the OpenAI Realtime protocol.

    RealtimeInterviewerFactory(settings) ──create(context)──▶ RealtimeInterviewer
        run(conversation): one task group per interview
            ├── Uplink.run      candidate frames → input_audio_buffer.append,
            │                   each heard first by `Interruptions` (barge-in)
            ├── Playback.run    upstream audio → the session's paced playout
            └── _hold           one `Relay` per upstream session, in turn:
                                first connect → greet; handover → fresh session
                                with the history replayed; a fault → reconnect
                                (bounded, jittered) and resume; a takeover (the
                                context's ``resume``) → the checkpoint's history
                                replayed, with a short apology
            └── _note_positions the history, for the checkpoint

The interview ends ``completed`` when the model calls ``end_interview`` and
its closing words have been heard. When the upstream is gone for good
(retries exhausted, the key refused, or sessions failing in a row), what
had arrived is played out and then:

- with a fallback (``ZENHIRE_INTERVIEWER_FALLBACK=local``, a
  `TakeoverFactory`), the switch is marked in the transcript and the
  fallback holds the rest of the interview in the same session, told which
  questions were asked and how many answers were given (`Takeover`); it
  opens with one short apology in the interview's language;
- without one, the candidate gets an ``error`` event and a caption, and
  `run` returns ``failed`` with ``UPSTREAM_UNAVAILABLE``; the session keeps
  the recording and transcript so far.

Cancellation (the session ending for its own reasons) passes through.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from typing import Protocol

from gateway.interviewer import (
    Conversation,
    InterviewerSwitch,
    InterviewPlanContext,
    Outcome,
    Position,
    Takeover,
    TakeoverFactory,
)
from gateway.interviewer.realtime.candidate import CandidateSpeech
from gateway.interviewer.realtime.history import History
from gateway.interviewer.realtime.interruptions import Interruptions
from gateway.interviewer.realtime.playback import Playback
from gateway.interviewer.realtime.relay import InterviewState, Opening, Relay, RelayEnd
from gateway.interviewer.realtime.settings import RealtimeSettings
from gateway.interviewer.realtime.uplink import Uplink
from gateway.interviewer.realtime.upstream import (
    Upstream,
    UpstreamError,
    UpstreamUnavailable,
    connect_with_retry,
    open_upstream,
)
from gateway.session.events import Caption, Error
from zenhire.tasks import while_running

__all__ = ["RealtimeInterviewer", "RealtimeInterviewerFactory", "RealtimeSettings"]

log = logging.getLogger("zenhire.interviewer.realtime")

UPSTREAM_UNAVAILABLE = "UPSTREAM_UNAVAILABLE"
UNAVAILABLE_MESSAGE = (
    "The interviewer is unavailable right now, so the interview has to stop here. "
    "What you said so far has been saved."
)
UNAVAILABLE_TURN_ID = "interviewer-unavailable"
REALTIME = "realtime"
LOCAL = "local"
LANGUAGE_CODE = re.compile(r"[a-z]{2,3}(-[A-Za-z]{2,4})?")
ROUND_TRIP_REPORT_SEC = 5.0
# How often the history is looked at for the checkpoint (it changes once a turn).
POSITION_INTERVAL_SEC = 0.5


class UpstreamReport(Protocol):
    """Where the interviewer reports upstream health (the gateway's metrics)."""

    def error(self, code: str) -> None: ...

    def reconnect(self) -> None: ...

    def round_trip(self, session_id: str, seconds: float) -> None: ...


class NoReport:
    def error(self, code: str) -> None:
        pass

    def reconnect(self) -> None:
        pass

    def round_trip(self, session_id: str, seconds: float) -> None:
        pass


@dataclass(frozen=True)
class _Gone:
    """The upstream is gone for good, because of ``cause``."""

    cause: Exception


class RealtimeInterviewer:
    """One interview relayed to the realtime upstream (see the module docstring)."""

    def __init__(
        self,
        context: InterviewPlanContext,
        settings: RealtimeSettings,
        report: UpstreamReport | None = None,
        fallback: TakeoverFactory | None = None,
    ) -> None:
        self.context = context
        self._settings = settings
        self._report = report or NoReport()
        self._fallback = fallback
        self._upstream: Upstream | None = None

    async def run(self, conversation: Conversation) -> Outcome:
        resume = self.context.resume
        history = History() if resume is None else History.restored(resume.history)
        state = InterviewState()
        uplink = Uplink()
        playback = Playback(conversation, history)
        candidate = CandidateSpeech(conversation, uplink, history)
        interruptions = Interruptions(conversation, playback, self._settings.barge_in)
        ended = await while_running(
            self._hold(conversation, (uplink, playback, candidate, history, interruptions), state),
            uplink.run(interruptions.tap(conversation.candidate_audio())),
            playback.run(),
            self._report_round_trips(),
            self._note_positions(conversation, history),
        )
        if isinstance(ended, Outcome):
            return ended
        if self._fallback is None:
            return await self._give_up(conversation, ended.cause)
        takeover = Takeover(tuple(state.asked), sum(1 for e in history.entries if e.role == "user"))
        return await self._hand_over_to_fallback(conversation, self._fallback, takeover, ended)

    async def _note_positions(self, conversation: Conversation, history: History) -> None:
        noted = -1
        while True:
            if len(history.entries) != noted:
                noted = len(history.entries)
                conversation.note_position(Position(history=history.as_position()))
            await asyncio.sleep(POSITION_INTERVAL_SEC)

    async def _hold(
        self,
        conversation: Conversation,
        parts: tuple[Uplink, Playback, CandidateSpeech, History, Interruptions],
        state: InterviewState,
    ) -> Outcome | _Gone:
        _, playback, candidate, history, _ = parts
        settings = self._settings
        policy = settings.reconnect
        context = {"endpoint": settings.endpoint_label}
        opening = Opening.GREET if self.context.resume is None else Opening.RESUMED
        generation, failures = 0, 0
        while True:
            try:
                upstream = await connect_with_retry(self._open, policy, context)
            except UpstreamUnavailable as exc:
                await playback.wait_idle()
                return _Gone(exc)
            generation += 1
            self._upstream = upstream
            candidate.reset()
            relay = Relay(generation, upstream, conversation, self.context, settings, parts, state)
            log.info(
                "realtime upstream session opened",
                extra={**context, "generation": generation, "opening": opening.value},
            )
            end: RelayEnd | None = None
            fault: UpstreamError | None = None
            try:
                end = await relay.run(opening)
            except* UpstreamError as group:
                fault = _first(group)
            finally:
                await upstream.close()
            await playback.abandon(generation)
            if end is RelayEnd.ENDED or state.ending:
                await playback.wait_idle()
                return Outcome("completed")
            if end is RelayEnd.HANDOVER:
                log.info("realtime upstream handed over", extra={"generation": generation})
                opening, failures = Opening.QUIET, 0
                continue
            assert fault is not None
            self._report.error(type(fault).__name__)
            failures = 0 if relay.responses_done else failures + 1
            log.warning(
                "realtime upstream failed; reconnecting",
                extra={"generation": generation, "failures_in_a_row": failures},
                exc_info=fault,
            )
            if failures >= settings.reconnect_attempts:
                await playback.wait_idle()
                return _Gone(fault)
            self._report.reconnect()
            # Let the candidate hear what had arrived, so that the history
            # replayed to the next session holds it.
            await playback.wait_idle()
            if not history:
                opening = Opening.GREET
            else:
                opening = Opening.RESUME if relay.owes_response else Opening.QUIET

    async def _report_round_trips(self) -> None:
        while True:
            await asyncio.sleep(ROUND_TRIP_REPORT_SEC)
            round_trip = self._upstream.round_trip_sec if self._upstream else None
            if round_trip is not None:
                self._report.round_trip(self.context.session_id, round_trip)

    async def _open(self) -> Upstream:
        return await open_upstream(self._settings)

    async def _hand_over_to_fallback(
        self,
        conversation: Conversation,
        fallback: TakeoverFactory,
        takeover: Takeover,
        gone: _Gone,
    ) -> Outcome:
        """Hold the rest of the interview on ``fallback`` (see the module docstring)."""
        try:
            interviewer = fallback.take_over(self.context, takeover)
        except ValueError:
            log.exception("no fallback interviewer for this interview")
            return await self._give_up(conversation, gone.cause)
        log.error(
            "realtime upstream unavailable; the local interviewer takes over",
            extra={"asked": len(takeover.asked_question_ids), "answers": takeover.answers},
            exc_info=gone.cause,
        )
        switch = InterviewerSwitch(conversation.now_ms(), REALTIME, LOCAL, UPSTREAM_UNAVAILABLE)
        conversation.switch_interviewer(switch)
        return await interviewer.run(conversation)

    async def _give_up(self, conversation: Conversation, cause: Exception) -> Outcome:
        log.error("realtime upstream unavailable; ending the interview", exc_info=cause)
        await conversation.send(Error(UPSTREAM_UNAVAILABLE, UNAVAILABLE_MESSAGE))
        await conversation.send(
            Caption("interviewer", UNAVAILABLE_MESSAGE, True, UNAVAILABLE_TURN_ID)
        )
        return Outcome("failed", UPSTREAM_UNAVAILABLE, UNAVAILABLE_MESSAGE)


def _first(group: BaseExceptionGroup[UpstreamError]) -> UpstreamError:
    error = group.exceptions[0]
    return _first(error) if isinstance(error, BaseExceptionGroup) else error


class RealtimeInterviewerFactory:
    """Builds a `RealtimeInterviewer` per session; any language the model speaks.

    ``fallback`` holds the rest of an interview whose upstream is gone for good,
    when it supports the interview's language.
    """

    def __init__(
        self,
        settings: RealtimeSettings,
        report: UpstreamReport | None = None,
        fallback: TakeoverFactory | None = None,
    ) -> None:
        self.settings = settings
        self._report = report
        self._fallback = fallback

    def supports_language(self, language: str) -> bool:
        return bool(LANGUAGE_CODE.fullmatch(language))

    def create(self, context: InterviewPlanContext) -> RealtimeInterviewer:
        fallback = self._fallback
        if fallback is not None and not fallback.supports_language(context.persona.language):
            fallback = None
        return RealtimeInterviewer(context, self.settings, self._report, fallback)
