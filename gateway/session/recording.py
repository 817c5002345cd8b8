"""A session's recording and transcript, spooled to disk as they happen.

Each live session owns a spool folder:

    <spool>/<session_id>/meta.json        who, what, when (written at start)
    <spool>/<session_id>/recording.wav    stereo 24 kHz PCM16, L candidate, R interviewer
    <spool>/<session_id>/turns.jsonl      one transcript turn per line
    <spool>/<session_id>/questions.jsonl  one line per question put to the candidate
    <spool>/<session_id>/transcript.json  assembled when the session ends

The transcript document holds the meta, the ``turns`` and the per-question
``responses`` (`gateway.session.responses`), all on the recording's timeline.

Nothing grows in memory with the interview's length, and a crash leaves a
playable WAV and every finished turn, which `recover` turns into artifacts
on the next start.

Parts: a recording is one owner's `RecordingPart` of the interview (its
fencing token and its start on the interview's timeline, both in
``meta.json`` under ``part``). An interview taken over by another replica
goes on in a new part from the checkpoint's offset: its WAV starts there,
its transcript files start with the turns and marks of the checkpoint, and
`duration_ms` is the interview's (offset plus this part). The WAV writer
(`write`, one stereo frame per tick) is where a segment writer keyed by
(session id, epoch, sequence) takes the frames instead.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

from audio.frames import FRAME_MS
from audio.wav import StereoWavWriter, repair
from gateway.interviewer import PersonaQuestion, Turn
from gateway.session.checkpoint import RecordingPart
from gateway.session.responses import QUESTIONS_FILE, Asked, read_lines, responses

TRANSCRIPT_FORMAT = "zenhire.transcript.v1"


class Recording:
    def __init__(
        self,
        folder: Path,
        meta: dict[str, Any],
        part: RecordingPart | None = None,
        *,
        turns: list[dict[str, Any]] | None = None,
        asked: list[dict[str, Any]] | None = None,
    ) -> None:
        """A new part in ``folder``; ``turns`` and ``asked`` are the earlier parts' (a takeover)."""
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.part = part or RecordingPart(0)
        self._meta = {**meta, "part": self.part.as_json()}
        (folder / "meta.json").write_text(json.dumps(self._meta))
        self._wav = StereoWavWriter(folder / "recording.wav")
        self._turns = (folder / "turns.jsonl").open("a", encoding="utf-8")
        self._questions = (folder / QUESTIONS_FILE).open("a", encoding="utf-8")
        for target, rows in ((self._turns, turns), (self._questions, asked)):
            target.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows or ())
            target.flush()
        self._closed = False

    @property
    def wav_path(self) -> Path:
        return self.folder / "recording.wav"

    @property
    def transcript_path(self) -> Path:
        return self.folder / "transcript.json"

    @property
    def duration_ms(self) -> int:
        """The interview's duration so far: earlier parts (the offset) and this one."""
        return self.part.offset_ms + int(self._wav.duration_ms)

    def turns(self) -> list[dict[str, Any]]:
        """Every transcript turn so far (for the checkpoint)."""
        return read_lines(self.folder / "turns.jsonl")

    def asked(self) -> list[dict[str, Any]]:
        """Every question mark so far (for the checkpoint)."""
        return read_lines(self.folder / QUESTIONS_FILE)

    def write(self, candidate: bytes, interviewer: bytes) -> None:
        self._wav.write(candidate, interviewer)

    def add_turn(self, turn: Turn) -> None:
        self._turns.write(json.dumps(asdict(turn), ensure_ascii=False) + "\n")
        self._turns.flush()

    def ask(self, question: PersonaQuestion, t_ms: int) -> None:
        self._questions.write(Asked(question, t_ms).as_line() + "\n")
        self._questions.flush()

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
    }
    (folder / "transcript.json").write_text(json.dumps(document, ensure_ascii=False, indent=1))


def recover(folder: Path) -> tuple[dict[str, Any], int]:
    """Repair a spool folder a crash left behind; return its meta and duration."""
    meta: dict[str, Any] = json.loads((folder / "meta.json").read_text())
    wav = folder / "recording.wav"
    offset_ms = int(meta.get("part", {}).get("offset_ms", 0))
    duration_ms = offset_ms + (repair(wav) if wav.exists() else 0)
    write_transcript(folder, {**meta, "ended_by": "GATEWAY_RESTART"}, duration_ms)
    return meta, duration_ms


def discard(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
