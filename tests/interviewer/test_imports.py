"""Importing an interviewer loads nothing heavy: PocketSphinx only in its worker process."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
import gateway.app, gateway.interviewer.choice
import gateway.interviewer.local.interviewer, gateway.interviewer.realtime.interviewer
print(sorted(name for name in sys.modules if name.startswith("pocketsphinx")))
"""


def test_the_gateway_and_its_interviewers_import_without_pocketsphinx() -> None:
    found = subprocess.run(
        [sys.executable, "-c", PROBE], check=True, capture_output=True, text=True
    )
    assert found.stdout.strip() == "[]"
