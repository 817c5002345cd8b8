"""``zenhire dev --replicas 2`` (scripts/replicas, the README's recipe) as a newcomer runs
it: a process with its own ports, two replicas behind a real Caddy, Redis and S3.

A scripted candidate opens the printed link through Caddy; the replica running
its interview is SIGKILLed; the candidate reconnects to the same address, the
other replica takes the interview over, and it completes. The killed replica
is started again by the command, as an orchestrator would.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.operator import OPERATOR_ENV, overview
from tests.state.test_takeover import TAKEOVER_LIMIT_SEC, leg, until
from zenhire.loopback.candidate import Candidate
from zenhire.loopback.integrator import Integrator
from zenhire.loopback.servers import free_port

pytestmark = pytest.mark.timeout(120)

BANNER_TIMEOUT_SEC = 60.0
LINK = re.compile(r"^\s+(http://\S+/#t=(\S+))$", re.MULTILINE)
REPLICA = re.compile(r"^\s+(replica-\d+)\s+(http://\S+)\s+pid (\d+)", re.MULTILINE)
API_KEY = re.compile(r"^\s+API key\s+(\S+)$", re.MULTILINE)


@dataclass
class Running:
    front_url: str
    control_url: str
    api_key: str
    token: str
    replicas: dict[str, tuple[str, int]]  # replica id: (url, pid)


@asynccontextmanager
async def dev_replicas(tmp_path: Path) -> AsyncIterator[Running]:
    control_port, front_port = free_port(), free_port()
    env = {
        **os.environ,
        **OPERATOR_ENV,
        "ZENHIRE_DATA_DIR": str(tmp_path / "data"),
        "ZENHIRE_CONTROLPLANE_PORT": str(control_port),
        "ZENHIRE_GATEWAY_PORT": str(front_port),
        "ZENHIRE_GATEWAY_PUBLIC_URL": f"http://127.0.0.1:{front_port}",
        # A shorter interview than the product's default, with the shipped leases.
        "ZENHIRE_LOCAL_MAX_QUESTIONS": "2",
    }
    output = tmp_path / "dev.out"
    with output.open("wb") as out:
        process = subprocess.Popen(  # noqa: ASYNC220 (a Popen handle, polled below)
            [sys.executable, "-m", "zenhire.cli", "dev", "--replicas", "2"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        deadline = time.monotonic() + BANNER_TIMEOUT_SEC
        while not LINK.search(text := output.read_text()):
            assert process.poll() is None, f"zenhire dev --replicas exited:\n{text}"
            assert time.monotonic() < deadline, f"no candidate link printed:\n{text}"
            await asyncio.sleep(0.2)
        link = LINK.search(text)
        key = API_KEY.search(text)
        assert link is not None and key is not None
        yield Running(
            front_url=f"http://127.0.0.1:{front_port}",
            control_url=f"http://127.0.0.1:{control_port}",
            api_key=key.group(1),
            token=link.group(2),
            replicas={m.group(1): (m.group(2), int(m.group(3))) for m in REPLICA.finditer(text)},
        )
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl-C: everything it started stops
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise


@pytest.mark.fault(
    "replica SIGKILLed behind Caddy",
    injected="zenhire dev --replicas 2: SIGKILL of the replica running the interview",
    happened="the page reconnects through Caddy to the other replica, which takes it over; "
    "completed once; the killed replica is started again",
)
async def test_two_replicas_behind_caddy_carry_an_interview_past_a_replicas_death(
    tmp_path: Path,
) -> None:
    async with dev_replicas(tmp_path) as running, httpx.AsyncClient(timeout=30.0) as http:
        assert len(running.replicas) == 2
        candidate = Candidate(running.front_url)
        assert (await candidate.open(http, running.token)).status_code == 200
        session_id = candidate.session["session"]["session_id"]
        first = asyncio.create_task(leg(candidate))
        await until(lambda: bool(candidate.speech_starts), timeout_sec=30.0)
        await asyncio.sleep(1.5)  # a checkpoint or two

        owner = await _owner(http, running, session_id)
        _, pid = running.replicas[owner]
        killed_at = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        await first
        # The same address as before: Caddy sends the reconnect to the replica alive.
        await leg(candidate, end_once=lambda: candidate.heard_after(killed_at) is not None)

        assert candidate.kinds("live")[-1]["resumed"] is True
        assert candidate.kinds("ended")[-1]["reason"] == "completed"
        heard = candidate.heard_after(killed_at)
        assert heard is not None and heard - killed_at < TAKEOVER_LIMIT_SEC
        integrator = Integrator(running.control_url, running.api_key, http)
        await integrator.wait_for_status(session_id, "completed", timeout_sec=30.0)
        url, _ = running.replicas[owner]
        await until(lambda: _answers(url), timeout_sec=30.0)  # started again


async def _owner(http: httpx.AsyncClient, running: Running, session_id: str) -> str:
    for replica_id, (url, _) in running.replicas.items():
        found = await overview(http, url)
        if any(
            s["session_id"] == session_id and s["replica_id"] == replica_id
            for s in found["sessions"]
        ):
            return replica_id
    raise AssertionError("no replica runs the interview")


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False
