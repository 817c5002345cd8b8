"""The gateway as a real process, killed with SIGKILL: mid-interview, and again right
after it came back. Nothing is lost: the interview that was live is reported once,
``failed`` with ``GATEWAY_RESTART`` and the recording made up to the kill."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from tests.audio_checks import stereo_channels
from zenhire.bench.probe import python, started
from zenhire.loopback.candidate import Candidate
from zenhire.loopback.speech import synthesize
from zenhire.loopback.stack import (
    FAST_INTERVIEW_ENV,
    FAST_OUTBOX_ENV,
    LOOPBACK_LIMITS_ENV,
    Stack,
    gateway_environment,
    running_stack,
)

pytestmark = pytest.mark.timeout(120)


@asynccontextmanager
async def _gateway(stack: Stack, log: Path, env: Mapping[str, str]) -> AsyncIterator[int]:
    settings = stack.gateway_settings
    async with started(
        [python(), "-m", "zenhire.cli", "gateway", "serve"],
        core=None,
        env={
            **gateway_environment(settings.data_dir, settings.port, stack.control_url),
            **FAST_INTERVIEW_ENV,
            **FAST_OUTBOX_ENV,
            **LOOPBACK_LIMITS_ENV,
            **env,
        },
        log_path=log,
        ready_url=f"{stack.gateway_url}/healthz",
    ) as pid:
        yield pid


def _kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)


@pytest.mark.fault(
    "gateway SIGKILLed mid-interview",
    injected="SIGKILL of the gateway process while a candidate is answering",
    happened="on restart the spool is recovered: failed/GATEWAY_RESTART with the recording "
    "up to the kill (charged nothing: the platform failed)",
    lost="the interview's remaining time",
)
@pytest.mark.fault(
    "gateway SIGKILLed on restart",
    injected="SIGKILL again, right after the restarted gateway is up (its event not yet sent)",
    happened="the third start sends the terminal event; the control plane gets it once",
)
async def test_a_killed_gateway_reports_its_interview_once_after_restarts(
    tmp_path: Path,
) -> None:
    async with running_stack(tmp_path, start_gateway=False) as stack:
        session_id, token = await stack.create_session()
        candidate = Candidate(stack.gateway_url)
        answer = synthesize("I led the migration of our billing system to a new database.")
        # The control plane goes away first, so the restarted gateway cannot send the
        # event before it is killed again: the event must survive in its outbox.
        async with _gateway(stack, tmp_path / "logs" / "first.log", {}) as first:
            await candidate.open(stack.http, token)
            talking = asyncio.create_task(candidate.interview([answer] * 4))
            await stack.wait_for_status(session_id, "active")
            await asyncio.sleep(3.0)  # a few seconds recorded
            await stack.control.stop()
            _kill(first)
            (ended,) = await asyncio.wait_for(asyncio.gather(talking, return_exceptions=True), 15)
        assert isinstance(ended, BaseException), "the socket died with its process"
        async with _gateway(stack, tmp_path / "logs" / "second.log", {}) as second:
            await asyncio.sleep(0.5)
            _kill(second)
        await stack.control.start()
        async with _gateway(stack, tmp_path / "logs" / "third.log", {}):
            session = await stack.wait_for_status(session_id, "failed", timeout_sec=30)
        assert session["error"]["code"] == "GATEWAY_RESTART"
        # The integrator sees artifacts of completed sessions only; the store has it.
        stored = stack.gateway_settings.artifacts_dir / "sessions" / session_id
        left, _, rate = stereo_channels((stored / "recording.wav").read_bytes())
        seconds = len(left) / rate
        assert seconds >= 2.0, f"only {seconds:.1f} s of the interview were kept"
        assert session["duration_sec"] >= 2
        logs = "".join(p.read_text() for p in (tmp_path / "logs").glob("*.log"))
        assert token not in logs and candidate.ticket not in logs
