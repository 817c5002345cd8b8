"""Where a reply's time goes: the gateway's ``reply timing`` lines beside the candidate's clock.

The local interviewer logs one ``reply timing`` line per reply
(`gateway.interviewer.local.timing`): its silence onset on the system's
monotonic clock and the later stages in ms from it. The benchmark's
candidate knows, on the same clock, when the answer's last voiced frame
was sent and when the reply's first audio arrived. `breakdown` puts both
on one line, in ms after the answer's end:

    vad_silence        the frame loop handled the first quiet frame
    judge_asked        Smart Turn was asked about the pause (model mode)
    judge_answered     and answered
    decided            the turn was ended (verdict taken, words, or timer)
    transcribed        the recognizer's final text came in
    reply_chosen       the interview chose the reply
    synthesis_started  the reply's synthesis started (or its prepared audio was taken)
    first_audio_queued its first audio was queued for playout
    first_audio_heard  the candidate received it

and, from the gateway's line, how the turn ended (``ended_by``), whether
the reply was synthesized ahead (``prepared``), how often Smart Turn was
asked about the last pause (``judge_asks``), its last verdict
(``probability``), what the recognizer's words said then (``cue``: none,
hold or thinking; None when they were not in yet) and how far behind the
recognizer was (``words_lag_ms``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

MS_PER_SEC = 1000
REPLY_TIMING = "reply timing"
# The gateway's stages, as logged (``<stage>_ms``), and their names here.
LOGGED = {
    "judge_asked": "judge_asked",
    "judge_answered": "judge_answered",
    "decided": "decided",
    "transcribed": "transcribed",
    "reply_chosen": "reply_chosen",
    "synthesis_started": "synthesis_started",
    "first_audio": "first_audio_queued",
}
STAGES = ("vad_silence", *LOGGED.values(), "first_audio_heard")
# A silence onset this long before the scripted end still belongs to it (a
# frame's trip to the gateway is shorter; its voiced/quiet edge can differ by one).
ONSET_SLACK_SEC = 0.1


def read_timings(log_path: Path) -> dict[str, list[dict[str, Any]]]:
    """The ``reply timing`` records of a gateway's JSON log, per session, in order."""
    found: dict[str, list[dict[str, Any]]] = {}
    if not log_path.is_file():
        return found
    for line in log_path.read_text(errors="replace").splitlines():
        if REPLY_TIMING not in line:
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if record.get("msg") == REPLY_TIMING and record.get("session_id"):
            found.setdefault(str(record["session_id"]), []).append(record)
    return found


def match(records: Iterable[dict[str, Any]], end: float) -> dict[str, Any] | None:
    """The reply to the answer that ended at ``end``: the first silence onset after it."""
    after = [r for r in records if r["silence_onset_mono"] >= end - ONSET_SLACK_SEC]
    return min(after, key=lambda r: float(r["silence_onset_mono"]), default=None)


def breakdown(end: float, heard: float | None, record: dict[str, Any] | None) -> dict[str, Any]:
    """Each stage in ms after the answer's ``end`` (None: not reached or not logged)."""
    line: dict[str, Any] = dict.fromkeys(STAGES)
    if heard is not None:
        line["first_audio_heard"] = round((heard - end) * MS_PER_SEC, 1)
    if record is None:
        return line
    onset_ms = (float(record["silence_onset_mono"]) - end) * MS_PER_SEC
    line["vad_silence"] = round(onset_ms, 1)
    for logged, name in LOGGED.items():
        value = record.get(f"{logged}_ms")
        if value is not None:
            line[name] = round(onset_ms + float(value), 1)
    for key in ("ended_by", "prepared", "judge_asks", "probability", "cue", "words_lag_ms"):
        line[key] = record.get(key)
    return line


def summarize(lines: list[dict[str, Any]]) -> dict[str, Any]:
    """p50/p95 of each stage over ``lines``, how turns ended and how many replies were
    prepared."""
    stages: dict[str, Any] = {}
    for stage in STAGES:
        values = [line[stage] for line in lines if line.get(stage) is not None]
        if values:
            p50, p95 = np.percentile(values, [50, 95])
            stages[stage] = {"p50": round(float(p50), 1), "p95": round(float(p95), 1)}
        else:
            stages[stage] = {"p50": None, "p95": None}
    ended_by: dict[str, int] = {}
    for line in lines:
        if line.get("ended_by"):
            ended_by[line["ended_by"]] = ended_by.get(line["ended_by"], 0) + 1
    return {
        "stages_ms": stages,
        "ended_by": ended_by,
        "prepared": sum(bool(line.get("prepared")) for line in lines),
        "matched": sum(line.get("vad_silence") is not None for line in lines),
        "replies": len(lines),
    }


def table(results: dict[str, Any], modes: list[str]) -> list[str]:
    """Markdown rows: each stage's p50 / p95 per mode."""
    lines = [
        "where the reply time goes, ms after the answer's last voiced frame (p50 / p95):",
        "",
        "| stage | " + " | ".join(modes) + " |",
        "|---|" + "---|" * len(modes),
    ]
    for stage in STAGES:
        cells = []
        for mode in modes:
            found = results[mode].get("replies", {}).get("stages_ms", {}).get(stage, {})
            cells.append(f"{found.get('p50')} / {found.get('p95')}")
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    for label, key in (("ended by", "ended_by"), ("replies prepared", "prepared")):
        cells = [str(results[mode].get("replies", {}).get(key)) for mode in modes]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines
