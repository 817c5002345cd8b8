"""The scripted answers of the conversation benchmark: what is said, by whom, how.

Every `Item` is one answer to one interviewer question, spoken by an eSpeak
NG voice (several voices and variants) or a Flite voice (voices built from
real speakers, much closer to a person's words and prosody; the report
gives the figures of each synthesizer apart) and, for some, mixed with fan
or babble noise from `zenhire.bench.noise` at 10 dB SNR: `sessions` puts
the answers in interviews, each in one room (quiet, a fan, a room of
voices) whose noise runs under the whole interview, pauses included:

- ``finished``: one sentence, then silence;
- ``paused``: a first part ending on "and", "but", "because", "so", "um"
  (or on nothing), a pause of 1 to 4 s, the rest;
- ``thinking``: "let me think" (or the like), a pause for the
  interviewer's acknowledgement and a few seconds more, then the answer;
- ``backchannel``: "mm-hm", "okay", "right", "yeah" or a cough while the
  interviewer asks, then the answer once it is done;
- ``interruption``: a real question over the interviewer's, as the answer.

The corpus is fixed (texts, voices, seeds), so two runs hear the same audio.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cache

import numpy as np

from audio.frames import FRAME_BYTES, SAMPLE_RATE, split_frames
from zenhire.bench.noise import babble, fan, frame_truth, to_pcm
from zenhire.loopback.speech import FLITE_PREFIX, synthesize

ESPEAK_VOICES = (
    "en-us",
    "en-gb",
    "en-us+f3",
    "en-us+m3",
    "en-gb-scotland",
    "en-029",
    "en-gb-x-rp+f2",
    "en-us+klatt",
)
FLITE_VOICES = ("flite:slt", "flite:rms", "flite:awb", "flite:kal16")
VOICES = (*ESPEAK_VOICES, *FLITE_VOICES)
NOISE_SNR_DB = 10.0
NOISE_SEED = 15
NOISE_LOOP_SEC = 12
COUGH_MS = 220

FINISHED = (
    "I have spent six years building payment systems in Python and Go.",
    "Last year I led the migration of our ledger to a new database.",
    "In code review I look for clear names and small functions.",
    "The hardest decision I made was to stop a project that had lost its purpose.",
    "I keep learning by reading source code and by teaching my team.",
    "My best project was a scheduling tool that nurses still use every day.",
    "I enjoy debugging production issues with a calm and careful team.",
    "We shipped the new search feature two weeks ahead of the plan.",
)
# (first part, rest): the first part promises more.
PAUSED = (
    ("I worked on the billing platform for three years and", "then I moved to the data team."),
    ("We had a serious outage last spring but", "we recovered within the hour."),
    ("I chose that company because", "the mission mattered to me."),
    ("The tests were slow so", "I split them into parallel jobs."),
    ("My first job was at a small agency um", "where I built websites for shops."),
    ("I like working with designers and", "product managers from the start."),
    ("We rewrote the service in Go because", "the old one could not scale."),
)
THINKING = (
    ("Let me think.", "I would say my strongest skill is planning large migrations."),
    ("Give me a moment.", "The project I am proudest of is our open source library."),
    ("One second.", "I usually start by reproducing the problem on my machine."),
    ("Let me think about that.", "I think clear ownership matters most in a team."),
)
BACKCHANNELS = ("mm-hm", "okay", "right", "yeah", "cough")
INTERRUPTIONS = (
    "Sorry, could you repeat the question please?",
    "Wait, do you mean my current job or the previous one?",
    "Sorry, I did not catch the last part of that.",
    "Excuse me, could you say that again more slowly?",
)


@dataclass(frozen=True)
class Item:
    """One scripted answer; ``parts`` are speech, ``pause_sec`` the silence between
    the first two; ``noise``: None, "fan" or "babble" (under the whole session)."""

    kind: str
    voice: str
    parts: tuple[str, ...]
    pause_sec: float = 0.0
    noise: str | None = None

    @property
    def label(self) -> str:
        pause = f" {self.pause_sec:g}s" if self.pause_sec else ""
        return f"{self.kind}{pause} [{self.voice}{', ' + self.noise if self.noise else ''}]"


# Answers per interview (the plan's questions), and the room each interview is
# in, in turn: the noise runs from the session's first frame to its last.
QUESTIONS = 7
ROOMS = (None, "fan", "babble", None, "fan", None, "babble")


def sessions() -> list[list[Item]]:
    """The corpus as interviews of `QUESTIONS` answers or fewer, each in one room
    (every item's ``noise`` is its session's)."""
    items = corpus()
    count = -(-len(items) // QUESTIONS)
    return [items[i::count] for i in range(count)]


def corpus() -> list[Item]:
    """The 44 answers, interleaved by kind so every session hears a mix."""
    espeak, flite = itertools.cycle(ESPEAK_VOICES), itertools.cycle(FLITE_VOICES)

    def voice(index: int, run: int = 1) -> str:
        """Runs of ``run`` answers of a kind alternate between the synthesizers, so
        that each is heard on every variant (every pause length, every token)."""
        return next(flite if index // run % 2 else espeak)

    pauses = itertools.cycle((1.0, 1.5, 2.0, 2.5, 3.0, 4.0))
    finished = [Item("finished", voice(i), (t,)) for i, t in enumerate(FINISHED)]
    paused = [
        Item("paused", voice(i, run=6), pair, next(pauses))
        for i, pair in enumerate((*PAUSED, *PAUSED[:5]))  # twelve, every pause length twice
    ]
    # The second round starts on the other synthesizer, so that each phrase is
    # heard from both.
    thinking = [
        Item("thinking", voice(i + i // len(THINKING)), pair, 3.0)
        for i, pair in enumerate((*THINKING, *THINKING[:2]))
    ]
    backchannel = [
        Item("backchannel", voice(i), (token, FINISHED[i % len(FINISHED)]))
        for i, token in enumerate((*BACKCHANNELS, *BACKCHANNELS, *BACKCHANNELS[:4]))
    ]
    interruption = [Item("interruption", voice(i), (t,)) for i, t in enumerate(INTERRUPTIONS)]
    groups = [finished, paused, thinking, backchannel, interruption]
    items = [item for batch in itertools.zip_longest(*groups) for item in batch if item is not None]
    count = -(-len(items) // QUESTIONS)
    return [
        Item(i.kind, i.voice, i.parts, i.pause_sec, ROOMS[n % count % len(ROOMS)])
        for n, i in enumerate(items)
    ]


SYNTHESIZERS = ("espeak", "flite")


def synthesizer(voice: str) -> str:
    """``"flite"`` or ``"espeak"``: which synthesizer speaks ``voice``."""
    return "flite" if voice.startswith(FLITE_PREFIX) else "espeak"


@cache
def speech(text: str, voice: str) -> bytes:
    """``text`` in ``voice`` (24 kHz PCM16), or a synthetic cough for "cough"."""
    if text == "cough":
        rng = np.random.default_rng(NOISE_SEED)
        n = SAMPLE_RATE * COUGH_MS // 1000
        burst = np.diff(rng.standard_normal(n + 1)) * np.exp(-np.arange(n) / (n / 3)) * 4000.0
        return to_pcm(burst)
    return synthesize(text, SAMPLE_RATE, voice)


def frames(pcm: bytes) -> list[bytes]:
    whole, tail = split_frames(pcm)
    return whole + ([tail + bytes(FRAME_BYTES - len(tail))] if tail else [])


@cache
def noise_loop(kind: str) -> np.ndarray:
    """``NOISE_LOOP_SEC`` of ``kind`` noise scaled to ``NOISE_SNR_DB`` under the corpus's speech."""
    reference = np.frombuffer(speech(FINISHED[0], VOICES[0]), dtype="<i2").astype(np.float64)
    reference = reference[: reference.size - reference.size % (FRAME_BYTES // 2)]
    voiced = reference.reshape(-1, FRAME_BYTES // 2)[frame_truth(reference)]
    n = SAMPLE_RATE * NOISE_LOOP_SEC
    raw = fan(n, NOISE_SEED) if kind == "fan" else babble(n, NOISE_SEED)
    gain = np.sqrt(np.mean(voiced**2) / np.mean(raw**2) / 10.0 ** (NOISE_SNR_DB / 10.0))
    return np.asarray(raw * gain)


class Microphone:
    """What one session's candidate sends: frames of speech or silence, plus its noise."""

    def __init__(self, noise: str | None) -> None:
        self._noise = None if noise is None else noise_loop(noise)
        self._at = 0

    def frame(self, pcm: bytes) -> bytes:
        if self._noise is None:
            return pcm
        n = FRAME_BYTES // 2
        if self._at + n > self._noise.size:
            self._at = 0
        mixed = np.frombuffer(pcm, dtype="<i2") + self._noise[self._at : self._at + n]
        self._at += n
        return to_pcm(mixed)
