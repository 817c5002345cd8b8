"""One upstream session of an interview: set it up, relay it, watch it, hand it back.

`Relay.run` configures the session (``session.update``), replays the
conversation so far, opens the talk (`Opening`), attaches the candidate's
audio, then runs two tasks until one of them decides:

- the receiver turns server events into playback, captions and turns, and
  answers the ``end_interview`` and ``ask_question`` calls (the latter marks
  the persona's question on the timeline where its response started, and
  asks the model to go on when the call came without words);
- the interruption task tells the upstream about each interruption the
  gateway decided (`Interruptions`): ``response.cancel`` for a response
  still under way, ``conversation.item.truncate`` at what was heard;
- the watcher, every `WATCH_INTERVAL_SEC`, ends the interview once the
  closing words have been heard, asks for the wrap-up, hands over to a fresh
  session at a quiet moment once this one is ``handover_sec`` old, and fails
  an upstream that owes a response but stays silent.

The upstream decides where the candidate's turns end, the gateway what
interrupts the interviewer, so two kinds of upstream response are dropped
(cancelled, their audio never played): one that starts while the
interviewer is still audible and that the gateway did not ask for (an
answer to a backchannel said over it, whose user item is deleted too), and
one the candidate talks over before any of it was heard (they resumed
their answer).

It returns `RelayEnd`; a broken or misbehaving upstream raises an
`UpstreamError` (inside an exception group) for the interviewer to reconnect.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from gateway.interviewer import Conversation, InterviewPlanContext
from gateway.interviewer.realtime import protocol as protocol
from gateway.interviewer.realtime.brief import (
    ASK_TOOL_DESCRIPTION,
    END_TOOL_DESCRIPTION,
    RESUME_NOTE,
    RESUMED_NOTE,
    WRAP_UP_NOTE,
    instructions,
)
from gateway.interviewer.realtime.candidate import CandidateSpeech
from gateway.interviewer.realtime.history import History
from gateway.interviewer.realtime.interruptions import Interruptions
from gateway.interviewer.realtime.playback import Playback
from gateway.interviewer.realtime.settings import RealtimeSettings
from gateway.interviewer.realtime.uplink import Uplink
from gateway.interviewer.realtime.upstream import Upstream, UpstreamFault
from gateway.session.events import State, TalkState
from zenhire.tasks import while_running

log = logging.getLogger("zenhire.interviewer.realtime")

WATCH_INTERVAL_SEC = 0.1
MS_PER_SEC = 1000
# A response.create racing a VAD response, a response.cancel racing the
# response's end; harmless.
BENIGN_ERROR_CODES = frozenset(
    {"conversation_already_has_active_response", "response_cancel_not_active"}
)


class Opening(enum.Enum):
    GREET = "greet"  # the first session: the model speaks first
    RESUME = "resume"  # after a fault that cut a response: say it again
    QUIET = "quiet"  # handover, or a fault while nothing was owed
    RESUMED = "resumed"  # another replica's interview, taken over: apologise and go on


class RelayEnd(enum.Enum):
    ENDED = "ended"  # the closing words were heard after end_interview
    HANDOVER = "handover"  # time for a fresh upstream session


@dataclass
class InterviewState:
    """What outlives one upstream session."""

    wrap_up_noted: bool = False
    wrap_up_answered: bool = False
    ending: bool = False
    asked: list[str] = field(default_factory=list)  # persona question ids, in order


class Relay:
    def __init__(
        self,
        generation: int,
        upstream: Upstream,
        conversation: Conversation,
        context: InterviewPlanContext,
        settings: RealtimeSettings,
        parts: tuple[Uplink, Playback, CandidateSpeech, History, Interruptions],
        state: InterviewState,
    ) -> None:
        self.generation = generation
        self._upstream = upstream
        self._conversation = conversation
        self._context = context
        self._settings = settings
        self._uplink, self._playback, self._candidate, self._history, self._interruptions = parts
        self._state = state
        self._responding = False
        self._requested = False
        self._asked_for = False  # the pending response is one the gateway requested
        self._response_asked_for = False
        self._dropping = False  # the response under way is cancelled: ignore its output
        self._stopped_item: str | None = None  # the user item of the last finished speech
        self._last_progress = 0.0
        self._response_started_ms = 0
        self._questions = {q.id: q for q in context.persona.questions}
        # Responses that did not fail: a session that had one was healthy.
        self.responses_done = 0

    @property
    def owes_response(self) -> bool:
        return self._responding or self._requested

    @property
    def quiet(self) -> bool:
        candidate = self._candidate
        return not (
            self.owes_response
            or candidate.speaking
            or candidate.transcribing
            or not self._playback.idle
        )

    async def run(self, opening: Opening) -> RelayEnd:
        upstream, settings = self._upstream, self._settings
        await upstream.send(
            protocol.session_update(
                instructions=instructions(self._context),
                voice=self._settings.voice,
                language=self._context.persona.language,
                transcription_model=self._settings.transcription_model,
                end_tool_description=END_TOOL_DESCRIPTION,
                ask_tool_description=ASK_TOOL_DESCRIPTION,
                question_ids=tuple(self._questions),
                turn_detection=settings.turn_detection,
                eagerness=settings.eagerness,
                noise_reduction=protocol.NOISE_REDUCTION.get(
                    self._context.echo or "", settings.noise_reduction
                ),
            )
        )
        for event in self._history.restore_events():
            await upstream.send(event)
        if opening is Opening.RESUME:
            await upstream.send(protocol.text_item("system", RESUME_NOTE))
        elif opening is Opening.RESUMED:
            await upstream.send(protocol.text_item("system", RESUMED_NOTE))
        if opening is not Opening.QUIET:
            await self._request_response()
        self._uplink.attach(upstream)
        started = asyncio.get_running_loop().time()
        try:
            return await while_running(self._watch(started), self._receive(), self._interrupted())
        finally:
            self._uplink.detach()

    async def _request_response(self) -> None:
        self._requested = self._asked_for = True
        self._last_progress = asyncio.get_running_loop().time()
        await self._upstream.send(protocol.create_response())

    # -- the watcher ------------------------------------------------------------

    async def _watch(self, started: float) -> RelayEnd:
        loop = asyncio.get_running_loop()
        state, settings = self._state, self._settings
        wrap_up_at_ms = (
            self._context.max_duration_sec - self._context.wrap_up_before_end_sec
        ) * MS_PER_SEC
        while True:
            await asyncio.sleep(WATCH_INTERVAL_SEC)
            now = loop.time()
            if state.ending:
                if not self.owes_response and self._playback.idle:
                    await self._playback.wait_idle()
                    return RelayEnd.ENDED
            elif not state.wrap_up_noted and self._conversation.now_ms() >= wrap_up_at_ms:
                state.wrap_up_noted = True
                await self._upstream.send(protocol.text_item("system", WRAP_UP_NOTE))
                self._history.add("system", WRAP_UP_NOTE)
                log.info("realtime interviewer told to wrap up")
            elif state.wrap_up_noted and not state.wrap_up_answered and self.quiet:
                state.wrap_up_answered = True
                await self._request_response()
            elif now - started >= settings.handover_sec and self.quiet:
                return RelayEnd.HANDOVER
            if self.owes_response and now - self._last_progress > settings.silence_timeout_sec:
                raise UpstreamFault("the upstream owes a response but stayed silent")

    # -- the receiver -----------------------------------------------------------

    async def _receive(self) -> None:
        async for event in self._upstream.events():
            await self._handle(event)

    async def _handle(self, event: protocol.ServerEvent) -> None:
        generation, playback = self.generation, self._playback
        now = asyncio.get_running_loop().time()
        match event:
            case protocol.AudioDelta(item_id, pcm):
                self._last_progress = now
                if not self._dropping:
                    await playback.feed(generation, item_id, pcm)
            case protocol.AudioDone(item_id):
                if not self._dropping:
                    playback.audio_done(generation, item_id)
            case protocol.TranscriptDelta(item_id, text):
                self._last_progress = now
                if not self._dropping:
                    await playback.transcript_delta(generation, item_id, text)
            case protocol.TranscriptDone(item_id, text):
                if not self._dropping:
                    await playback.transcript_done(generation, item_id, text)
            case protocol.ResponseStarted():
                await self._response_started(now)
            case protocol.ResponseDone():
                await self._response_done(event)
            case protocol.SpeechStarted(item_id, audio_start_ms):
                self._candidate.started(item_id, audio_start_ms)
                if self._responding and not self._response_asked_for and playback.idle:
                    log.info("candidate resumed their answer; the unheard reply is dropped")
                    await self._drop_response()
            case protocol.SpeechStopped(item_id, audio_end_ms):
                self._candidate.stopped(item_id, audio_end_ms)
                self._stopped_item = item_id
                # Server VAD answers every finished turn (create_response).
                self._requested, self._last_progress = True, now
                await self._conversation.send(State(TalkState.THINKING))
            case protocol.InputTranscriptDelta(item_id, text):
                await self._candidate.delta(item_id, text)
            case protocol.InputTranscriptDone(item_id, text):
                await self._candidate.completed(item_id, text)
            case protocol.InputTranscriptFailed(item_id):
                self._candidate.failed(item_id)
            case protocol.RateLimited(name, reset_sec):
                log.warning(
                    "realtime upstream rate limit reached",
                    extra={"limit": name, "reset_sec": reset_sec},
                )
            case protocol.ServerError():
                self._server_error(event)

    async def _interrupted(self) -> None:
        """Tell the upstream about each interruption: cancel, and truncate at what was heard."""
        while True:
            cut = await self._interruptions.next_cut()
            await self._playback.settle(cut.items)
            if self._responding:
                # What it still sends for the cut items is ignored (they are cut);
                # its calls are still answered.
                await self._upstream.send(protocol.cancel_response())
            for item in cut.items:
                if item.generation == self.generation and item.interrupted:
                    assert item.heard_ms is not None
                    await self._upstream.send(protocol.truncate(item.item_id, item.heard_ms))

    async def _drop_response(self) -> None:
        """Cancel the response under way; none of what it still sends is played."""
        self._dropping = True
        await self._upstream.send(protocol.cancel_response())

    async def _response_started(self, now: float) -> None:
        self._responding, self._requested, self._last_progress = True, False, now
        self._response_asked_for, self._asked_for = self._asked_for, False
        self._dropping = False
        self._response_started_ms = self._conversation.now_ms()
        stopped, self._stopped_item = self._stopped_item, None
        if not self._response_asked_for and not self._playback.idle:
            # Speech the gateway let pass over the interviewer (a backchannel)
            # ended a turn upstream; the interviewer goes on with what it was saying.
            log.info("the upstream answered a backchannel; that answer is dropped")
            await self._drop_response()
            if stopped is not None:
                await self._upstream.send(protocol.delete_item(stopped))
            return
        if self._state.wrap_up_noted:
            self._state.wrap_up_answered = True

    async def _response_done(self, done: protocol.ResponseDone) -> None:
        self._responding = False
        self._last_progress = asyncio.get_running_loop().time()
        if done.status == "failed":
            raise UpstreamFault("the upstream failed a response")
        self.responses_done += 1
        if self._dropping:
            self._dropping = False
            return
        asked = False
        for call in done.calls:
            output: dict[str, Any]
            if call.name == protocol.END_INTERVIEW:
                output = {"ok": True}
                log.info("realtime interviewer ended the interview")
                self._state.ending = True
            elif call.name == protocol.ASK_QUESTION:
                output = self._ask(call.arguments)
                asked = asked or "ok" in output
            else:
                output = {"error": f"unknown function {call.name!r}"}
            await self._upstream.send(protocol.function_output(call.call_id, output))
        if asked and not done.spoke and not self._state.ending:
            await self._request_response()

    def _ask(self, arguments: str) -> dict[str, Any]:
        """Mark the question an ``ask_question`` call names; the function's output."""
        try:
            question_id = json.loads(arguments).get("question_id")
        except (ValueError, AttributeError):
            question_id = None
        question = self._questions.get(question_id) if isinstance(question_id, str) else None
        if question is None:
            return {"error": "unknown question_id; use one of the listed ids"}
        self._conversation.ask(question, self._response_started_ms)
        if question.id not in self._state.asked:
            self._state.asked.append(question.id)
        return {"ok": True}

    def _server_error(self, error: protocol.ServerError) -> None:
        message = self._upstream.redact(error.message)
        if error.ends_session:
            raise UpstreamFault(f"upstream error {error.kind}/{error.code}: {message}")
        if error.code not in BENIGN_ERROR_CODES:
            log.warning(
                "realtime upstream reported an error",
                extra={"kind": error.kind, "code": error.code, "error": message},
            )
