"""The suite's ledger of injected faults and hostile inputs, and its watch on the
logs for secrets (tests/reliability.py)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tests.reliability import EXAMPLES, MARKERS, Ledger, SecretWatch, write

LEDGER = Ledger()


def pytest_configure(config: pytest.Config) -> None:
    for kind in MARKERS:
        config.addinivalue_line(
            "markers", f"{kind}(name, injected, happened, lost='nothing'): a {kind} injected"
        )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        LEDGER.collect(item)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    LEDGER.report(report)


@pytest.fixture(autouse=True, scope="session")
def _watch_logs_for_secrets() -> Iterator[None]:
    watch = SecretWatch(LEDGER)
    root = logging.getLogger()
    level = root.level
    # The services log at INFO in production: watch what they would write.
    root.setLevel(min(level, logging.INFO))
    root.addHandler(watch)
    try:
        yield
    finally:
        root.removeHandler(watch)
        root.setLevel(level)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    rows = LEDGER.table()
    if rows or EXAMPLES:
        cache = getattr(terminalreporter.config, "cache", None)
        folder = cache.mkdir("zenhire") if cache is not None else None
        text = write(rows, EXAMPLES, LEDGER.leaks, folder) if folder is not None else ""
        terminalreporter.section("faults and attacks")
        terminalreporter.write(text)
    if LEDGER.leaks:
        terminalreporter.section("secrets in log lines", red=True)
        for leak in LEDGER.leaks:
            terminalreporter.write_line(leak)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if LEDGER.leaks:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
