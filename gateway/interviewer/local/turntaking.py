"""Who has the floor: the candidate's turns, barge-in and silences, frame by frame.

`TurnTracker` sees one frame's VAD verdict, the frame's time and whether
interviewer audio is playing, and answers with at most one `Signal`. All its
times are frame times (``t_ms`` on the recording's timeline), so the same
frames (and the same words, below) always give the same turns.

    QUIET ──speech, nothing playing──▶ SPEAKING ──pause judged finished──▶ QUIET
      │                                  │  └──past max_answer, at a breath──▶ HOLD ──▶ QUIET
      └──sustained speech over a ──────▶ BARGED ──long burst, or words──▶ SPEAKING
         prompt, past the echo warm-up     └──a short burst, a backchannel──▶ back (resume)

**Barge-in.** Speech over a prompt interrupts it once it has been sustained
for ``interruption_speech_ms`` past the prompt's echo warm-up: a click or a
breath does not stop the interviewer, a sentence does, within
``interruption_speech_ms`` of its onset. The prompt is then paused
(`BargedIn`); a burst that ends before ``false_interruption_ms`` resumes it
(`FalseInterruption`: "okay", "right", a sound) unless its words hold one
of interruption ("wait", "sorry"); anything longer confirms the interruption.

**End of turn.** Without a `TurnJudge`, a turn ends after
``end_of_turn_silence_ms`` of silence. With one (Smart Turn, see
`ModelJudge`), each pause is judged once: after ``end_of_turn_check_ms`` of
silence the judge starts scoring the turn's audio up to that frame, and the
tracker takes the verdict ``end_of_turn_budget_ms`` later, or at the first
frame after that when the verdict is in. It never waits for a late verdict:
the frame loop serves every interview of the process, and a loaded machine
takes hundreds of milliseconds per verdict. Complete ends the turn (its end
is the last speech frame); incomplete keeps listening until new speech (a
new pause, a new question to the judge) or ``end_of_turn_patience_ms`` of
silence, which also bounds the wait for a verdict. A pause judged
incomplete is asked about again, up to ``end_of_turn_rechecks`` times,
``end_of_turn_recheck_ms`` of silence apart, and then ends the turn only at
``end_of_turn_recheck_threshold``: the model was trained on turns ending
about 200 ms after the last word, so past that its verdict on the same
words moves with the silence it hears. A finished answer it first calls
unfinished is often called finished with confidence a moment later, and
waiting out the whole patience for it is what made slow replies; a pause
after "because" may also drift towards "finished", hence the higher bar.
The words (below) still hold a pause after "and" or "um" however often it
is asked about.

**Words.** With ``words`` (the recognizer's hypothesis of the open turn), a
judged pause after a conjunction or filler is unfinished whatever the model
says, and a pause after "let me think" ends the turn as `thinking`
(`gateway.interviewer.local.cues`). The hypothesis is read when the verdict
is due; while the recognizer is behind (``words`` answers None) a
"finished" verdict waits for it, up to ``words_wait_ms`` more, unless it
is further behind than that (``words_lag``, in ms of audio: a recognizer
seconds behind on a loaded machine would only add the whole wait). An
"unfinished" verdict does not wait: the turn goes on either way.
"""

from __future__ import annotations

import enum
import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import CancelledError, Future
from dataclasses import dataclass, field

from audio.frames import FRAME_MS
from audio.models import ModelError
from audio.vad import VadResult
from gateway.interviewer.local.cues import Cue, is_interruption, read_cue
from gateway.interviewer.local.judge import TurnJudge
from gateway.interviewer.local.settings import LocalInterviewerSettings
from gateway.interviewer.local.timing import EndedBy, now

log = logging.getLogger("zenhire.interviewer")

# Audio before a turn's first speech frame that the judge hears with it.
JUDGE_LEAD_IN_MS = 500
# The judge hears at most this much of a turn (Smart Turn's window), so the
# tracker keeps this much audio, plus the lead-in.
JUDGE_WINDOW_MS = 8_000
JUDGE_RING_FRAMES = (JUDGE_WINDOW_MS + JUDGE_LEAD_IN_MS) // FRAME_MS

# Speech over a prompt is sustained when at least this share of its frames
# since the onset are speech: words have gaps (stops, word joins), a cough
# or a click is a short burst and then nothing.
SUSTAINED_SPEECH_SHARE = 0.6

# The open turn's hypothesis, or None while the recognizer is behind.
Words = Callable[[], str | None]
# How far behind the recognizer is, in ms of audio.
WordsLag = Callable[[], int]


class Floor(enum.Enum):
    QUIET = "quiet"
    SPEAKING = "speaking"
    BARGED = "barged"
    HOLD = "hold"


@dataclass(frozen=True)
class UtteranceStarted:
    """The candidate started a turn at ``start_ms`` (an earlier frame's time)."""

    start_ms: int


@dataclass(frozen=True)
class BargedIn:
    """The candidate started talking over a prompt at ``onset_ms``: pause it now."""

    onset_ms: int


@dataclass(frozen=True)
class InterruptionConfirmed:
    """The barge-in is real speech; the interrupted prompt stays cut."""


@dataclass(frozen=True)
class FalseInterruption:
    """The barge-in was a short burst or a backchannel; resume the prompt."""


@dataclass(frozen=True)
class UtteranceEnded:
    """The turn from ``start_ms`` ended at ``end_ms``.

    ``truncated``: it ran past ``max_answer_ms`` and ended at a breath (or at
    the hard limit); ``thinking``: it ended on a request for time.
    ``ended_by`` says what decided the end; ``judge_asked``/``judge_answered``
    (``time.monotonic()``, for `gateway.interviewer.local.timing`) when the
    end-of-turn model last heard this turn, and when it answered. For the
    record too: ``judge_asks``, how often the model was asked about the last
    pause, ``probability``, its last verdict on it, ``cue``, what the words
    said when the end was decided (None: they were not in yet; no words
    leave the tracker), and ``words_lag_ms``, how far behind the recognizer
    was then.
    """

    start_ms: int
    end_ms: int
    truncated: bool
    thinking: bool = False
    ended_by: EndedBy = EndedBy.SILENCE
    # Wall times: two replays of the same frames give equal signals without them.
    judge_asked: float | None = field(default=None, compare=False)
    judge_answered: float | None = field(default=None, compare=False)
    judge_asks: int = 0
    probability: float | None = None
    cue: Cue | None = Cue.NONE
    words_lag_ms: int | None = None  # how far behind the recognizer was then


@dataclass(frozen=True)
class Silence:
    """The deadline passed with the candidate quiet."""

    t_ms: int


Signal = (
    UtteranceStarted
    | BargedIn
    | InterruptionConfirmed
    | FalseInterruption
    | UtteranceEnded
    | Silence
)


@dataclass
class _Question:
    """The judge was asked about the pause after ``last_speech_ms``; the answer is due.

    ``asked``/``answered`` are wall times (``time.monotonic()``), for the
    record only: decisions use frame times.
    """

    last_speech_ms: int
    due_ms: int
    verdict: Future[float]
    asked: float
    answered: float | None = None

    def __post_init__(self) -> None:
        # Runs in the judge's thread; a float attribute is set atomically.
        self.verdict.add_done_callback(lambda _: setattr(self, "answered", now()))


class TurnTracker:
    """One candidate stream's floor; ``judge`` (optional) decides ends of turn and
    ``words`` (optional) is the open turn's hypothesis in ``language``."""

    def __init__(
        self,
        settings: LocalInterviewerSettings,
        judge: TurnJudge | None = None,
        words: Words | None = None,
        language: str = "en",
        words_lag: WordsLag | None = None,
    ) -> None:
        self._settings = settings
        self._max_answer_ms = settings.max_answer_ms
        self._judge = judge if settings.end_of_turn_model else None
        self._words = words
        self._words_lag = words_lag
        self._language = language
        self._audio: deque[tuple[int, bytes]] = deque(maxlen=JUDGE_RING_FRAMES)
        self._question: _Question | None = None
        self._asked_pause_ms: int | None = None  # the pause the judge was asked about
        self._asked = 0  # how many times
        # The last verdict, and what the words said then (None: not in yet).
        self._verdict: tuple[float | None, Cue | None] = (None, Cue.NONE)
        self._lag_at_verdict: int | None = None
        self._last_question: _Question | None = None  # this turn's, for the record
        self.floor = Floor.QUIET
        self._barged_from = Floor.QUIET
        self._deadline_ms: int | None = None
        self._episode_start: int | None = None  # first speech frame of this VAD episode
        self._eligible_start: int | None = None  # first speech frame past the warm-up
        self._eligible_frames = 0
        self._start_ms = 0
        self._burst_start_ms = 0
        self._last_speech_ms = 0

    def limit_answers(self, max_answer_ms: int | None) -> None:
        """Cut turns off after ``max_answer_ms`` from now on (None: the settings' limit)."""
        self._max_answer_ms = (
            self._settings.max_answer_ms if max_answer_ms is None else max_answer_ms
        )

    def close(self) -> None:
        """Withdraw a question the judge has not started on (the stream ended)."""
        if self._question is not None:
            self._question.verdict.cancel()
            self._question = None

    def expect_by(self, deadline_ms: int | None) -> None:
        """Signal `Silence` at the first quiet frame at or after ``deadline_ms``."""
        self._deadline_ms = deadline_ms

    def step(
        self, t_ms: int, vad: VadResult, playing: bool, played_ms: int, pcm: bytes | None = None
    ) -> Signal | None:
        """Advance by the frame at ``t_ms``; ``played_ms`` is what was heard of the prompt.

        ``pcm`` is the frame's audio, for the judge; without it turns end on silence.
        """
        if pcm is not None:
            self._audio.append((t_ms, pcm))
        self._track_episode(t_ms, vad, playing, played_ms)
        if vad.is_speech and self.floor in (Floor.SPEAKING, Floor.BARGED):
            self._last_speech_ms = t_ms
        match self.floor:
            case Floor.QUIET:
                return self._quiet(t_ms, vad, playing)
            case Floor.SPEAKING:
                return self._speaking(t_ms, vad, playing)
            case Floor.BARGED:
                return self._barged(vad)
            case Floor.HOLD:
                if not vad.speaking:
                    self.floor = Floor.QUIET
                return None

    def _track_episode(self, t_ms: int, vad: VadResult, playing: bool, played_ms: int) -> None:
        if not vad.speaking and not vad.is_speech:
            self._episode_start = self._eligible_start = None
            self._eligible_frames = 0
            return
        if vad.is_speech and self._episode_start is None:
            self._episode_start = t_ms
        warm = playing and played_ms >= self._settings.echo_warmup_ms
        if vad.is_speech and warm and self._settings.barge_in:
            self._eligible_frames += 1
            if self._eligible_start is None:
                self._eligible_start = t_ms

    def _quiet(self, t_ms: int, vad: VadResult, playing: bool) -> Signal | None:
        if not vad.speaking:
            if self._deadline_ms is not None and t_ms >= self._deadline_ms:
                self._deadline_ms = None
                return Silence(t_ms)
            return None
        if playing:
            return self._maybe_barge_in(t_ms)
        self._deadline_ms = None
        self._open(t_ms if self._episode_start is None else self._episode_start, t_ms)
        self.floor = Floor.SPEAKING
        return UtteranceStarted(self._start_ms)

    def _speaking(self, t_ms: int, vad: VadResult, playing: bool) -> Signal | None:
        if playing:
            barged = self._maybe_barge_in(t_ms, keep_start=True)
            if barged is not None:
                return barged
        s = self._settings
        length = t_ms + FRAME_MS - self._start_ms
        if length >= self._max_answer_ms:
            breath = t_ms - self._last_speech_ms >= s.breath_ms
            if breath or length >= self._max_answer_ms + s.breath_wait_ms:
                self.floor = Floor.HOLD if vad.speaking else Floor.QUIET
                self._question = None
                end = self._last_speech_ms + FRAME_MS if breath else t_ms + FRAME_MS
                return self._ended(end, truncated=True, ended_by=EndedBy.LIMIT)
        thinking = False
        if self._judging(t_ms):
            finished, thinking = self._judge_pause(t_ms)
            limit = s.end_of_turn_patience_ms
        else:
            finished = False
            limit = s.end_of_turn_silence_ms
        if finished or t_ms - self._last_speech_ms >= limit:
            self.floor = Floor.QUIET
            self._question = None
            ended_by = EndedBy.WORDS if thinking else EndedBy.MODEL
            if not finished:
                said = self._said()
                cue = None if said is None else read_cue(said, self._language)
                self._verdict = (self._verdict[0], cue)
                self._lag_at_verdict = self._lag()
                thinking = cue is Cue.THINKING
                ended_by = EndedBy.SILENCE
            end = self._last_speech_ms + FRAME_MS
            return self._ended(end, truncated=False, ended_by=ended_by, thinking=thinking)
        return None

    def _ended(
        self, end_ms: int, truncated: bool, ended_by: EndedBy, thinking: bool = False
    ) -> UtteranceEnded:
        asked = self._last_question
        probability, cue = self._verdict
        return UtteranceEnded(
            self._start_ms,
            end_ms,
            truncated,
            thinking,
            ended_by,
            None if asked is None else asked.asked,
            None if asked is None else asked.answered,
            self._asked if self._asked_pause_ms == self._last_speech_ms else 0,
            probability,
            cue,
            self._lag_at_verdict,
        )

    def _judging(self, t_ms: int) -> bool:
        return self._judge is not None and bool(self._audio) and self._audio[-1][0] == t_ms

    def _said(self) -> str | None:
        return "" if self._words is None else self._words()

    def _judge_pause(self, t_ms: int) -> tuple[bool, bool]:
        """Ask about this pause once it is long enough; (finished, thinking) once answered."""
        assert self._judge is not None
        s = self._settings
        question = self._question
        if question is not None and question.last_speech_ms != self._last_speech_ms:
            question.verdict.cancel()  # speech resumed: that pause is over
            question = self._question = None
        silence = t_ms - self._last_speech_ms
        if question is None:
            if not self._due_to_ask(silence):
                return False, False
            self._asked += 1
            asked = now()
            verdict = self._judge.submit(self._turn_audio())
            question = self._question = self._last_question = _Question(
                self._last_speech_ms, t_ms + s.end_of_turn_budget_ms, verdict, asked
            )
        if t_ms < question.due_ms or not question.verdict.done():
            return False, False
        try:
            probability = question.verdict.result(timeout=0)
        except (ModelError, CancelledError):
            # Cancelled: the gateway is shutting the judge down.
            log.warning("end-of-turn model failed: turns end on silence", exc_info=True)
            self._question = None
            self._judge = None
            return False, False
        # A second opinion on the same pause must be surer than the first.
        threshold = s.end_of_turn_threshold if self._asked == 1 else s.end_of_turn_recheck_threshold
        finished = probability >= threshold
        said = self._said()
        # Only a finished-sounding pause waits for the words (they may hold it):
        # an unfinished one keeps listening anyway.
        if finished and said is None and self._words_coming(t_ms - question.due_ms):
            return False, False
        self._question = None
        cue = read_cue(said or "", self._language)
        self._verdict = (round(probability, 3), None if said is None else cue)
        self._lag_at_verdict = self._lag()
        if cue is Cue.THINKING:
            return True, True
        return finished and cue is not Cue.HOLD, False

    def _due_to_ask(self, silence_ms: int) -> bool:
        """Whether this pause, ``silence_ms`` long, is due a (further) question."""
        s = self._settings
        if self._asked_pause_ms != self._last_speech_ms:
            self._asked_pause_ms, self._asked = self._last_speech_ms, 0
        if self._asked > s.end_of_turn_rechecks:
            return False
        return silence_ms >= s.end_of_turn_check_ms + self._asked * s.end_of_turn_recheck_ms

    def _lag(self) -> int | None:
        return None if self._words_lag is None else self._words_lag()

    def _words_coming(self, waited_ms: int) -> bool:
        """Whether the words may still come in time for a verdict waiting this long."""
        left_ms = self._settings.words_wait_ms - waited_ms
        return left_ms > 0 and (self._words_lag is None or self._words_lag() <= left_ms)

    def _turn_audio(self) -> bytes:
        since = self._start_ms - JUDGE_LEAD_IN_MS
        return b"".join(pcm for t_ms, pcm in self._audio if t_ms >= since)

    def _barged(self, vad: VadResult) -> Signal | None:
        burst_ms = self._last_speech_ms + FRAME_MS - self._burst_start_ms
        if burst_ms >= self._settings.false_interruption_ms:
            self.floor = Floor.SPEAKING
            return InterruptionConfirmed()
        if vad.speaking:
            return None
        if not is_interruption(self._said() or "", self._language):
            self.floor = self._barged_from
            return FalseInterruption()
        self.floor = Floor.SPEAKING
        return InterruptionConfirmed()

    def _maybe_barge_in(self, t_ms: int, keep_start: bool = False) -> Signal | None:
        onset = self._eligible_start
        if onset is None:
            return None
        span_frames = (t_ms - onset) // FRAME_MS + 1
        if span_frames * FRAME_MS < self._settings.interruption_speech_ms:
            return None
        if self._eligible_frames < span_frames * SUSTAINED_SPEECH_SHARE:
            return None
        self._burst_start_ms = onset
        self._barged_from = self.floor
        if keep_start:
            self._last_speech_ms = t_ms
        else:
            self._open(onset, t_ms)
        self._deadline_ms = None
        self.floor = Floor.BARGED
        return BargedIn(onset)

    def _open(self, start_ms: int, t_ms: int) -> None:
        self._start_ms = start_ms
        self._last_speech_ms = t_ms
        self._question = None
        self._asked_pause_ms = None
        self._last_question = None
        self._verdict = (None, Cue.NONE)
        self._lag_at_verdict = None
