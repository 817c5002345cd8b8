"""Voice activity in noise: today's spectral detector against Silero VAD.

    python -m zenhire.bench.vad                      table on stdout
    python -m zenhire.bench.vad --json vad.json      and the numbers as JSON

Each detector hears the same tracks (:mod:`zenhire.bench.noise`): four eSpeak
NG voices reading five answers with pauses, clean and mixed with fan, babble
and keyboard noise at 10 and 0 dB SNR. Per condition, over all voices:

* ``accuracy``, ``recall``, ``precision``: the raw per-frame decision
  (``is_speech``, what ends a turn) against the clean speech's energy;
* ``false_starts_per_min``: smoothed starts (``started``, what opens a turn or
  barges in) in noise-only stretches, at least 300 ms from any speech;
* ``answers_found``: answers during which ``speaking`` came on, of all;
* ``onset_ms``: median delay from an answer's first speech frame to ``speaking``;
* ``cpu_us_per_frame``: process CPU time per 20 ms frame (one thread).

Each detector hears a track as the local interviewer's frame loop drives
it: the room is what it hears while no turn is open (`audio.silero`; the
turns here end on the silence timer). Silero runs on the installed model
file (``scripts/install``), as the
gateway runs it (``silero``: with its foreground gate, `audio.silero`) and
without the gate (``silero, no gate``), which shows what the gate is for:
under babble, Silero alone calls nearly every frame speech.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from audio.frames import FRAME_MS, split_frames
from audio.models import SILERO_VAD_FILE, installed
from audio.silero import SileroModel, SileroSettings, SileroVad
from audio.vad import VadResult, VoiceActivityDetector
from gateway.interviewer.local.settings import LocalInterviewerSettings
from gateway.interviewer.local.turntaking import Floor, TurnTracker, UtteranceEnded
from zenhire.bench.noise import NOISES, VOICES, answer_track, frame_truth, mix, to_pcm

SNRS_DB = (10.0, 0.0)
# Noise-only frames are at least this far from any speech frame.
NOISE_ONLY_MARGIN_FRAMES = 300 // FRAME_MS
NOISE_SEED = 20


class Detector(Protocol):
    def process(self, pcm: bytes, room: bool = True) -> VadResult: ...


@dataclass(frozen=True)
class Score:
    detector: str
    condition: str
    accuracy: float
    recall: float
    precision: float
    false_starts_per_min: float
    answers_found: int
    answers: int
    onset_ms: float
    cpu_us_per_frame: float


@dataclass
class _Tally:
    hits: int = 0
    truths: int = 0
    claims: int = 0
    agree: int = 0
    frames: int = 0
    false_starts: int = 0
    noise_frames: int = 0
    found: int = 0
    answers: int = 0
    cpu_s: float = 0.0

    def add(self, results: list[VadResult], truth: npt.NDArray[np.bool_], cpu_s: float) -> None:
        raw = np.array([r.is_speech for r in results])
        self.hits += int(np.sum(raw & truth))
        self.truths += int(truth.sum())
        self.claims += int(raw.sum())
        self.agree += int(np.sum(raw == truth))
        self.frames += truth.size
        self.cpu_s += cpu_s
        near = np.convolve(truth, np.ones(2 * NOISE_ONLY_MARGIN_FRAMES + 1), "same") > 0
        started = np.array([r.started for r in results])
        self.false_starts += int(np.sum(started & ~near))
        self.noise_frames += int(np.sum(~near))

    def score(self, detector: str, condition: str, onsets: list[int]) -> Score:
        return Score(
            detector=detector,
            condition=condition,
            accuracy=round(self.agree / self.frames, 4),
            recall=round(self.hits / max(1, self.truths), 4),
            precision=round(self.hits / max(1, self.claims), 4),
            false_starts_per_min=round(
                self.false_starts / max(1e-9, self.noise_frames * FRAME_MS / 60_000), 2
            ),
            answers_found=self.found,
            answers=self.answers,
            onset_ms=float(np.median(onsets)) * FRAME_MS if onsets else float("nan"),
            cpu_us_per_frame=round(self.cpu_s / self.frames * 1e6, 1),
        )


def _answers(truth: npt.NDArray[np.bool_]) -> Iterator[tuple[int, int]]:
    """(first, last + 1) frame of each answer: speech runs split by pauses over 300 ms."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], truth.astype(int), [0]])))
    runs = list(zip(edges[::2], edges[1::2], strict=True))
    start, end = runs[0]
    for begin, finish in runs[1:]:
        if begin - end > NOISE_ONLY_MARGIN_FRAMES:
            yield int(start), int(end)
            start = begin
        end = finish
    yield int(start), int(end)


def as_the_interviewer_hears(
    detector: Detector, frames: list[bytes]
) -> tuple[list[VadResult], list[int]]:
    """Each frame's verdict, the room being what is heard while no turn is open, as the
    local interviewer's frame loop tells the detector; the frames at which turns
    ended (here on the silence timer)."""
    tracker = TurnTracker(LocalInterviewerSettings(end_of_turn_model=False))
    results, ends = [], []
    for index, frame in enumerate(frames):
        result = detector.process(frame, room=tracker.floor is Floor.QUIET)
        results.append(result)
        if isinstance(tracker.step(index * FRAME_MS, result, False, 0), UtteranceEnded):
            ends.append(index)
    return results, ends


def compare(detectors: dict[str, Callable[[], Detector]]) -> list[Score]:
    """Every detector on every voice and condition; one score per detector and condition."""
    tracks = []
    for voice in VOICES:
        clean = answer_track(voice)
        tracks.append((clean, frame_truth(clean)))
    conditions: dict[str, list[bytes]] = {"clean": []}
    for index, (clean, truth) in enumerate(tracks):
        conditions["clean"].append(to_pcm(clean))
        for name, make in NOISES.items():
            noise = make(clean.size, NOISE_SEED + index)
            for snr in SNRS_DB:
                conditions.setdefault(f"{name} {snr:g} dB", []).append(
                    mix(clean, truth, noise, snr)
                )
    scores = []
    for condition, mixes in conditions.items():
        for name, make_detector in detectors.items():
            tally, onsets = _Tally(), []
            for (_, truth), pcm in zip(tracks, mixes, strict=True):
                detector = make_detector()
                frames, _ = split_frames(pcm)
                began = time.process_time()
                results, _ = as_the_interviewer_hears(detector, frames)
                tally.add(results, truth, time.process_time() - began)
                speaking = np.array([r.speaking for r in results])
                for first, last in _answers(truth):
                    tally.answers += 1
                    on = np.flatnonzero(speaking[first:last])
                    if on.size:
                        tally.found += 1
                        onsets.append(int(on[0]))
            scores.append(tally.score(name, condition, onsets))
    return scores


def markdown(scores: list[Score]) -> str:
    head = (
        "| condition | detector | accuracy | recall | precision | false starts/min"
        " | answers found | onset ms | CPU µs/frame |\n|---|---|---|---|---|---|---|---|---|"
    )
    rows = [
        f"| {s.condition} | {s.detector} | {s.accuracy:.3f} | {s.recall:.3f} | {s.precision:.3f}"
        f" | {s.false_starts_per_min:.1f} | {s.answers_found}/{s.answers} | {s.onset_ms:.0f}"
        f" | {s.cpu_us_per_frame:.0f} |"
        for s in scores
    ]
    return "\n".join([head, *rows])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zenhire.bench.vad", description=__doc__)
    parser.add_argument("--json", type=Path, default=None, help="write the scores here")
    args = parser.parse_args(argv)
    silero_path = installed(SILERO_VAD_FILE)
    if silero_path is None:
        print("Silero VAD is not installed: run scripts/install", file=sys.stderr)
        return 1
    model = SileroModel(silero_path)
    scores = compare(
        {
            "spectral": VoiceActivityDetector,
            "silero, no gate": lambda: SileroVad(model, SileroSettings(foreground_db=0.0)),
            "silero": lambda: SileroVad(model),
        }
    )
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(s) for s in scores], indent=2) + "\n")
    print(markdown(scores))
    return 0


if __name__ == "__main__":
    sys.exit(main())
