"""The delivery worker: posts due webhook deliveries and schedules their retries.

One `Dispatcher` runs per control plane, started in the app's lifespan. It
keeps at most `MAX_IN_FLIGHT` deliveries in flight, each a task of its own
task group, and never two of one queue (endpoint + session), which keeps a
session's events in order. A delivery succeeds on any 2xx; a non-2xx answer,
a timeout, a connection error or a refused destination is a failed attempt,
retried per the `RetryPolicy` until it succeeds or the schedule runs out.
Redirects are not followed. Everything is in SQLite, so pending deliveries
survive a restart (at least once: an attempt cut short by a stop is made
again).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from datetime import timedelta

import httpx

from controlplane.clock import format_timestamp, parse_timestamp, utc_now
from controlplane.errors import DestinationRefused
from controlplane.webhooks import destination, signature
from controlplane.webhooks.outbox import Attempt, Delivery, DeliveryStatus, Outbox
from controlplane.webhooks.retry import RetryPolicy
from zenhire.tasks import TaskGroup

log = logging.getLogger(__name__)

MAX_IN_FLIGHT = 8
# Longest sleep between polls when nothing is due; a wake() cuts it short.
IDLE_POLL_SEC = 30.0
# After an unexpected error in a poll, wait this long before the next.
ERROR_PAUSE_SEC = 1.0
MAX_ERROR_CHARS = 200
USER_AGENT = "ZenHire-Webhooks/1"


class Dispatcher:
    """Delivers the outbox; `wake` after enqueueing so a delivery goes out at once."""

    def __init__(
        self,
        outbox: Outbox,
        http: httpx.AsyncClient,
        policy: RetryPolicy,
        *,
        allow_private: bool,
        rng: random.Random | None = None,
    ) -> None:
        self._outbox = outbox
        self._http = http
        self._policy = policy
        self._allow_private = allow_private
        self._rng = rng or random.Random()
        self._wake = asyncio.Event()
        self._in_flight: set[str] = set()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Deliver until cancelled; in-flight attempts are cancelled with it."""
        async with TaskGroup() as group:
            while True:
                try:
                    self._start_due(group)
                    wait = self._seconds_to_next_due()
                except Exception:
                    log.exception("webhook poll failed")
                    wait = ERROR_PAUSE_SEC
                self._wake.clear()
                try:
                    async with asyncio.timeout(wait):
                        await self._wake.wait()
                except TimeoutError:
                    pass

    def _start_due(self, group: TaskGroup) -> None:
        room = MAX_IN_FLIGHT - len(self._in_flight)
        if room <= 0:
            return
        now = format_timestamp(utc_now())
        for delivery in self._outbox.due(now, room + len(self._in_flight)):
            if delivery.id in self._in_flight or room <= 0:
                continue
            self._in_flight.add(delivery.id)
            room -= 1
            group.create_task(self._deliver(delivery))

    def _seconds_to_next_due(self) -> float:
        if len(self._in_flight) >= MAX_IN_FLIGHT:
            return IDLE_POLL_SEC  # a finishing delivery wakes us
        due = self._outbox.next_due_at(self._in_flight)
        if due is None:
            return IDLE_POLL_SEC
        seconds = (parse_timestamp(due) - utc_now()).total_seconds()
        return min(IDLE_POLL_SEC, max(0.0, seconds))

    async def _deliver(self, delivery: Delivery) -> None:
        try:
            await self._attempt(delivery)
        except Exception:
            log.exception("webhook delivery crashed", extra={"delivery_id": delivery.id})
        finally:
            self._in_flight.discard(delivery.id)
            self._wake.set()

    async def _attempt(self, delivery: Delivery) -> None:
        webhook = self._outbox.webhook(delivery.webhook_id)
        if webhook is None:
            return  # removed while queued
        moment = utc_now()
        now = format_timestamp(moment)
        started = time.monotonic()
        status_code: int | None = None
        error: str | None = None
        body = delivery.body.encode()
        try:
            await destination.check(webhook.url, allow_private=self._allow_private, resolve=True)
            headers = {
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                **signature.headers(
                    delivery.id, int(moment.timestamp()), body, webhook.signing_secrets(now)
                ),
            }
            response = await self._http.post(webhook.url, content=body, headers=headers)
            status_code = response.status_code
            if not 200 <= status_code < 300:
                error = f"the endpoint answered {status_code}"
        except DestinationRefused as exc:
            error = str(exc)
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
        attempt = Attempt(
            number=delivery.attempts + 1,
            attempted_at=now,
            status_code=status_code,
            error=error,
            duration_ms=round((time.monotonic() - started) * 1000),
        )
        self._settle(delivery, attempt)

    def _settle(self, delivery: Delivery, attempt: Attempt) -> None:
        fields = {
            "delivery_id": delivery.id,
            "webhook_id": delivery.webhook_id,
            "event_type": delivery.event_type,
            "attempt": attempt.number,
        }
        if attempt.error is None:
            self._outbox.record(delivery, attempt, DeliveryStatus.SUCCEEDED, None)
            log.info("webhook delivered", extra=fields)
            return
        age = delivery.age_sec(attempt.attempted_at)
        delay = self._policy.next_delay(attempt.number, age, self._rng)
        if delay is None:
            self._outbox.record(delivery, attempt, DeliveryStatus.FAILED, None)
            log.warning("webhook delivery gave up", extra={**fields, "error": attempt.error})
            return
        next_at = parse_timestamp(attempt.attempted_at) + timedelta(seconds=delay)
        self._outbox.record(delivery, attempt, DeliveryStatus.PENDING, format_timestamp(next_at))
        log.info("webhook attempt failed", extra={**fields, "error": attempt.error})
