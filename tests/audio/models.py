"""The installed model files, which tests require (``scripts/install`` puts them there)."""

from __future__ import annotations

from pathlib import Path

import pytest

from audio.models import installed


def require(name: str) -> Path:
    """The installed model file ``name``; fail the test, naming the fix, when it is missing."""
    path = installed(name)
    if path is None:
        pytest.fail(f"model {name} is not installed: run scripts/install")
    return path
