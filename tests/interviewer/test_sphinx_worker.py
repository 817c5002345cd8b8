"""The PocketSphinx worker process outliving its gateway."""

from __future__ import annotations

import struct
import subprocess
import sys

import pytest

from gateway.interviewer.local import sphinx

pytestmark = pytest.mark.timeout(30)


@pytest.mark.fault(
    "recognizer's gateway killed",
    injected="the worker's reply pipe closed (its gateway SIGKILLed) with a request pending",
    happened="the worker exits 0 without a traceback",
)
def test_the_worker_exits_quietly_when_its_gateway_is_gone() -> None:
    worker = subprocess.Popen(
        [sys.executable, "-m", "gateway.interviewer.local.sphinx"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert worker.stdin is not None and worker.stdout is not None and worker.stderr is not None
    worker.stdout.close()  # the reading end is gone, as with a dead gateway
    worker.stdin.write(struct.pack(sphinx.HEADER, sphinx.START, 0))
    worker.stdin.close()
    assert worker.wait(timeout=20) == 0
    assert worker.stderr.read() == b""
    worker.stderr.close()
