"""The S2S outbox of replicas sharing Redis: events in a Redis stream
(`gateway.s2s.stream`), delivered at least once by whichever replica is alive.

Delivery keeps the SQLite outbox's rules (`gateway.s2s.outbox`): retries
with jittered backoff bounded by age and attempts, shared by every replica
through the event's retry state in Redis; dead letters ``expired`` and
``rejected``, counted by ``zenhire_outbox_dead_letters`` and re-driven by
``zenhire gateway outbox``. An event is acknowledged (XACK, and deleted from
the stream) once the control plane answers 2xx, its duplicates included.

A replica reads new events into its own pending list and claims those of a
replica that stopped (idle past ``ZENHIRE_OUTBOX_CLAIM_IDLE_SEC``); beside its
deliveries, it touches its own three times within that bound, so that a slow
attempt (a control plane that answers late) does not hand them to another.

Order: one session's events are delivered in the order they entered the
stream. A pass goes through the stream in order and, once it meets an event
of a session it cannot deliver now (held by another replica, waiting for a
retry), skips that session's later events. A session's events come from its
owner, one after the other, so stream order is the order they happened.
While Redis is unreachable, events go to the local outbox instead; one of
those may overtake an earlier event of its session still in the stream.

Where nothing is lost:

- Redis unreachable at enqueue: the event goes to this replica's SQLite
  outbox (`Outbox`), which delivers it itself, Redis or not.
- Redis restarted without its data: the replica that enqueued an event keeps
  a local copy until Redis knows it delivered (`gateway.s2s.journal`), and
  adds back what Redis lost. A replica that dies for good while Redis
  restarts empty takes its copies with it: run Redis with persistence.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable

from gateway.errors import ControlPlaneUnavailable, StateStoreUnavailable
from gateway.s2s.controlplane import ControlPlane, Delivery
from gateway.s2s.journal import Copy, Journal
from gateway.s2s.outbox import IDLE_WAKE_SEC, Backlog, Outbox
from gateway.s2s.stream import Entry, EventStream, Retry
from zenhire.backoff import Backoff
from zenhire.tasks import TaskGroup, still_wanted

log = logging.getLogger("zenhire.outbox")

# A replica touches its pending events this many times within the claim bound.
TOUCHES_PER_CLAIM_BOUND = 3
# How often the local copies are compared with Redis (`gateway.s2s.journal`).
COMPARE_COPIES_SEC = IDLE_WAKE_SEC


class RedisOutbox:
    """An `gateway.s2s.outbox.EventOutbox` over a Redis stream, with a local
    `Outbox` for the events Redis could not take and a `Journal` of copies."""

    def __init__(
        self,
        stream: EventStream,
        local: Outbox,
        journal: Journal,
        control_plane: ControlPlane,
        backoff: Backoff,
        claim_idle_sec: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._stream = stream
        self._local = local
        self._journal = journal
        self._control_plane = control_plane
        self._backoff = backoff
        self._claim_idle_sec = claim_idle_sec
        self._touch_every_sec = claim_idle_sec / TOUCHES_PER_CLAIM_BOUND
        self._clock = clock
        self._wake = asyncio.Event()
        self._compared_at = float("-inf")
        # What Redis said last, for the metrics while it is unreachable: held, oldest, dead.
        self._seen: tuple[int, float | None, int] = (0, None, 0)

    async def close(self) -> None:
        try:
            await self._local.close()
        finally:
            await self._journal.close()

    async def enqueue(self, event_id: str, session_id: str, type_: str, body: bytes) -> bool:
        """Add an event to the stream (or, Redis unreachable, to the local outbox);
        `run` delivers it soon after. Whether it is durable (`Outbox.enqueue`)."""
        created_at = self._clock()
        try:
            await self._stream.add(event_id, session_id, type_, body, created_at)
        except StateStoreUnavailable as exc:
            log.warning(
                "the outbox stream is unreachable; the event waits in the local outbox",
                extra={"event_id": event_id, "event_type": type_, "error": str(exc)},
            )
            return await self._local.enqueue(event_id, session_id, type_, body)
        try:
            await self._journal.keep(Copy(event_id, session_id, type_, body, created_at))
        except sqlite3.Error as exc:
            # The event is in Redis all the same; only a Redis that loses its data loses it.
            log.error(
                "the outbox journal takes no writes; the event has no local copy",
                extra={"event_id": event_id, "error": str(exc)},
            )
        self._wake.set()
        return True

    async def backlog(self) -> Backlog:
        """This replica's events: those it holds in the stream and in its local
        outbox. Dead letters: every replica's in Redis, and the local ones."""
        local = await self._local.backlog()
        try:
            held, oldest = await self._stream.held()
            self._seen = (held, oldest, await self._stream.dead_count())
        except StateStoreUnavailable:
            pass
        held, oldest, dead = self._seen
        stream_age = 0.0 if oldest is None else self._clock() - oldest
        return Backlog(
            local.pending + held,
            max(local.oldest_age_sec, stream_age),
            local.dead + dead,
            local.held,
        )

    async def state_of(self, event_id: str) -> str | None:
        local = await self._local.state_of(event_id)
        if local is not None:
            return local
        return (await self._stream.known([event_id]))[event_id]

    async def run(self) -> None:
        """Deliver events until cancelled; meanwhile, keep this replica's pending
        events from being claimed, however long one delivery attempt takes."""
        async with TaskGroup() as group:
            group.create_task(self._keep_touching())
            await self._deliver_forever()

    async def _deliver_forever(self) -> None:
        wake_sec = min(IDLE_WAKE_SEC, self._touch_every_sec)
        while True:
            self._wake.clear()
            try:
                next_due = await self.deliver_due()
            except Exception:
                # As in `Outbox.run`: the events stay pending, the next pass tries again.
                log.exception("event delivery pass failed")
                next_due = None
            still_wanted()
            delay = wake_sec if next_due is None else max(0.0, next_due - self._clock())
            try:
                async with asyncio.timeout(min(delay, wake_sec)):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def _keep_touching(self) -> None:
        while True:
            await asyncio.sleep(self._touch_every_sec)
            # Unreachable for us is unreachable for the others too: nobody claims meanwhile.
            with contextlib.suppress(StateStoreUnavailable):
                await self._stream.touch()
            still_wanted()

    async def deliver_due(self) -> float | None:
        """One delivery pass of the stream and of the local outbox. Returns when the
        next event is due."""
        due = [await self._local.deliver_due()]
        try:
            due.append(await self._deliver_stream())
            await self._compare_copies()
        except StateStoreUnavailable as exc:
            log.warning(
                "the outbox stream is unreachable; its events wait", extra={"error": str(exc)}
            )
        return min((at for at in due if at is not None), default=None)

    async def _deliver_stream(self) -> float | None:
        await self._stream.take(self._claim_idle_sec)
        now = self._clock()
        blocked: set[str] = set()
        next_due: float | None = None
        for entry in await self._stream.entries():
            if entry.session_id in blocked:
                continue
            if entry.consumer != self._stream.consumer:
                # Another replica holds it (or nobody has read it yet): the session's
                # later events wait behind it.
                blocked.add(entry.session_id)
                continue
            if entry.retry.next_attempt_at > now:
                blocked.add(entry.session_id)
                due = entry.retry.next_attempt_at
                next_due = due if next_due is None else min(next_due, due)
                continue
            retry_at = await self._attempt(entry)
            if retry_at is not None:
                blocked.add(entry.session_id)
                next_due = retry_at if next_due is None else min(next_due, retry_at)
        return next_due

    async def _attempt(self, entry: Entry) -> float | None:
        attempts = entry.retry.attempts + 1
        try:
            outcome = await self._control_plane.deliver(entry.body)
        except ControlPlaneUnavailable as exc:
            return await self._retry_later(entry, attempts, str(exc))
        extra = {"event_id": entry.event_id, "event_type": entry.type}
        if outcome is Delivery.ACCEPTED:
            await self._stream.accepted(entry)
            log.info("event delivered", extra=extra)
        else:
            retry = Retry(attempts, self._clock(), "rejected by the control plane")
            await self._stream.dead(entry, "rejected", retry)
            log.error("event rejected", extra=extra)
        return None

    async def _retry_later(self, entry: Entry, attempts: int, error: str) -> float | None:
        retry_at = self._clock() + self._backoff.delay(attempts)
        extra = {"event_id": entry.event_id, "event_type": entry.type, "attempts": attempts}
        if self._backoff.gives_up(attempts, retry_at - entry.created_at):
            await self._stream.dead(entry, "expired", Retry(attempts, retry_at, error))
            log.error("event delivery abandoned", extra={**extra, "error": error})
            return None
        await self._stream.retry(entry, Retry(attempts, retry_at, error))
        log.warning("event delivery failed, will retry", extra={**extra, "error": error})
        return retry_at

    async def _compare_copies(self) -> None:
        """Drop the local copies Redis delivered; add back those it lost."""
        now = time.monotonic()
        if now - self._compared_at < COMPARE_COPIES_SEC:
            return
        self._compared_at = now
        copies = await self._journal.copies()
        if not copies:
            return
        known = await self._stream.known([copy.event_id for copy in copies])
        await self._journal.drop([event for event, where in known.items() if where == "delivered"])
        lost = [copy for copy in copies if known[copy.event_id] is None]
        for copy in lost:
            await self._stream.add(
                copy.event_id, copy.session_id, copy.type, copy.body, copy.created_at
            )
        if lost:
            log.warning(
                "Redis had lost events of this replica; added again from their local copies",
                extra={"events": len(lost)},
            )
            self._wake.set()
