"""A session's recording and transcript, spooled to disk as they happen.

Each live session owns a spool folder:

    <spool>/<session_id>/meta.json        who, what, when (written at start)
    <spool>/<session_id>/recording.wav    stereo 24 kHz PCM16, L candidate, R interviewer
    <spool>/<session_id>/turns.jsonl      one transcript turn per line
    <spool>/<session_id>/questions.jsonl  one line per question put to the candidate
    <spool>/<session_id>/switches.jsonl   one line per change of interviewer
    <spool>/<session_id>/transcript.json  assembled when the session ends

The transcript document holds the meta, the ``turns``, the per-question
``responses`` (`gateway.session.responses`) and the ``interviewer_switches``
(another interviewer took over), all on the recording's timeline.

Nothing grows in memory with the interview's length, and a crash leaves a
playable WAV and every finished turn, which `recover` turns into artifacts
on the next start.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

from audio.frames import FRAME_MS
from audio.wav import StereoWavWriter, repair
from gateway.interviewer import InterviewerSwitch, PersonaQuestion, Turn
from gateway.session.responses import QUESTIONS_FILE, Asked, read_lines, responses

TRANSCRIPT_FORMAT = "zenhire.transcript.v1"
SWITCHES_FILE = "switches.jsonl"


class Recording:
    def __init__(self, folder: Path, meta: dict[str, Any]) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self._meta = meta
        (folder / "meta.json").write_text(json.dumps(meta))
        self._wav = StereoWavWriter(folder / "recording.wav")
        self._turns = (folder / "turns.jsonl").open("a", encoding="utf-8")
        self._questions = (folder / QUESTIONS_FILE).open("a", encoding="utf-8")
        self._closed = False

    @property
    def wav_path(self) -> Path:
        return self.folder / "recording.wav"

    @property
    def transcript_path(self) -> Path:
        return self.folder / "transcript.json"

    @property
    def duration_ms(self) -> int:
        return int(self._wav.duration_ms)

    def write(self, candidate: bytes, interviewer: bytes) -> None:
        self._wav.write(candidate, interviewer)

    def add_turn(self, turn: Turn) -> None:
        self._turns.write(json.dumps(asdict(turn), ensure_ascii=False) + "\n")
        self._turns.flush()

    def ask(self, question: PersonaQuestion, t_ms: int) -> None:
        self._questions.write(Asked(question, t_ms).as_line() + "\n")
        self._questions.flush()

    def switch_interviewer(self, switch: InterviewerSwitch) -> None:
        with (self.folder / SWITCHES_FILE).open("a", encoding="utf-8") as switches:
            switches.write(json.dumps(switch.as_json()) + "\n")

    def close(self, extra: dict[str, Any]) -> None:
        """Finish the WAV and write the transcript document. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            self._wav.close()
        finally:
            self._turns.close()
            self._questions.close()
        write_transcript(self.folder, {**self._meta, **extra}, self.duration_ms)


def write_transcript(folder: Path, meta: dict[str, Any], duration_ms: int) -> None:
    turns = read_lines(folder / "turns.jsonl")
    turns.sort(key=lambda turn: (turn["start_ms"], turn["end_ms"]))
    marks = read_lines(folder / QUESTIONS_FILE)
    started_at = meta.get("started_at")
    document = {
        "format": TRANSCRIPT_FORMAT,
        **meta,
        "duration_ms": duration_ms,
        "frame_ms": FRAME_MS,
        "turns": turns,
        "responses": responses(marks, turns, started_at if isinstance(started_at, str) else None),
        "interviewer_switches": read_lines(folder / SWITCHES_FILE),
    }
    (folder / "transcript.json").write_text(json.dumps(document, ensure_ascii=False, indent=1))


def recover(folder: Path) -> tuple[dict[str, Any], int]:
    """Repair a spool folder a crash left behind; return its meta and duration."""
    meta: dict[str, Any] = json.loads((folder / "meta.json").read_text())
    wav = folder / "recording.wav"
    duration_ms = repair(wav) if wav.exists() else 0
    write_transcript(folder, {**meta, "ended_by": "GATEWAY_RESTART"}, duration_ms)
    return meta, duration_ms


def discard(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
