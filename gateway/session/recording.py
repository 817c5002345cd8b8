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

With `Segments`, the recording is also sealed every ``samples`` into a
segment of the store's contract (`gateway.session.segments`) and handed to a
sink (the `SegmentShipper`), which reads it back from the WAV: so the audio
is on its way to the store at most one segment after it was heard.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from audio.frames import FRAME_MS
from audio.wav import BLOCK_ALIGN, HEADER_BYTES, StereoWavWriter, repair
from gateway.interviewer import PersonaQuestion, Turn
from gateway.session.responses import QUESTIONS_FILE, Asked, read_lines, responses
from gateway.session.segments import DEFAULT_EPOCH, SegmentName
from gateway.session.shipper import PendingSegment, SegmentSink

TRANSCRIPT_FORMAT = "zenhire.transcript.v1"


@dataclass(frozen=True)
class Segments:
    """How a live recording is cut for the store: every ``samples`` (per channel),
    written as ``epoch``, its first sample at ``start`` on the interview's timeline."""

    sink: SegmentSink
    session_id: str
    samples: int
    epoch: int = DEFAULT_EPOCH
    start: int = 0


class Recording:
    def __init__(
        self, folder: Path, meta: dict[str, Any], segments: Segments | None = None
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self._meta = meta
        (folder / "meta.json").write_text(json.dumps(meta))
        self._wav = StereoWavWriter(folder / "recording.wav")
        self._turns = (folder / "turns.jsonl").open("a", encoding="utf-8")
        self._questions = (folder / QUESTIONS_FILE).open("a", encoding="utf-8")
        self._closed = False
        self._segments = segments
        self._sealed_frames = 0  # frames of the WAV already handed over in segments
        self._seq = 0

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
        segments = self._segments
        if (
            segments is not None
            and self._wav.frames_written - self._sealed_frames >= segments.samples
        ):
            self._seal(segments)

    def _seal(self, segments: Segments) -> None:
        """Hand the frames written since the last segment over as the next one."""
        frames = self._wav.frames_written - self._sealed_frames
        if frames <= 0:
            return
        if not self._wav.closed:
            self._wav.flush()
        name = SegmentName(segments.epoch, self._seq, segments.start + self._sealed_frames)
        segments.sink.ship(
            PendingSegment(
                segments.session_id,
                name,
                self.wav_path,
                HEADER_BYTES + self._sealed_frames * BLOCK_ALIGN,
                frames * BLOCK_ALIGN,
            )
        )
        self._seq += 1
        self._sealed_frames += frames

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
            if self._segments is not None:
                self._seal(self._segments)
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
    duration_ms = repair(wav) if wav.exists() else 0
    write_transcript(folder, {**meta, "ended_by": "GATEWAY_RESTART"}, duration_ms)
    return meta, duration_ms


def discard(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
