"""Per-question results: which of the candidate's turns answer which question.

The interviewer marks each question as it puts it to the candidate
(`Conversation.ask`); the recording spools the marks as ``questions.jsonl``
beside ``turns.jsonl``. When the transcript is assembled (at the end, or
after a crash), `responses` reads both back:

    asked q1 ───── candidate turns ───── asked q2 ───── turns ───── end
              └─────── q1's answer ───┘          └── q2's answer ──┘

A question's answer is every candidate turn that starts between its mark
and the next question's mark, on the recording's timeline; a question
asked again (a repeat, a resumed connection) keeps one entry, its windows
merged. Candidate turns before the first question (small talk after the
greeting) answer nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from gateway.interviewer import PersonaQuestion
from zenhire.timestamps import format_timestamp, parse_timestamp

QUESTIONS_FILE = "questions.jsonl"
MS_PER_SEC = 1000


@dataclass(frozen=True)
class Asked:
    """One mark: ``question`` was put to the candidate at ``t_ms``."""

    question: PersonaQuestion
    t_ms: int

    def as_line(self) -> str:
        question = self.question
        return json.dumps(
            {
                "question_id": question.id,
                "question_text": question.text,
                "question_type": question.type,
                "time_limit_seconds": question.time_limit_seconds,
                "t_ms": self.t_ms,
            },
            ensure_ascii=False,
        )


def read_lines(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of a ``.jsonl`` spool file, up to a torn last line."""
    if not path.exists():
        return []
    rows: list[dict[str, Any]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            break  # a torn last line after a crash
        if isinstance(row, dict):
            rows.append(row)
    return rows


def responses(
    marks: list[dict[str, Any]], turns: list[dict[str, Any]], started_at: str | None
) -> list[dict[str, Any]]:
    """One entry per question, in the order first asked (see the module docstring)."""
    ordered = sorted(marks, key=lambda mark: int(mark["t_ms"]))
    answers: dict[str, list[dict[str, Any]]] = {}
    first: dict[str, dict[str, Any]] = {}
    candidate = sorted(
        (turn for turn in turns if turn.get("speaker") == "candidate"),
        key=lambda turn: int(turn["start_ms"]),
    )
    for index, mark in enumerate(ordered):
        question_id = str(mark["question_id"])
        first.setdefault(question_id, mark)
        until = int(ordered[index + 1]["t_ms"]) if index + 1 < len(ordered) else None
        answers.setdefault(question_id, []).extend(
            turn
            for turn in candidate
            if int(mark["t_ms"]) <= int(turn["start_ms"])
            and (until is None or int(turn["start_ms"]) < until)
        )
    return [
        _response(mark, sorted(answers[question_id], key=lambda t: int(t["start_ms"])), started_at)
        for question_id, mark in first.items()
    ]


def _response(
    mark: dict[str, Any], answer: list[dict[str, Any]], started_at: str | None
) -> dict[str, Any]:
    start_ms = int(answer[0]["start_ms"]) if answer else None
    end_ms = max(int(turn["end_ms"]) for turn in answer) if answer else None
    duration_ms = end_ms - start_ms if start_ms is not None and end_ms is not None else 0
    return {
        "question_id": mark["question_id"],
        "question_text": mark["question_text"],
        "question_type": mark["question_type"],
        "asked_ms": int(mark["t_ms"]),
        "transcript": " ".join(str(t["text"]).strip() for t in answer if str(t["text"]).strip()),
        "start_ms": start_ms,
        "end_ms": end_ms,
        "duration_seconds": round(duration_ms / MS_PER_SEC, 2),
        "answered_at": _moment(started_at, end_ms),
    }


def _moment(started_at: str | None, t_ms: int | None) -> str | None:
    """The wall-clock time of a point on the recording's timeline."""
    if started_at is None or t_ms is None:
        return None
    try:
        start = parse_timestamp(started_at)
    except ValueError:
        return None
    return format_timestamp(start + timedelta(milliseconds=t_ms))
