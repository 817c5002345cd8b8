"""The end-of-turn judge: Smart Turn v3.2 scoring a turn's audio off the event loop.

`TurnTracker` asks a `TurnJudge` whether a pause ends the turn; `ModelJudge`
is the real one, a single worker thread per gateway process shared by every
interview, opened with the interviewers and closed at shutdown (queued
verdicts are cancelled; the tracker then falls back to silence).
`InlineJudge` scores in the caller's thread, so a verdict is in as soon as
it is asked for: for offline replays of recorded frames, never for a live
frame loop.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

from audio.endofturn import EndOfTurnModel
from audio.models import SMART_TURN_FILE, ModelError, installed

log = logging.getLogger("zenhire.interviewer")


class TurnJudge(Protocol):
    """Scores a turn's audio with the probability that it is finished."""

    def submit(self, pcm: bytes) -> Future[float]:
        """Start scoring ``pcm`` (24 kHz PCM16, the turn so far). Must not block."""
        ...


class ModelJudge:
    """Smart Turn on one worker thread, shared by every interview of a gateway.

    onnxruntime releases the GIL while the model runs, so the event loop keeps
    going meanwhile. ``close`` is idempotent and waits for a running call.
    """

    def __init__(self, model: EndOfTurnModel, workers: int = 1) -> None:
        self.model = model
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="end-of-turn")

    @classmethod
    def installed(cls, path: Path | None = None) -> ModelJudge | None:
        """The judge on the model at ``path`` (default: the installed file), or None
        (logged) when there is no model, so turns end on silence alone."""
        path = path if path is not None else installed(SMART_TURN_FILE)
        if path is None or not path.is_file():
            log.warning("no end-of-turn model installed (scripts/install): turns end on silence")
            return None
        try:
            return cls(EndOfTurnModel(path))
        except ModelError:
            log.warning("end-of-turn model unusable: turns end on silence", exc_info=True)
            return None

    def submit(self, pcm: bytes) -> Future[float]:
        return self._executor.submit(self.model.probability, pcm)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


class InlineJudge:
    """Smart Turn scored while ``submit`` runs; the future it returns is done."""

    def __init__(self, model: EndOfTurnModel) -> None:
        self.model = model

    def submit(self, pcm: bytes) -> Future[float]:
        verdict: Future[float] = Future()
        try:
            verdict.set_result(self.model.probability(pcm))
        except ModelError as exc:
            verdict.set_exception(exc)
        return verdict
