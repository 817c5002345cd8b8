"""The conversation bench's reply breakdown: a gateway's reply timing lines beside the
candidate's clock."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from gateway.interviewer.local.timing import EndedBy, ReplyTiming
from gateway.logs import ContextFilter, JsonFormatter, session_id_var
from zenhire.bench import replies

ONSET = 1000.0  # monotonic seconds


@pytest.fixture
def gateway_log(tmp_path: Path) -> Path:
    """A log file written the way the gateway writes its log, with two replies in it."""
    path = tmp_path / "gateway.log"
    handler = logging.FileHandler(path)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    logger = logging.getLogger("zenhire.interviewer")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    bound = session_id_var.set("s-1")
    try:
        for n, onset in enumerate((ONSET, ONSET + 20.0), start=1):
            timing = ReplyTiming(f"c{n}", EndedBy.MODEL, silence_onset=onset)
            timing.decided, timing.reply_chosen = onset + 0.5, onset + 0.501
            timing.first_audio = onset + 0.502
            timing.finish(said=True)
            timing.finish(transcribed=True)
        logger.info("something else")
    finally:
        session_id_var.reset(bound)
        logger.setLevel(level)
        logger.removeHandler(handler)
        handler.close()
    return path


def test_each_answer_gets_its_own_reply_in_ms_after_its_end(gateway_log: Path) -> None:
    timings = replies.read_timings(gateway_log)
    assert list(timings) == ["s-1"] and len(timings["s-1"]) == 2
    end = ONSET + 20.0 - 0.15  # the second answer's last voiced frame, 150 ms before the onset
    line = replies.breakdown(end, end + 0.6, replies.match(timings["s-1"], end))
    assert line["vad_silence"] == pytest.approx(150.0, abs=0.2)
    assert line["decided"] == pytest.approx(650.0, abs=0.2)
    assert line["first_audio_queued"] == pytest.approx(652.0, abs=0.2)
    assert line["first_audio_heard"] == pytest.approx(600.0)
    assert line["ended_by"] == "model"


def test_an_answer_without_a_logged_reply_keeps_only_what_the_candidate_measured() -> None:
    line = replies.breakdown(ONSET, ONSET + 1.0, replies.match([], ONSET))
    assert line["first_audio_heard"] == 1000.0
    assert line["vad_silence"] is None and line["decided"] is None
    assert json.dumps(replies.summarize([line]))
