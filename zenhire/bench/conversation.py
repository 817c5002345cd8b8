"""``zenhire bench --only conversation``: the local interviewer's manners, measured.

The corpus (`zenhire.bench.corpus`, 44 scripted answers) is replayed
through a real gateway (``zenhire gateway serve`` on its own core, the local
interviewer) by scripted candidates on the WebSocket transport, in real
time, several sessions at once. The same corpus runs twice in one call:
with the end-of-turn model (the default) and with the silence timer
(``ZENHIRE_LOCAL_END_OF_TURN_MODEL=false``, the baseline). Per mode:

* ``cut_ins``: interviewer audio reaching the candidate inside a
  mid-answer pause (``paused`` items, by pause length; goal: 0 up to 3 s),
  or a next question inside a "let me think" wait (``thinking`` items);
* ``backchannel_stops``: backchannels during a question after which the
  question's audio stopped for more than `STOP_GAP_SEC` (paused, then
  resumed) and ``backchannel_abandoned``: after which the question was
  given up (the backchannel taken as the answer); goal: 0;
* ``response_ms``: end of a finished answer (its last voiced frame sent)
  → first interviewer audio received (goal p50 ≤ 700, p95 ≤ 1,200 ms);
* ``barge_in_stop_ms``: onset of a real interruption → the last
  interviewer audio frame received before it stopped (p50, p95);
* ``replies``: where each response's time went (`zenhire.bench.replies`):
  the gateway's ``reply timing`` log lines matched to the answers, each
  stage in ms after the answer's end, p50/p95 per stage, and per item in
  ``breakdown``.

Times are the candidate's monotonic clock (the gateway's is the same
clock); they include the WebSocket path.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import tempfile
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import websockets

from audio.frames import FRAME_SEC, SILENCE
from gateway.interviewer import Persona
from gateway.interviewer.local.plan import Plan, QuestionCatalog
from zenhire.bench import replies
from zenhire.bench.corpus import (
    QUESTIONS,
    SYNTHESIZERS,
    Item,
    Microphone,
    frames,
    speech,
    synthesizer,
)
from zenhire.bench.corpus import (
    sessions as corpus_sessions,
)
from zenhire.bench.lifecycle import idle_upstream, percentiles
from zenhire.bench.material import VOICED_PEAK
from zenhire.bench.stack import Rig, rig
from zenhire.tasks import TaskGroup

log = logging.getLogger("zenhire.bench")

PARALLEL = 3
QUIET_SEC = 0.6  # the interviewer is done speaking after this long without audio
INTO_PROMPT_SEC = 1.2  # a backchannel or interruption this far into a question
STOP_GAP_SEC = 0.15  # a gap this long in a question's audio is a stop
STOPPED_SEC = 0.3  # after an interruption, no audio this long: the prompt stopped
ACK_WAIT_SEC = 4.0
WAIT_SEC = 40.0
SESSION_TIMEOUT_SEC = 400.0
MODES = {
    "end_of_turn_model": {},
    "silence_timer": {"ZENHIRE_LOCAL_END_OF_TURN_MODEL": "false"},
}
GATEWAY_ENV = {
    "ZENHIRE_INTERVIEWER": "local",
    "ZENHIRE_LOCAL_MAX_QUESTIONS": str(QUESTIONS),
    "ZENHIRE_LOCAL_SHORT_ANSWER_MS": "500",
    "ZENHIRE_LOCAL_TTS_WORDS_PER_MINUTE": "200",
}


@dataclass
class _Heard:
    """What one candidate received: audio arrival times and interviewer captions."""

    audio: list[float] = field(default_factory=list)
    prompts: list[tuple[float, str]] = field(default_factory=list)
    ended: asyncio.Event = field(default_factory=asyncio.Event)

    def audio_after(self, t: float) -> list[float]:
        return [a for a in self.audio if a > t]

    def prompts_after(self, t: float) -> list[tuple[float, str]]:
        return [p for p in self.prompts if p[0] > t]


@dataclass
class Outcome:
    """One item's measurements (None: not applicable or not reached)."""

    item: Item
    cut_in: bool | None = None
    response_ms: float | None = None
    stopped: bool | None = None
    abandoned: bool | None = None
    stop_ms: float | None = None
    lost: bool = False
    session_id: str = ""
    end: float | None = None  # the answer's last voiced frame sent (response_ms's origin)
    heard: float | None = None  # the reply's first audio received


class _Mouth:
    """Frames to send, paced at 20 ms by `run`, with the send time of marked frames."""

    def __init__(self, microphone: Microphone) -> None:
        self._microphone = microphone
        self._queue: deque[tuple[bytes, str | None]] = deque()
        self.sent: dict[str, float] = {}
        self._drained = asyncio.Event()
        self.closed = False

    async def say(self, pcm: bytes, mark: str) -> None:
        """Speak ``pcm``; marks ``<mark>.start``/``<mark>.end`` at its first/last voiced frame."""
        chunk = frames(pcm)
        voiced = [i for i, f in enumerate(chunk) if _voiced(f)]
        for i, frame in enumerate(chunk):
            tag = f"{mark}.start" if i == voiced[0] else f"{mark}.end" if i == voiced[-1] else None
            self._queue.append((frame, tag))
        await self._flush()

    async def _flush(self) -> None:
        if not self.closed:
            self._drained.clear()
            await self._drained.wait()

    async def pause(self, seconds: float) -> None:
        self._queue.extend((SILENCE, None) for _ in range(round(seconds / FRAME_SEC)))
        await self._flush()

    async def run(self, socket: websockets.ClientConnection) -> None:
        next_at = time.monotonic()
        while True:
            frame, tag = self._queue.popleft() if self._queue else (SILENCE, None)
            try:
                await socket.send(self._microphone.frame(frame))
            except websockets.ConnectionClosed:
                self.closed = True  # the gateway ended the interview
                self._drained.set()
                return
            if tag is not None:
                self.sent[tag] = time.monotonic()
            if not self._queue:
                self._drained.set()
            next_at += FRAME_SEC
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))


def _voiced(frame: bytes) -> bool:
    return bool(np.abs(np.frombuffer(frame, dtype="<i2")).max() > VOICED_PEAK)


async def _until(check: Callable[[], bool], within_sec: float = WAIT_SEC) -> bool:
    deadline = time.monotonic() + within_sec
    while not check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(FRAME_SEC)
    return True


class _Script:
    """One session's candidate working through its items."""

    def __init__(self, heard: _Heard, mouth: _Mouth, thinking_ack: str) -> None:
        self.heard, self.mouth, self._ack = heard, mouth, thinking_ack
        self._since = 0.0  # the end of the previous answer

    async def _next_prompt(self) -> float | None:
        """Wait for a question asked after the previous answer; its first audio time."""
        heard = self.heard
        greeting = heard.prompts[0][0] if heard.prompts else 0.0

        def asked() -> list[tuple[float, str]]:
            return [
                p
                for p in heard.prompts_after(max(self._since, greeting))
                if p[1] != self._ack and p[0] > greeting
            ]

        if not await _until(lambda: bool(heard.prompts) and bool(asked())):
            return None
        at = asked()[0][0]
        if not await _until(lambda: bool(heard.audio_after(at))):
            return None
        return heard.audio_after(at)[0]

    async def _quiet(self) -> bool:
        heard = self.heard
        return await _until(lambda: time.monotonic() - heard.audio[-1] > QUIET_SEC)

    def _respond(self, outcome: Outcome, end: float) -> None:
        after = self.heard.audio_after(end)
        outcome.end = end
        outcome.heard = after[0] if after else None
        outcome.response_ms = (after[0] - end) * 1000 if after else None

    async def play(self, index: int, item: Item) -> Outcome:
        outcome = Outcome(item)
        first_audio = await self._next_prompt()
        if first_audio is None:
            outcome.lost = True
            return outcome
        mark = f"a{index}"
        voice, mouth = item.voice, self.mouth
        if item.kind in ("backchannel", "interruption"):
            await asyncio.sleep(max(0.0, first_audio + INTO_PROMPT_SEC - time.monotonic()))
            await mouth.say(speech(item.parts[0], voice), f"{mark}.x")
            onset = mouth.sent[f"{mark}.x.start"]
            if item.kind == "interruption":
                await self._quiet()
                outcome.stop_ms = _stop_ms(self.heard.audio, onset)
                self._since = mouth.sent[f"{mark}.x.end"]
                return outcome
            await self._quiet()
            outcome.stopped = _max_gap(self.heard.audio_after(onset)) > STOP_GAP_SEC
            # Taken as the answer, the backchannel gets a reply: a new prompt before
            # the real answer. (Not the candidate's final captions: they follow the
            # recognizer, seconds late under load, and may be an earlier answer's.)
            outcome.abandoned = bool(self.heard.prompts_after(onset))
            await mouth.say(speech(item.parts[1], voice), mark)
        else:
            await self._quiet()
            await mouth.say(speech(item.parts[0], voice), f"{mark}.1")
            if item.kind == "finished":
                end = mouth.sent[f"{mark}.1.end"]
                await _until(lambda: bool(self.heard.audio_after(end)))
                self._respond(outcome, end)
                self._since = end
                return outcome
            end1 = mouth.sent[f"{mark}.1.end"]
            if item.kind == "thinking":
                await _until(lambda: bool(self.heard.audio_after(end1)), ACK_WAIT_SEC)
                await self._quiet()
            await mouth.pause(item.pause_sec)
            await mouth.say(speech(item.parts[1], voice), mark)
            start2 = mouth.sent[f"{mark}.start"]
            if item.kind == "paused":
                outcome.cut_in = any(end1 < a < start2 for a in self.heard.audio)
            else:
                others = [p for p in self.heard.prompts_after(end1) if p[0] < start2]
                outcome.cut_in = any(text != self._ack for _, text in others)
        end = mouth.sent[f"{mark}.end"]
        await _until(lambda: bool(self.heard.audio_after(end)))
        if not outcome.cut_in:
            self._respond(outcome, end)
        self._since = end
        return outcome


def _max_gap(times: list[float]) -> float:
    return max((b - a for a, b in itertools.pairwise(times)), default=0.0)


def _stop_ms(times: list[float], onset: float) -> float:
    """Onset → the last audio frame before the first gap of `STOPPED_SEC` after it."""
    after = [a for a in times if a >= onset]
    last = onset
    for a, b in zip(after, [*after[1:], float("inf")], strict=True):
        last = a
        if b - a > STOPPED_SEC:
            break
    return (last - onset) * 1000


async def _session(found: Rig, number: int, items: list[Item]) -> list[Outcome]:
    session_id, ticket = await found.admit_session(300_000 + number)
    url = found.gateway_url.replace("http://", "ws://") + "/api/v1/candidate/ws"
    heard = _Heard()
    mouth = _Mouth(Microphone(items[0].noise))
    script = _Script(heard, mouth, _english().phrases.thinking)
    outcomes: list[Outcome] = []
    async with websockets.connect(url, max_queue=None) as socket:
        await socket.send(json.dumps({"type": "hello", "ticket": ticket}))

        async def receive() -> None:
            try:
                await take(socket)
            except websockets.ConnectionClosed as closed:
                # Closed without an `ended` (a page the gateway found flooding or
                # too slow, 1008): what is left of this session is lost, not fatal.
                log.warning("session %d closed by the gateway: %s", number, closed)
                heard.ended.set()

        async def take(socket: websockets.ClientConnection) -> None:
            async for message in socket:
                now = time.monotonic()
                if isinstance(message, bytes):
                    heard.audio.append(now)
                    continue
                event = json.loads(message)
                final = event.get("type") == "caption" and event.get("final")
                if final and event.get("speaker") == "interviewer":
                    heard.prompts.append((now, str(event.get("text", ""))))
                elif event.get("type") == "ended":
                    heard.ended.set()
                    return

        async def act() -> None:
            for index, item in enumerate(items):
                if heard.ended.is_set() or mouth.closed:
                    outcomes.append(Outcome(item, lost=True, session_id=session_id))
                    continue
                try:
                    played = await script.play(index, item)
                except KeyError:  # a mark never sent: the interview ended meanwhile
                    played = Outcome(item, lost=True)
                played.session_id = session_id
                outcomes.append(played)
            if not heard.ended.is_set():
                with contextlib.suppress(websockets.ConnectionClosed):
                    await socket.send(json.dumps({"type": "end"}))
            await asyncio.wait_for(heard.ended.wait(), WAIT_SEC)

        async with asyncio.timeout(SESSION_TIMEOUT_SEC), TaskGroup() as group:
            receiver = group.create_task(receive())
            sender = group.create_task(mouth.run(socket))
            await act()
            sender.cancel()
            receiver.cancel()
    return outcomes


async def _mode(
    options: Any,
    label: str,
    env: dict[str, str],
    work_dir: Path,
    sessions: int,
    parallel: int,
) -> dict[str, Any]:
    groups = corpus_sessions()[:sessions]
    gate = asyncio.Semaphore(parallel)
    async with rig(work_dir / label, await idle_upstream(options)) as found:
        gateway_env = {**options.gateway_env, **GATEWAY_ENV, **env}
        async with found.gateway(label, options.gateway_core, gateway_env):

            async def one(number: int, group: list[Item]) -> list[Outcome]:
                async with gate:
                    return await _session(found, number, group)

            async with TaskGroup() as tasks:
                runs = [tasks.create_task(one(n, g)) for n, g in enumerate(groups)]
        timings = replies.read_timings(found.work_dir / f"gateway-{label}.log")
    outcomes = [o for run in runs for o in run.result()]
    return {**summarize(outcomes), **_breakdown(outcomes, timings)}


def _breakdown(outcomes: list[Outcome], timings: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Each response's stages (`zenhire.bench.replies`), per item and summarized."""
    lines = []
    for o in outcomes:
        if o.end is None or o.response_ms is None:
            continue
        record = replies.match(timings.get(o.session_id, []), o.end)
        lines.append({"item": o.item.label, **replies.breakdown(o.end, o.heard, record)})
    return {"replies": replies.summarize(lines), "breakdown": lines}


def summarize(outcomes: list[Outcome], by_synthesizer: bool = True) -> dict[str, Any]:
    """The figures of ``outcomes``; with ``by_synthesizer``, also those of each
    synthesizer's answers apart (`SYNTHESIZER_ROWS`)."""

    def of(kind: str) -> list[Outcome]:
        return [o for o in outcomes if o.item.kind == kind and not o.lost]

    paused = of("paused")
    by_pause: dict[str, list[int]] = {}
    for o in paused:
        counts = by_pause.setdefault(f"{o.item.pause_sec:g}s", [0, 0])
        counts[0] += bool(o.cut_in)
        counts[1] += 1
    backchannels = of("backchannel")
    responses = [o.response_ms for o in outcomes if o.response_ms is not None]
    stops = [o.stop_ms for o in of("interruption") if o.stop_ms is not None]
    figures: dict[str, Any] = {
        "items": len(outcomes),
        "lost": sum(o.lost for o in outcomes),
        "cut_ins_paused": sum(bool(o.cut_in) for o in paused),
        "cut_ins_paused_up_to_3s": sum(bool(o.cut_in) for o in paused if o.item.pause_sec <= 3),
        "paused": len(paused),
        "cut_ins_by_pause": {k: f"{v[0]}/{v[1]}" for k, v in sorted(by_pause.items())},
        "cut_ins_thinking": sum(bool(o.cut_in) for o in of("thinking")),
        "thinking": len(of("thinking")),
        "backchannel_stops": sum(bool(o.stopped) for o in backchannels),
        "backchannel_abandoned": sum(bool(o.abandoned) for o in backchannels),
        "backchannels": len(backchannels),
        "response_ms": percentiles(responses),
        "responses": len(responses),
        "barge_in_stop_ms": percentiles(stops),
        "interruptions_stopped": f"{len(stops)}/{len(of('interruption'))}",
        "lost_items": [o.item.label for o in outcomes if o.lost],
        "cut_in_items": [o.item.label for o in outcomes if o.cut_in],
    }
    if by_synthesizer:
        figures["by_synthesizer"] = {
            name: summarize([o for o in outcomes if synthesizer(o.item.voice) == name], False)
            for name in SYNTHESIZERS
        }
    return figures


def _english() -> Plan:
    return QuestionCatalog.load().plan(Persona("bench", "Engineer", "en"), QUESTIONS)


async def conversation(
    options: Any, quick: bool = False, parallel: int = PARALLEL
) -> dict[str, Any]:
    """Both modes over the corpus (``quick``: its first two sessions), ``parallel``
    sessions at a time (1: each interview has the gateway's core to itself, as on a
    replica that is not loaded); the figures of each."""
    sessions = 2 if quick else len(corpus_sessions())
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="zenhire-bench-") as scratch:
        work_dir = options.work_dir or Path(scratch)
        for label, env in MODES.items():
            log.info("conversation: %s", label)
            results[label] = await _mode(options, label, env, work_dir, sessions, parallel)
    results["corpus"] = results[next(iter(MODES))]["items"]
    results["parallel"] = parallel
    return results


Row = tuple[str, Callable[[dict[str, Any]], str]]
CUT_INS_UP_TO_3S: Row = (
    "cut-ins, pauses ≤ 3 s (goal 0)",
    lambda r: f"{r['cut_ins_paused_up_to_3s']}",
)
THINKING_MOVED_ON: Row = (
    "moved on during 'let me think'",
    lambda r: f"{r['cut_ins_thinking']}/{r['thinking']}",
)
BACKCHANNEL_ABANDONED: Row = (
    "backchannel: prompt abandoned (goal 0)",
    lambda r: f"{r['backchannel_abandoned']}",
)
RESPONSE_P50: Row = ("answer end → audio p50 ms (≤ 700)", lambda r: f"{r['response_ms']['p50']}")
RESPONSE_P95: Row = ("answer end → audio p95 ms (≤ 1200)", lambda r: f"{r['response_ms']['p95']}")
BARGE_IN: Row = ("barge-in stop p50 / p95 ms", lambda r: _pair(r["barge_in_stop_ms"]))
ROWS: tuple[Row, ...] = (
    CUT_INS_UP_TO_3S,
    ("cut-ins, all pauses", lambda r: f"{r['cut_ins_paused']}/{r['paused']}"),
    ("cut-ins by pause", lambda r: " ".join(f"{k}:{v}" for k, v in r["cut_ins_by_pause"].items())),
    THINKING_MOVED_ON,
    BACKCHANNEL_ABANDONED,
    ("backchannel: prompt paused", lambda r: f"{r['backchannel_stops']}/{r['backchannels']}"),
    RESPONSE_P50,
    RESPONSE_P95,
    BARGE_IN,
    ("items lost", lambda r: f"{r['lost']}/{r['items']}"),
)
# The figures that depend most on how human the voice sounds, per synthesizer.
SYNTHESIZER_ROWS = (
    CUT_INS_UP_TO_3S,
    THINKING_MOVED_ON,
    BACKCHANNEL_ABANDONED,
    RESPONSE_P50,
    RESPONSE_P95,
    BARGE_IN,
)


def _pair(p: dict[str, Any]) -> str:
    return f"{p['p50']} / {p['p95']}"


def markdown(results: dict[str, Any]) -> str:
    modes = [m for m in MODES if m in results]
    lines = [
        f"conversation corpus: {results.get('corpus')} answers",
        "",
        "| measure | " + " | ".join(modes) + " |",
        "|---|" + "---|" * len(modes),
    ]
    lines += [
        f"| {name} | " + " | ".join(cell(results[m]) for m in modes) + " |" for name, cell in ROWS
    ]
    lines += ["", *_synthesizer_table(results, modes), "", *replies.table(results, modes)]
    return "\n".join(lines)


def _synthesizer_table(results: dict[str, Any], modes: list[str]) -> list[str]:
    columns = [
        (mode, name) for mode in modes for name in SYNTHESIZERS if "by_synthesizer" in results[mode]
    ]
    if not columns:
        return []
    lines = [
        "the same figures for each synthesizer's answers apart:",
        "",
        "| measure | " + " | ".join(f"{mode}, {name}" for mode, name in columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    lines += [
        f"| {label} | "
        + " | ".join(cell(results[mode]["by_synthesizer"][name]) for mode, name in columns)
        + " |"
        for label, cell in SYNTHESIZER_ROWS
    ]
    return lines
