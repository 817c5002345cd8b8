"""The AI interviewer behind an upstream speaking the OpenAI Realtime protocol.

    RealtimeInterviewerFactory(settings) ──create(context)──▶ RealtimeInterviewer
        run(conversation): one task group per interview
            ├── Uplink.run      candidate frames → input_audio_buffer.append
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
(retries exhausted, the key refused, or sessions failing in a row) the
candidate gets an ``error`` event and a caption (this interviewer has no
voice of its own to apologise with), and `run` returns ``failed`` with
``UPSTREAM_UNAVAILABLE``; the session keeps the recording and transcript so
far. Cancellation (the session ending for its own reasons) passes through.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Protocol

from gateway.interviewer import Conversation, InterviewPlanContext, Outcome, Position
from gateway.interviewer.realtime.candidate import CandidateSpeech
from gateway.interviewer.realtime.history import History
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


class RealtimeInterviewer:
    """One interview relayed to the realtime upstream (see the module docstring)."""

    def __init__(
        self,
        context: InterviewPlanContext,
        settings: RealtimeSettings,
        report: UpstreamReport | None = None,
    ) -> None:
        self.context = context
        self._settings = settings
        self._report = report or NoReport()
        self._upstream: Upstream | None = None

    async def run(self, conversation: Conversation) -> Outcome:
        resume = self.context.resume
        history = History() if resume is None else History.restored(resume.history)
        uplink = Uplink()
        playback = Playback(conversation, history)
        candidate = CandidateSpeech(conversation, uplink, history)
        return await while_running(
            self._hold(conversation, (uplink, playback, candidate, history)),
            uplink.run(conversation.candidate_audio()),
            playback.run(),
            self._report_round_trips(),
            self._note_positions(conversation, history),
        )

    async def _note_positions(self, conversation: Conversation, history: History) -> None:
        noted = -1
        while True:
            if len(history.entries) != noted:
                noted = len(history.entries)
                conversation.note_position(Position(history=history.as_position()))
            await asyncio.sleep(POSITION_INTERVAL_SEC)

    async def _hold(
        self, conversation: Conversation, parts: tuple[Uplink, Playback, CandidateSpeech, History]
    ) -> Outcome:
        _, playback, candidate, history = parts
        settings, state = self._settings, InterviewState()
        policy = settings.reconnect
        context = {"endpoint": settings.endpoint_label}
        opening = Opening.GREET if self.context.resume is None else Opening.TAKEOVER
        generation, failures = 0, 0
        while True:
            try:
                upstream = await connect_with_retry(self._open, policy, context)
            except UpstreamUnavailable as exc:
                return await self._give_up(conversation, exc)
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
                return await self._give_up(conversation, fault)
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
    """Builds a `RealtimeInterviewer` per session; any language the model speaks."""

    def __init__(self, settings: RealtimeSettings, report: UpstreamReport | None = None) -> None:
        self.settings = settings
        self._report = report

    def supports_language(self, language: str) -> bool:
        return bool(LANGUAGE_CODE.fullmatch(language))

    def create(self, context: InterviewPlanContext) -> RealtimeInterviewer:
        return RealtimeInterviewer(context, self.settings, self._report)
