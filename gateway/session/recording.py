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

The files are written off the event loop, on the spool's writer thread
(`gateway.disk.DiskWork`), in the order the session produced them: audio
in batches of `WRITE_BATCH_FRAMES`, at most `MAX_QUEUED_SEC` of it waiting
for a slow disk. A disk that stalls longer, or fails, raises an `OSError`
from the next write, which ends the interview ``RECORDING_FAILED``.

With `Segments`, the recording is also sealed every ``samples`` into a
segment of the store's contract (`gateway.session.segments`) and handed to a
sink (the `SegmentShipper`), which reads it back from the WAV once the writer thread has flushed it:
so the audio is on its way to the store at most one segment after it was heard.

One owner's part: a recording is written by one owner of the interview, as
writer ``epoch`` (its fencing token) from sample ``start`` of the
interview's timeline (both in ``meta.json`` under ``part``, and the same as
its `Segments`'). An interview taken over by another replica goes on in a
new part from the checkpoint's offset: its WAV starts there, its segments
carry the new epoch and continue the same timeline, its transcript files
start with the turns and marks of the checkpoint, and `duration_ms` is the
interview's (the start plus this part).
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

from audio.frames import FRAME_MS, SAMPLE_RATE
from audio.wav import BLOCK_ALIGN, HEADER_BYTES, StereoWavWriter, repair
from gateway.disk import DiskWork
from gateway.interviewer import InterviewerSwitch, PersonaQuestion, Turn
from gateway.session.responses import QUESTIONS_FILE, Asked, read_lines, responses
from gateway.session.segments import DEFAULT_EPOCH, SegmentName
from gateway.session.shipper import PendingSegment, SegmentSink

TRANSCRIPT_FORMAT = "zenhire.transcript.v1"
SWITCHES_FILE = "switches.jsonl"
# 200 ms of audio per hand-over: a thread wake-up per ten ticks, not per tick.
WRITE_BATCH_FRAMES = 10
# A disk stalled longer than this fails the interview rather than hold more audio in memory.
MAX_QUEUED_SEC = 10
# Bytes of one channel's sample (PCM16).
SAMPLE_BYTES = 2
MAX_QUEUED_JOBS = MAX_QUEUED_SEC * 1000 // (WRITE_BATCH_FRAMES * FRAME_MS)

Frames = list[tuple[bytes, bytes]]


class _Files:
    """The open files of a spool folder; used only on the writer thread."""

    def __init__(self, folder: Path, meta: dict[str, Any]) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "meta.json").write_text(json.dumps(meta))
        self.wav = StereoWavWriter(folder / "recording.wav")
        self.turns: TextIO = (folder / "turns.jsonl").open("a", encoding="utf-8")
        self.questions: TextIO = (folder / QUESTIONS_FILE).open("a", encoding="utf-8")

    def write(self, frames: Frames) -> None:
        self.wav.write(b"".join(c for c, _ in frames), b"".join(i for _, i in frames))

    @staticmethod
    def append(file: TextIO, line: str) -> None:
        file.write(line + "\n")
        file.flush()

    def close(self) -> None:
        try:
            self.wav.close()
        finally:
            self.turns.close()
            self.questions.close()


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
    """The files of one live session (one owner's part of it); ``writer`` writes them
    (None: the caller's thread), ``segments`` ships the recording to the store as it
    grows (None: at the end only)."""

    def __init__(
        self,
        folder: Path,
        meta: dict[str, Any],
        writer: ThreadPoolExecutor | None = None,
        segments: Segments | None = None,
        *,
        epoch: int = DEFAULT_EPOCH,
        start: int = 0,
        turns: list[dict[str, Any]] | None = None,
        asked: list[dict[str, Any]] | None = None,
    ) -> None:
        """This owner's part in ``folder``, as writer ``epoch`` from sample ``start`` (taken
        from ``segments`` when given); ``turns`` and ``asked`` are the earlier parts'."""
        self.folder = folder
        if segments is not None:
            epoch, start = segments.epoch, segments.start
        self.epoch = epoch
        self.start = start
        self._meta = {**meta, "part": {"epoch": epoch, "start": start}}
        self._work = DiskWork(f"recording {folder.name}", writer, max_queued=MAX_QUEUED_JOBS)
        self._files: _Files | None = None
        self._work.submit(lambda: self._open(turns or [], asked or []))
        self._batch: Frames = []
        self._closed = False
        self._segments = segments
        self._samples = 0  # per channel, handed to the writer so far
        self._sealed = 0  # of those, already handed over in segments
        self._seq = 0

    @property
    def wav_path(self) -> Path:
        return self.folder / "recording.wav"

    @property
    def transcript_path(self) -> Path:
        return self.folder / "transcript.json"

    @property
    def duration_ms(self) -> int:
        """The interview's duration so far: earlier parts (the start) and the audio of
        this one on disk (all of it, once `close` has returned)."""
        own = 0 if self._files is None else int(self._files.wav.duration_ms)
        return samples_to_ms(self.start) + own

    async def so_far(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Every transcript turn and question mark so far (for the checkpoint), read on
        the writer thread once what was queued before is written."""
        return await self._work.call(
            lambda: (
                read_lines(self.folder / "turns.jsonl"),
                read_lines(self.folder / QUESTIONS_FILE),
            )
        )

    def write(self, candidate: bytes, interviewer: bytes) -> None:
        if self._closed:
            raise ValueError("write to a closed recording")
        self._batch.append((candidate, interviewer))
        self._samples += len(candidate) // SAMPLE_BYTES
        if len(self._batch) >= WRITE_BATCH_FRAMES:
            self._hand_over()
        segments = self._segments
        if segments is not None and self._samples - self._sealed >= segments.samples:
            self._hand_over()
            self._work.submit(self._seal_job(segments))

    def _seal_job(self, segments: Segments, *, flush: bool = True) -> Callable[[], None]:
        """A writer-thread job handing the samples written since the last segment over
        as the next one once they are on disk (the sink lives on the event loop)."""
        samples = self._samples - self._sealed
        name = SegmentName(segments.epoch, self._seq, segments.start + self._sealed)
        pending = PendingSegment(
            segments.session_id,
            name,
            self.wav_path,
            HEADER_BYTES + self._sealed * BLOCK_ALIGN,
            samples * BLOCK_ALIGN,
        )
        self._seq += 1
        self._sealed = self._samples
        loop = asyncio.get_running_loop()

        def seal() -> None:
            if samples <= 0:
                return
            if flush:
                self._opened().wav.flush()
            loop.call_soon_threadsafe(segments.sink.ship, pending)

        return seal

    def add_turn(self, turn: Turn) -> None:
        line = json.dumps(asdict(turn), ensure_ascii=False)
        self._work.submit(lambda: _Files.append(self._opened().turns, line))

    def ask(self, question: PersonaQuestion, t_ms: int) -> None:
        line = Asked(question, t_ms).as_line()
        self._work.submit(lambda: _Files.append(self._opened().questions, line))

    def switch_interviewer(self, switch: InterviewerSwitch) -> None:
        line = json.dumps(switch.as_json())
        self._work.submit(lambda: _append_line(self.folder / SWITCHES_FILE, line))

    async def close(self, extra: dict[str, Any]) -> None:
        """Finish the WAV and write the transcript document. Idempotent.

        Raises what went wrong with the files, here or in an earlier write.
        """
        if self._closed:
            return
        self._closed = True
        last: Callable[[], None] | None = None
        try:
            self._hand_over()
            if self._segments is not None:
                last = self._seal_job(self._segments, flush=False)  # the close flushes
        finally:
            await self._work.close(lambda: self._finish({**self._meta, **extra}, last))

    def _hand_over(self) -> None:
        if self._batch:
            batch, self._batch = self._batch, []
            self._work.submit(lambda: self._opened().write(batch))

    # -- on the writer thread ---------------------------------------------------

    def _open(self, turns: list[dict[str, Any]], asked: list[dict[str, Any]]) -> None:
        self._files = _Files(self.folder, self._meta)
        for file, rows in ((self._files.turns, turns), (self._files.questions, asked)):
            file.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
            file.flush()

    def _opened(self) -> _Files:
        assert self._files is not None, "jobs after a failed open are skipped"
        return self._files

    def _finish(self, meta: dict[str, Any], last_segment: Callable[[], None] | None) -> None:
        if self._files is None:
            raise OSError(f"the spool folder {self.folder.name} could not be opened")
        self._files.close()
        if last_segment is not None:
            last_segment()
        write_transcript(self.folder, meta, self.duration_ms)


def _append_line(path: Path, line: str) -> None:
    with path.open("a", encoding="utf-8") as file:
        file.write(line + "\n")


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
    start = int(meta.get("part", {}).get("start", 0))
    duration_ms = samples_to_ms(start) + (repair(wav) if wav.exists() else 0)
    write_transcript(folder, {**meta, "ended_by": "GATEWAY_RESTART"}, duration_ms)
    return meta, duration_ms


def samples_to_ms(samples: int) -> int:
    return samples * 1000 // SAMPLE_RATE


def ms_to_samples(ms: int) -> int:
    return ms * SAMPLE_RATE // 1000


def discard(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
