"""One interview's dialogue: greeting, questions, follow-ups, closing.

`Interview.hold` walks the `Plan` with a `Speaker` (prompts) and a
`Listener` (candidate turns) and records every turn in the transcript:

- each question is asked (after a short acknowledgement of the previous
  answer) and answered; an answer shorter than ``short_answer_ms`` gets one
  follow-up under the same ``question_id``;
- a candidate silent for ``inactivity_prompt_ms`` after a question is asked
  whether they are still there; silent ``inactivity_end_ms`` longer, the
  interview fails with ``CANDIDATE_INACTIVE``;
- when the time budget is down to the context's wrap-up margin, the
  remaining questions are skipped and the interviewer closes;
- each question is marked (`Conversation.ask`) where its prompt starts, and
  a custom question's ``time_limit_seconds`` bounds each turn answering it;
- each answered question is noted (`Conversation.note_position`); an
  interview taken over by another replica (``context.resume``) skips the
  greeting and what was answered, and opens with the ``reconnected`` line
  before the next unanswered question (or the closing).

- an answer that asks for time ("let me think") is acknowledged briefly,
  then the interviewer waits quietly up to ``thinking_time_ms`` for the rest;
- an answer that ran past ``max_answer_ms`` is closed politely (the
  language's ``move_on`` line before the next question).

The reply to an answer does not wait for the recognizer: it depends on the
answer's length and on what the frame loop read in it (a request for time,
an answer cut at its limit), not on the final text. While the candidate
answers, the likely next prompt and its alternatives are synthesized ahead
(`Speaker.prepare`); the reply starts as soon as the turn ends, and the
answer's final caption and transcript turn follow as the recognizer
catches up (`keep_answers`, beside the dialogue: a recognizer that is far
behind on a loaded machine delays captions, never the conversation). The
interviewer's turns queue behind the answers they follow, so turns are kept
in the order they were taken. `hold` returns once every turn is kept. Each
reply logs its `ReplyTiming`.

An interviewer prompt that the candidate cut off is kept in the transcript
with its full text followed by `INTERRUPTED_MARK`, ending where it was cut;
a reply dropped before any of it was heard (the candidate resumed their
answer) is not kept.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import count

from gateway.interviewer import (
    Conversation,
    InterviewPlanContext,
    Outcome,
    PersonaQuestion,
    Position,
    Turn,
)
from gateway.interviewer.local.listener import AudioEnded, Heard, Listener
from gateway.interviewer.local.plan import Plan
from gateway.interviewer.local.settings import LocalInterviewerSettings
from gateway.interviewer.local.speaker import Speaker, Spoken
from gateway.interviewer.local.timing import ReplyTiming, now
from gateway.interviewer.local.turntaking import Silence
from gateway.session.events import Caption, State, TalkState

INTERRUPTED_MARK = "[interrupted]"
CANDIDATE_INACTIVE = "CANDIDATE_INACTIVE"
CANDIDATE_LEFT = "CANDIDATE_LEFT"
MS_PER_SEC = 1000

# What an exchange ends with: the answer's length in ms, no answer (none was
# expected), or the interview's end.
_Answer = int | None | Outcome


@dataclass(frozen=True)
class _Unsettled:
    """A finished answer whose final text the recognizer has not given yet."""

    heard: Heard
    question_id: str | None


# What `keep_answers` keeps, in order.
_ToKeep = _Unsettled | Turn


class Interview:
    def __init__(
        self,
        conversation: Conversation,
        context: InterviewPlanContext,
        plan: Plan,
        settings: LocalInterviewerSettings,
        speaker: Speaker,
        listener: Listener,
    ) -> None:
        self._conversation = conversation
        self._context = context
        self._plan = plan
        self._settings = settings
        self._speaker = speaker
        self._listener = listener
        self._prompt_numbers = count(1)
        self._acknowledged = 0
        self._cut_short = False  # the last answer ran past its limit
        self._following = ""  # what the interviewer will most likely say next
        # One entry per finished answer until the recognizer's text is in:
        # bounded by the interview's turns.
        self._unkept: asyncio.Queue[_ToKeep] = asyncio.Queue()
        self._reply: ReplyTiming | None = None  # the answer the next prompt replies to

    async def hold(self) -> Outcome:
        """Hold the whole interview; return how it ended, once every answer is kept."""
        outcome = await self._hold()
        await self._unkept.join()
        return outcome

    async def keep_answers(self) -> None:
        """Keep every turn in order: each answer captioned once its final text is
        in, each prompt after the answers before it; runs beside `hold` until
        cancelled."""
        while True:
            unkept = await self._unkept.get()
            try:
                if isinstance(unkept, Turn):
                    self._conversation.add_turn(unkept)
                else:
                    await self._keep(unkept)
            finally:
                self._unkept.task_done()

    async def _hold(self) -> Outcome:
        await self._conversation.send(State(TalkState.THINKING))
        resume = self._context.resume
        done = 0 if resume is None else resume.questions_done
        opening = "" if resume is None else f"{self._plan.phrases.reconnected} "
        # The phrases that may answer any answer, and the first question,
        # prepared while the greeting plays.
        first = [q.text for q in self._plan.questions[done : done + 1]]
        self._speaker.prepare(*first, *self._phrases_ahead())
        if resume is None:
            result = await self._exchange(self._plan.greeting, None, expect_answer=False)
            if isinstance(result, Outcome):
                return result
        asked = 0
        remaining = self._plan.questions[done:]
        for position, question in enumerate(remaining):
            if self._conversation.remaining_sec() <= self._context.wrap_up_before_end_sec:
                break
            if opening:
                text, opening = f"{opening}{question.text}", ""
            elif asked == 0:
                text = question.text
            else:
                text = f"{self._acknowledge()} {question.text}"
            asked += 1
            # After this question's own acknowledgement: the next one is peeked.
            self._following = self._after_answer(remaining[position + 1 :])
            if self._plan.custom:
                self._listener.limit_answers(question.time_limit_seconds * MS_PER_SEC)
            result = await self._exchange(text, question.id, asking=question)
            if isinstance(result, int) and result < self._settings.short_answer_ms:
                result = await self._exchange(self._plan.phrases.follow_up, question.id)
            if isinstance(result, Outcome):
                return result
            done += 1
            self._conversation.note_position(Position(questions_done=done))
        self._listener.limit_answers(None)
        closing = self._plan.phrases.closing
        text = f"{self._acknowledge()} {closing}" if asked else f"{opening}{closing}"
        result = await self._exchange(text, None, expect_answer=False)
        return result if isinstance(result, Outcome) else Outcome("completed")

    def _acknowledge(self) -> str:
        if self._cut_short:
            self._cut_short = False
            return self._plan.phrases.move_on
        self._acknowledged += 1
        return self._plan.acknowledgement(self._acknowledged - 1)

    def _after_answer(self, rest: Sequence[PersonaQuestion]) -> str:
        """The prompt after an ordinary answer: the next acknowledgement and question."""
        following = rest[0].text if rest else self._plan.phrases.closing
        return f"{self._plan.acknowledgement(self._acknowledged)} {following}"

    def _phrases_ahead(self) -> tuple[str, ...]:
        phrases = self._plan.phrases
        return (phrases.follow_up, phrases.thinking, phrases.still_there, phrases.move_on)

    def _prepare_replies(self) -> None:
        self._speaker.prepare(self._following, *self._phrases_ahead())

    async def _exchange(
        self,
        text: str,
        question_id: str | None,
        expect_answer: bool = True,
        asking: PersonaQuestion | None = None,
    ) -> _Answer:
        """Say ``text`` (putting ``asking`` to the candidate), then take the
        answer (or the interruption) to it."""
        spoken = await self._say(text, question_id)
        if asking is not None:
            self._conversation.ask(asking, spoken.start_ms)
        if spoken.interrupted:
            return await self._hear_out(question_id)
        if not expect_answer:
            return None
        await self._conversation.send(State(TalkState.LISTENING))
        self._prepare_replies()
        settings = self._settings
        answer = await self._hear(question_id, self._after(settings.inactivity_prompt_ms))
        if not isinstance(answer, Silence):
            return answer
        spoken = await self._say(self._plan.phrases.still_there, question_id)
        if spoken.interrupted:
            return await self._hear_out(question_id)
        await self._conversation.send(State(TalkState.LISTENING))
        answer = await self._hear(question_id, self._after(settings.inactivity_end_ms))
        if not isinstance(answer, Silence):
            return answer
        silent_sec = (settings.inactivity_prompt_ms + settings.inactivity_end_ms) // MS_PER_SEC
        return Outcome(
            "failed",
            CANDIDATE_INACTIVE,
            f"The candidate did not respond for {silent_sec} seconds.",
        )

    async def _hear_out(self, question_id: str | None) -> int | Outcome:
        """The turn the candidate is already taking (they cut the prompt)."""
        answer = await self._hear(question_id, deadline_ms=None)
        # Only a wait after "let me think" has a deadline: nothing more was said.
        return 0 if isinstance(answer, Silence) else answer

    def _after(self, ms: int) -> int:
        return self._conversation.now_ms() + ms

    async def _say(self, text: str, question_id: str | None) -> Spoken:
        """Say ``text`` (the reply to the last answer, if any, is timed)."""
        turn_id = f"i{next(self._prompt_numbers)}"
        reply, self._reply = self._reply, None
        if reply is not None:
            reply.reply_chosen = now()
        spoken = await self._speaker.say(text, turn_id, reply)
        if reply is not None:
            reply.finish(said=True)
        said = f"{text} {INTERRUPTED_MARK}" if spoken.interrupted else text
        if spoken.heard:
            self._unkept.put_nowait(
                Turn("interviewer", said, spoken.start_ms, spoken.end_ms, question_id)
            )
        return spoken

    async def _hear(
        self, question_id: str | None, deadline_ms: int | None
    ) -> int | Silence | Outcome:
        """The candidate's next turn, kept once transcribed (`keep_answers`); its length in ms."""
        event = await self._listener.next(deadline_ms)
        if isinstance(event, AudioEnded):
            return Outcome("failed", CANDIDATE_LEFT, "The candidate's audio ended.")
        if isinstance(event, Silence):
            return event
        await self._conversation.send(State(TalkState.THINKING))
        self._unkept.put_nowait(_Unsettled(event, question_id))
        self._reply = event.timing
        if event.truncated:
            self._cut_short = True
        if event.thinking:
            return await self._wait_for_thought(question_id)
        return event.end_ms - event.start_ms

    async def _keep(self, unsettled: _Unsettled) -> None:
        heard = unsettled.heard
        transcript = await heard.transcript
        if heard.timing is not None:
            heard.timing.finish(transcribed=True)
        await self._conversation.send(
            Caption("candidate", transcript.caption, final=True, turn_id=heard.turn_id)
        )
        self._conversation.add_turn(
            Turn("candidate", transcript.text, heard.start_ms, heard.end_ms, unsettled.question_id)
        )

    async def _wait_for_thought(self, question_id: str | None) -> int | Silence | Outcome:
        """Acknowledge a request for time, then wait for the answer, up to the limit."""
        spoken = await self._say(self._plan.phrases.thinking, question_id)
        if spoken.interrupted:
            return await self._hear_out(question_id)
        await self._conversation.send(State(TalkState.LISTENING))
        return await self._hear(question_id, self._after(self._settings.thinking_time_ms))
