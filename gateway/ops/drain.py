"""Rolling deploys: on SIGTERM a replica hands its interviews on, then exits.

    SIGTERM ─▶ draining: no new interview starts here (``/readyz`` not ready)
            ─▶ each live interview moves (`LiveSession.move`): the interviewer
               stops, a final checkpoint, the lease released, and the page told
               ``reconnect`` — its reconnect lands on another replica, which takes
               the interview over at once (no lease to wait out)
            ─▶ exit once this replica owns nothing
    deadline (``ZENHIRE_DRAIN_DEADLINE_SEC``) ─▶ what is still live here ends
               ``failed`` with ``GATEWAY_RESTART`` and is reported

Without a shared state store no other replica can take an interview over:
live interviews then run on until they end or the deadline comes. A second
SIGTERM or a SIGINT stops at once (uvicorn's usual shutdown, which ends
every live interview with ``GATEWAY_RESTART``).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from types import FrameType

import uvicorn

from gateway.ops.replica import Replica
from gateway.session.registry import SessionRegistry

log = logging.getLogger("zenhire.drain")


async def drain(registry: SessionRegistry, replica: Replica, deadline_sec: float) -> None:
    """Move every live interview on and wait until none is left (or the deadline)."""
    replica.set_draining(True, "SIGTERM")
    started = time.monotonic()
    moving = registry.ownership.kind != "memory"
    log.info(
        "draining",
        extra={"live": len(registry.live_sessions()), "moving": moving, "deadline": deadline_sec},
    )
    if moving:
        await registry.move_all()
    await registry.wait_all(deadline_sec)
    left = len(registry.live_sessions())
    if left:
        log.warning("drain deadline reached; ending what is left", extra={"live": left})
        await registry.shutdown()
    log.info("drained", extra={"sec": round(time.monotonic() - started, 2)})


class DrainingServer(uvicorn.Server):
    """uvicorn, but the first SIGTERM drains (``drain``, from the app) before stopping."""

    def __init__(self, config: uvicorn.Config, drain: Callable[[], Awaitable[None] | None]) -> None:
        super().__init__(config)
        self._drain = drain
        self._draining: asyncio.Task[None] | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if sig != signal.SIGTERM or self._draining is not None or self.should_exit:
            super().handle_exit(sig, frame)
            return
        loop = asyncio.get_event_loop()
        # A signal handler runs between two steps of the loop: start the drain from it,
        # in a context of its own (not that of whatever task the signal interrupted).
        self._draining = loop.create_task(self._drain_then_exit(), context=contextvars.Context())

    async def _drain_then_exit(self) -> None:
        try:
            pending = self._drain()
            if pending is not None:
                await pending
        except Exception:
            log.exception("draining failed; stopping all the same")
        finally:
            self.should_exit = True
