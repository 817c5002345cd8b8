"""Prometheus metrics of one gateway process, served at ``/metrics``.

Every app has its own `CollectorRegistry` (no global default registry), so
many apps can live in one process (tests) without clashing. Labels are
bounded: ``client_id`` (one per integrator company; the control plane
creates them by hand, so their number stays small), error ``code`` (a fixed
vocabulary), event ``type`` and delivery ``result``. No session ids.

    zenhire_live_sessions{client_id}                 live on this replica (gauge)
    zenhire_slots_used / _cap{client_id}             shared slot store (gauge)
    zenhire_waiting_room_length{client_id}           shared slot store (gauge)
    zenhire_sessions_started_total{client_id,transport}
    zenhire_sessions_finished_total{client_id,status,code}
    zenhire_frame_relay_latency_seconds              candidate frame arrival -> session clock tick
    zenhire_upstream_errors_total{code}, zenhire_upstream_reconnects_total,
    zenhire_upstream_round_trip_seconds              reported by the interviewer upstream
    zenhire_event_delivery_attempts_total{type,result}   result: accepted|rejected|unavailable
    zenhire_outbox_pending_events, zenhire_outbox_oldest_pending_age_seconds
    zenhire_recording_bytes_total, zenhire_replica_draining
    zenhire_event_loop_lag_seconds                   how late the event loop woke (histogram)
    zenhire_event_loop_lag_p99_seconds / _max_seconds    the same over the readiness window
    zenhire_dependency_up{dependency}                control_plane, state_store: 1 reachable
    zenhire_outbox_held_events                       events the outbox's disk has not taken yet
    zenhire_recording_segments_pending               sealed, not yet in the artifact store
    process_*                                        CPU, memory, file descriptors

An ``unavailable`` delivery attempt is one that will be retried (or, past
the outbox's limits, abandoned), so it counts the retries.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterable
from typing import Protocol

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

from gateway.errors import ControlPlaneUnavailable
from gateway.ops.loop_lag import LoopLag
from gateway.s2s.controlplane import ControlPlane, Delivery, Verification
from gateway.s2s.outbox import Backlog
from gateway.state.slots import ClientSlots

CONTENT_TYPE = CONTENT_TYPE_LATEST
# A frame waits for the next 20 ms tick; more than a few ticks means a backlog.
RELAY_BUCKETS_SEC = (0.0025, 0.005, 0.01, 0.02, 0.03, 0.04, 0.06, 0.1, 0.2, 0.5)
# The loop wakes every 50 ms; past a frame (20 ms) audio waits, past 250 ms it is not ready.
LOOP_LAG_BUCKETS_SEC = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
ROUND_TRIP_BUCKETS_SEC = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 5.0)
# Sessions whose latest upstream round trip is remembered for the console.
ROUND_TRIPS_KEPT = 4096
NO_CODE = "none"


class SegmentBacklog(Protocol):
    @property
    def pending(self) -> int: ...


class UpstreamMetrics:
    """What an interviewer upstream (e.g. the realtime interviewer) reports."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._errors = Counter(
            "zenhire_upstream_errors",
            "Errors talking to the interviewer upstream, by error code.",
            ["code"],
            registry=registry,
        )
        self._reconnects = Counter(
            "zenhire_upstream_reconnects",
            "Reconnections to the interviewer upstream.",
            registry=registry,
        )
        self._round_trip = Histogram(
            "zenhire_upstream_round_trip_seconds",
            "Round trip to the interviewer upstream.",
            buckets=ROUND_TRIP_BUCKETS_SEC,
            registry=registry,
        )
        self._latest: OrderedDict[str, float] = OrderedDict()

    def error(self, code: str) -> None:
        self._errors.labels(code).inc()

    def reconnect(self) -> None:
        self._reconnects.inc()

    def round_trip(self, session_id: str, seconds: float) -> None:
        self._round_trip.observe(seconds)
        self._latest[session_id] = seconds
        self._latest.move_to_end(session_id)
        while len(self._latest) > ROUND_TRIPS_KEPT:
            self._latest.popitem(last=False)

    def latest_round_trip_ms(self, session_id: str) -> float | None:
        seconds = self._latest.get(session_id)
        return None if seconds is None else round(seconds * 1000, 1)

    def forget(self, session_id: str) -> None:
        self._latest.pop(session_id, None)


class Metrics:
    """The process's metrics; a `gateway.session.telemetry.SessionMeter` for live sessions."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self.upstream = UpstreamMetrics(self.registry)
        r = self.registry
        self._started = Counter(
            "zenhire_sessions_started",
            "Live interviews started on this replica.",
            ["client_id", "transport"],
            registry=r,
        )
        self._finished = Counter(
            "zenhire_sessions_finished",
            "Live interviews finished on this replica, by status and error code.",
            ["client_id", "status", "code"],
            registry=r,
        )
        self._relay = Histogram(
            "zenhire_frame_relay_latency_seconds",
            "From a candidate frame's arrival to the session clock tick that records "
            "and forwards it.",
            buckets=RELAY_BUCKETS_SEC,
            registry=r,
        )
        self._recorded = Counter(
            "zenhire_recording_bytes", "Recording audio bytes written.", registry=r
        )
        self._deliveries = Counter(
            "zenhire_event_delivery_attempts",
            "S2S event delivery attempts, by event type and result.",
            ["type", "result"],
            registry=r,
        )
        self._live = Gauge(
            "zenhire_live_sessions", "Live interviews on this replica.", ["client_id"], registry=r
        )
        self._used = Gauge(
            "zenhire_slots_used", "Live slots held, all replicas.", ["client_id"], registry=r
        )
        self._cap = Gauge(
            "zenhire_slots_cap", "Live slot cap of the client.", ["client_id"], registry=r
        )
        self._waiting = Gauge(
            "zenhire_waiting_room_length",
            "Candidates waiting for a slot, all replicas.",
            ["client_id"],
            registry=r,
        )
        self._pending = Gauge(
            "zenhire_outbox_pending_events", "S2S events not yet delivered.", registry=r
        )
        self._oldest = Gauge(
            "zenhire_outbox_oldest_pending_age_seconds",
            "Age of the oldest undelivered S2S event.",
            registry=r,
        )
        self._dead = Gauge(
            "zenhire_outbox_dead_letters",
            "S2S events never accepted (expired or rejected): `zenhire gateway outbox`.",
            registry=r,
        )
        self._draining = Gauge(
            "zenhire_replica_draining", "1 while this replica admits no new interviews.", registry=r
        )
        self._held = Gauge(
            "zenhire_outbox_held_events",
            "S2S events held in memory: the outbox's database takes no writes (disk full).",
            registry=r,
        )
        self._loop_lag = Histogram(
            "zenhire_event_loop_lag_seconds",
            "How much later than scheduled the event loop woke up.",
            buckets=LOOP_LAG_BUCKETS_SEC,
            registry=r,
        )
        self._loop_p99 = Gauge(
            "zenhire_event_loop_lag_p99_seconds",
            "p99 over time of the event loop's lag in the readiness window.",
            registry=r,
        )
        self._loop_max = Gauge(
            "zenhire_event_loop_lag_max_seconds",
            "Largest event loop lag in the readiness window.",
            registry=r,
        )
        self._up = Gauge(
            "zenhire_dependency_up",
            "1 while a shared dependency answers (not part of readiness).",
            ["dependency"],
            registry=r,
        )
        self._segments_pending = Gauge(
            "zenhire_recording_segments_pending",
            "Recording segments sealed but not yet in the artifact store (waiting in the spool).",
            registry=r,
        )

    def watch_segments(self, shipper: SegmentBacklog) -> None:
        """Read the pending-segments gauge from ``shipper`` at each scrape."""
        self._segments_pending.set_function(lambda: shipper.pending)

    # -- SessionMeter ---------------------------------------------------------

    def started(self, client_id: str, transport: str) -> None:
        self._started.labels(client_id, transport).inc()

    def finished(self, session_id: str, client_id: str, status: str, code: str | None) -> None:
        self._finished.labels(client_id, status, code or NO_CODE).inc()
        self.upstream.forget(session_id)

    def relayed(self, latency_sec: float) -> None:
        self._relay.observe(latency_sec)

    def recorded(self, nbytes: int) -> None:
        self._recorded.inc(nbytes)

    # -- the rest -------------------------------------------------------------

    def delivery(self, type_: str, result: str) -> None:
        self._deliveries.labels(type_, result).inc()

    def loop_lagged(self, lag_sec: float) -> None:
        self._loop_lag.observe(lag_sec)

    def update(
        self,
        live_clients: Iterable[str],
        clients: list[ClientSlots],
        backlog: Backlog,
        draining: bool,
        loop: LoopLag,
        dependencies: dict[str, bool],
    ) -> None:
        """Set the gauges from the current state, just before a scrape."""
        for gauge in (self._live, self._used, self._cap, self._waiting):
            gauge.clear()
        for client_id in live_clients:
            self._live.labels(client_id).inc()
        for client in clients:
            self._used.labels(client.client_id).set(client.used)
            self._cap.labels(client.client_id).set(client.cap)
            self._waiting.labels(client.client_id).set(len(client.waiting))
        self._pending.set(backlog.pending)
        self._oldest.set(backlog.oldest_age_sec)
        self._dead.set(backlog.dead)
        self._held.set(backlog.held)
        self._draining.set(1 if draining else 0)
        self._loop_p99.set(loop.recent_p99_sec())
        self._loop_max.set(loop.recent_max_sec())
        for name, up in dependencies.items():
            self._up.labels(name).set(1 if up else 0)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MeteredControlPlane:
    """A `ControlPlane` that counts event deliveries into `Metrics`."""

    def __init__(self, inner: ControlPlane, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    async def verify(self, token: str) -> Verification:
        return await self._inner.verify(token)

    async def deliver(self, body: bytes) -> Delivery:
        type_ = _event_type(body)
        try:
            outcome = await self._inner.deliver(body)
        except ControlPlaneUnavailable:
            self._metrics.delivery(type_, "unavailable")
            raise
        self._metrics.delivery(type_, outcome.value)
        return outcome


def _event_type(body: bytes) -> str:
    try:
        found = json.loads(body).get("type")
    except (ValueError, AttributeError):
        return "unknown"
    return found if isinstance(found, str) else "unknown"
