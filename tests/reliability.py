"""The fault and attack ledger: which faults and hostile inputs the suite injects.

A test that injects a fault or a bad input says so with a marker::

    @pytest.mark.fault("Redis flushed", injected="FLUSHALL mid-interview",
                       happened="the holder is put back on its next renewal; the cap holds")
    @pytest.mark.attack("forged signature", injected="...", happened="401, nothing changes")

``lost`` (default ``"nothing"``) says what the fault costs; the test asserts
it. Property tests count the examples they ran with `count_example`. At the
end of a run, the table of every marked test, its result and the example
counts is printed and written to ``.pytest_cache/d/zenhire/zenhire-reliability.{json,md}``
(docs/reliability.md holds the latest full run's table).

Every log record of a run is also checked for secrets and tokens: the
loopback harness registers each one it creates (`zenhire.loopback.secrets`),
and a record that shows one fails the run.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

from zenhire.loopback import secrets

MARKERS = ("fault", "attack")
EXAMPLES: Counter[str] = Counter()


def count_example(parser: str) -> None:
    """One more property-test example of ``parser``."""
    EXAMPLES[parser] += 1


@dataclass
class Row:
    kind: str
    name: str
    injected: str
    happened: str
    lost: str
    test: str
    result: str = "not run"
    seconds: float = 0.0


class Ledger:
    def __init__(self) -> None:
        self.rows: dict[str, list[Row]] = {}
        self.leaks: list[str] = []

    def collect(self, item: pytest.Item) -> None:
        for kind in MARKERS:
            for marker in item.iter_markers(kind):
                (name,) = marker.args
                row = Row(
                    kind,
                    name,
                    marker.kwargs["injected"],
                    marker.kwargs["happened"],
                    marker.kwargs.get("lost", "nothing"),
                    item.nodeid.split("[")[0],
                )
                self.rows.setdefault(item.nodeid, []).append(row)

    def report(self, report: pytest.TestReport) -> None:
        for row in self.rows.get(report.nodeid, []):
            failed = report.failed or row.result == "failed"
            if report.when == "call" or failed or report.skipped:
                row.result = "failed" if failed else ("skipped" if report.skipped else "passed")
                row.seconds += report.duration

    def table(self) -> list[Row]:
        merged: dict[tuple[str, str, str], Row] = {}
        for rows in self.rows.values():
            for row in rows:
                key = (row.kind, row.name, row.injected)
                if key in merged:
                    seen = merged[key]
                    if row.result == "failed" or seen.result == "not run":
                        seen.result = row.result
                    seen.seconds += row.seconds
                else:
                    merged[key] = Row(**asdict(row))
        return sorted(merged.values(), key=lambda r: (r.kind != "fault", r.name))


class SecretWatch(logging.Handler):
    """Fails the run when a log record shows a registered secret or token."""

    def __init__(self, ledger: Ledger) -> None:
        super().__init__(logging.DEBUG)
        self._ledger = ledger

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage() + " " + json.dumps(vars(record), default=str)
        except Exception:
            return
        leaked = secrets.found_in(text)
        if leaked:
            where = f"{record.name} at {record.pathname}:{record.lineno}"
            self._ledger.leaks.append(f"a {leaked} in a log record of {where}")


def markdown(rows: list[Row], examples: Counter[str]) -> str:
    lines = [
        "| kind | fault or attack | injected | what happened | lost | result |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.kind} | {row.name} | {row.injected} | {row.happened} | {row.lost} | "
            f"{row.result} |"
        )
    faults = len({r.name for r in rows if r.kind == "fault"})
    attacks = len({r.name for r in rows if r.kind == "attack"})
    passed = sum(1 for r in rows if r.result == "passed")
    lines += [
        "",
        f"{faults} kinds of fault, {attacks} classes of bad input; {passed} of {len(rows)} "
        f"rows passed.",
        "",
        "| parser | property-test examples |",
        "|---|---|",
        *(f"| {name} | {count:,} |" for name, count in sorted(examples.items())),
        f"| **total** | **{sum(examples.values()):,}** |",
    ]
    return "\n".join(lines) + "\n"


def write(rows: list[Row], examples: Counter[str], leaks: list[str], folder: Path) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    text = markdown(rows, examples)
    (folder / "zenhire-reliability.md").write_text(text)
    (folder / "zenhire-reliability.json").write_text(
        json.dumps(
            {
                "rows": [asdict(r) for r in rows],
                "examples": dict(EXAMPLES),
                "secrets_in_logs": len(leaks),
            },
            indent=2,
        )
    )
    return text
