"""The interviewer seam: what a live session asks of an AI interviewer.

A live session owns the clock, the transport, the recording and the
transcript. An interviewer owns the conversation: it reads the candidate's
frames, decides what to say, and hands audio to the session's playout.

    session ──Conversation──▶ Interviewer.run()
       ▲  candidate_audio(): one CandidateFrame per 20 ms tick
       │  play()/stop_playback(): interviewer audio, paced by the session
       │  send(): captions and state for the page
       │  add_turn(): transcript turns on the recording's timeline
       │  ask(): the question put to the candidate now (answers map to it)
       │  switch_interviewer(): another interviewer holds the rest of it
       └─ note_position(): where the interview stands, for a replica takeover

An interview taken over by another replica (its owner died or drained)
starts a fresh interviewer with ``InterviewPlanContext.resume``: the last
`Position` it noted, from the checkpoint. (Not to be confused with a
`Takeover` of one interviewer by another on the same replica, below.)

`Interviewer.run` returns when the interview is over by the interviewer's own
decision (`Outcome`). The session cancels it when the candidate ends, the
time budget runs out or an operator steps in; implementations must let
`CancelledError` through.

An interviewer that loses its own means to go on (the realtime upstream
gone for good) may hand the rest of the interview to another one: a
`TakeoverFactory` builds it from what was done so far (`Takeover`), and the
switch is marked in the transcript (`InterviewerSwitch`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal, Protocol

from gateway.session.events import CandidateEvent, Speaker


@dataclass(frozen=True)
class PersonaQuestion:
    """One question of an interview: ``type`` names its family (``general``,
    ``technical``, ...) and ``time_limit_seconds`` bounds the answer."""

    id: str
    text: str
    type: str
    time_limit_seconds: int


@dataclass(frozen=True)
class Persona:
    """Who the interviewer plays; ``questions`` are the integrator's own, asked
    in this order instead of the interviewer's plan (empty: none)."""

    id: str
    role_name: str
    language: str
    questions: tuple[PersonaQuestion, ...] = ()


# How much of the interviewer's voice reaches the candidate's microphone, as the
# page's readiness check measured it: ``strong`` means speakers (guard against
# the interviewer interrupting itself), ``low`` headphones or a good echo
# canceller, ``unknown`` not measured.
Echo = Literal["strong", "low", "unknown"]


@dataclass(frozen=True)
class Position:
    """Where an interview stands, as its interviewer tells it (`Conversation.note_position`).

    ``questions_done``: how many of its questions the local interviewer has had
    answered; ``history``: the realtime interviewer's conversation items,
    ``(role, text)``, as it would replay them to a fresh upstream session.
    """

    questions_done: int = 0
    history: tuple[tuple[str, str], ...] = ()

    def as_json(self) -> dict[str, object]:
        return {"questions_done": self.questions_done, "history": [list(e) for e in self.history]}

    @classmethod
    def from_json(cls, raw: dict[str, object]) -> Position:
        done = raw.get("questions_done", 0)
        history = raw.get("history", [])
        if not isinstance(done, int) or not isinstance(history, list):
            raise ValueError("malformed interviewer position")
        return cls(done, tuple((str(role), str(text)) for role, text in history))


@dataclass(frozen=True)
class InterviewPlanContext:
    """What an interviewer knows about the interview it is about to hold.

    ``resume`` is set when the interview was taken over: go on from there.
    """

    session_id: str
    persona: Persona
    max_duration_sec: int
    wrap_up_before_end_sec: int
    echo: Echo = "unknown"
    resume: Position | None = None


@dataclass(frozen=True)
class CandidateFrame:
    """One 20 ms frame of candidate audio (PCM16, 24 kHz, mono).

    ``t_ms`` is the frame's start on the recording's timeline. ``pcm`` is
    silence when the candidate sent nothing for that tick.
    """

    pcm: bytes
    t_ms: int


@dataclass(frozen=True)
class Turn:
    speaker: Speaker
    text: str
    start_ms: int
    end_ms: int
    question_id: str | None = None


@dataclass(frozen=True)
class InterviewerSwitch:
    """From ``at_ms`` on, interviewer ``to`` holds the interview instead of ``from_``,
    because of ``reason`` (an error code such as ``UPSTREAM_UNAVAILABLE``)."""

    at_ms: int
    from_: str
    to: str
    reason: str

    def as_json(self) -> dict[str, object]:
        """The transcript document's entry (``interviewer_switches``)."""
        return {"at_ms": self.at_ms, "from": self.from_, "to": self.to, "reason": self.reason}


@dataclass(frozen=True)
class Takeover:
    """What an interviewer taking over an interview mid-way is told of it.

    ``asked_question_ids``: the persona's questions already put to the
    candidate; ``answers``: the candidate's turns so far.
    """

    asked_question_ids: tuple[str, ...]
    answers: int


@dataclass(frozen=True)
class Outcome:
    """How an interview ended by the interviewer's decision.

    ``code`` is an error code (``UPSTREAM_UNAVAILABLE``, ``CANDIDATE_INACTIVE``)
    when ``status`` is ``"failed"``.
    """

    status: Literal["completed", "failed"]
    code: str | None = None
    message: str = ""


class Conversation(Protocol):
    """The live session, as its interviewer sees it."""

    def candidate_audio(self) -> AsyncIterator[CandidateFrame]:
        """Every tick's candidate frame, in order, as the clock produces them."""
        ...

    async def play(self, pcm: bytes) -> None:
        """Queue interviewer audio (PCM16 24 kHz mono, any whole number of
        samples) behind what is already queued. Waits while the playout
        buffer is full."""
        ...

    def stop_playback(self) -> int:
        """Drop all queued interviewer audio at once (barge-in).

        Returns the milliseconds of audio played since the last
        `mark_item` call, i.e. what the candidate actually heard of it.
        """
        ...

    def mark_item(self) -> None:
        """Start counting played milliseconds for a new spoken item."""
        ...

    def played_ms(self) -> int:
        """Milliseconds played since the last `mark_item` call."""
        ...

    async def drain(self) -> None:
        """Wait until everything queued has been played."""
        ...

    def is_playing(self) -> bool:
        """True while interviewer audio is queued or being played."""
        ...

    def now_ms(self) -> int:
        """The current position on the recording's timeline."""
        ...

    def remaining_sec(self) -> int:
        """Seconds left of the interview's time budget."""
        ...

    async def send(self, event: CandidateEvent) -> None:
        """Send a caption or state event to the candidate's page."""
        ...

    def add_turn(self, turn: Turn) -> None:
        """Record a finished turn in the transcript."""
        ...

    def ask(self, question: PersonaQuestion, t_ms: int) -> None:
        """Record that ``question`` is put to the candidate from ``t_ms`` on; the
        candidate's turns until the next question are its answer."""
        ...

    def switch_interviewer(self, switch: InterviewerSwitch) -> None:
        """Record in the transcript that another interviewer takes over."""
        ...

    def note_position(self, position: Position) -> None:
        """Where the interview stands now; kept in the checkpoint for a replica takeover."""
        ...


class Interviewer(Protocol):
    async def run(self, conversation: Conversation) -> Outcome:
        """Hold the interview until the interviewer ends it."""
        ...


class InterviewerFactory(Protocol):
    """Builds one interviewer per live session."""

    def supports_language(self, language: str) -> bool:
        """Whether an interview in ``language`` can be held at all."""
        ...

    def create(self, context: InterviewPlanContext) -> Interviewer: ...


class TakeoverFactory(Protocol):
    """Builds an interviewer that holds the rest of an interview another one began."""

    def supports_language(self, language: str) -> bool: ...

    def take_over(self, context: InterviewPlanContext, takeover: Takeover) -> Interviewer:
        """An interviewer for the rest of the interview; raise ValueError if it cannot."""
        ...
