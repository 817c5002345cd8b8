"""Gateway replicas as real processes sharing one Redis, for tests and ``zenhire bench``.

`GatewayProcess` runs ``zenhire gateway serve`` with its own data directory
and replica id on a free loopback port; a test can SIGKILL it (a crash),
SIGTERM it (a deploy: it drains) and start it again. The control plane
and Redis are the caller's (`zenhire.loopback.stack`, `.redis`).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from zenhire.loopback.servers import free_port
from zenhire.loopback.stack import (
    FAST_INTERVIEW_ENV,
    FAST_OUTBOX_ENV,
    gateway_environment,
    loopback_url,
)

READY_TIMEOUT_SEC = 30.0
EXIT_TIMEOUT_SEC = 30.0
POLL_SEC = 0.05
# Short leases and checkpoints, so that a takeover after a crash takes seconds.
FAST_OWNERSHIP_ENV = {
    "ZENHIRE_OWNER_LEASE_SEC": "2",
    "ZENHIRE_CHECKPOINT_INTERVAL_SEC": "0.5",
    "ZENHIRE_WAITING_RETRY_SEC": "0.3",
    # A killed replica's undelivered events are claimed by another within seconds.
    "ZENHIRE_OUTBOX_CLAIM_IDLE_SEC": "2",
}


@dataclass
class GatewayProcess:
    replica_id: str
    work_dir: Path
    control_url: str
    redis_url: str
    env: Mapping[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    # Tests' short leases, outbox retries and one-question interviews; False: the
    # product's defaults (``zenhire dev --replicas``).
    fast: bool = True
    process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return loopback_url(self.port)

    @property
    def log_path(self) -> Path:
        return self.work_dir / f"{self.replica_id}.log"

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    def environment(self) -> dict[str, str]:
        fast = {**FAST_OUTBOX_ENV, **FAST_INTERVIEW_ENV, **FAST_OWNERSHIP_ENV} if self.fast else {}
        return {
            **os.environ,
            **gateway_environment(self.work_dir / self.replica_id, self.port, self.control_url),
            **fast,
            "ZENHIRE_REDIS_URL": self.redis_url,
            "ZENHIRE_REPLICA_ID": self.replica_id,
            **self.env,
        }

    async def start(self) -> None:
        assert self.process is None or self.process.returncode is not None, "already running"
        self.work_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "zenhire.cli",
                "gateway",
                "serve",
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.work_dir,
            )
        await self._wait_ready()

    async def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SEC
        async with httpx.AsyncClient(timeout=1.0) as http:
            while True:
                assert self.process is not None
                if self.process.returncode is not None:
                    raise RuntimeError(f"{self.replica_id} exited during start-up:\n{self.tail()}")
                try:
                    if (await http.get(f"{self.url}/healthz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.replica_id} did not start:\n{self.tail()}")
                await asyncio.sleep(POLL_SEC)

    def kill(self) -> None:
        """SIGKILL: the replica dies on the spot, as in a crash."""
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        """SIGTERM: the replica drains (its interviews move on), then exits."""
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)

    async def wait(self, timeout_sec: float | None = EXIT_TIMEOUT_SEC) -> int:
        """Wait for the process to exit (``None``: however long); its return code."""
        assert self.process is not None
        return await asyncio.wait_for(self.process.wait(), timeout_sec)

    async def stop(self) -> None:
        """Stop it for good (tests' teardown): SIGINT, then SIGKILL if it lingers."""
        process = self.process
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(process.wait(), EXIT_TIMEOUT_SEC)
        except TimeoutError:
            process.kill()
            await process.wait()

    def tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""
