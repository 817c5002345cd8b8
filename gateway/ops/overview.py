"""The operator overview: every replica's live interviews, slots, waiting rooms,
recent endings and event backlogs, as one JSON document (docs/operator-api.md).

This replica's own part is always fresh; other replicas' parts are their
last published snapshots (at most about a second old), with elapsed and
remaining times advanced by the snapshot's age. When the state store is
unreachable the overview still shows this replica, and says so.
"""

from __future__ import annotations

import time
from dataclasses import asdict, replace
from datetime import UTC, datetime
from typing import Any

from gateway.errors import StateStoreUnavailable
from gateway.services import Services
from gateway.session.telemetry import Finished
from gateway.state.directory import ReplicaSnapshot
from gateway.state.slots import ClientSlots
from zenhire.timestamps import iso

RECENT_SHOWN = 20


async def overview(found: Services) -> dict[str, Any]:
    replica = found.replica
    state = replica.state
    now = time.time()
    local = await replica.snapshot()
    try:
        snapshots = {s.replica_id: s for s in await state.directory.replicas()}
        clients = await state.slots.clients()
        recent = await state.directory.recent()
        reachable = True
    except StateStoreUnavailable:
        snapshots, clients, recent, reachable = {}, [], [], False
    recent = _merged(recent, list(found.registry.recent))
    snapshots[local.replica_id] = local
    replicas = [_aged(snapshots[key], now) for key in sorted(snapshots)]
    sessions = sorted(
        (session for snapshot in replicas for session in snapshot.sessions),
        key=lambda session: (session.started_at, session.session_id),
    )
    return {
        "generated_at": iso(datetime.now(UTC).timestamp()),
        "replica_id": replica.replica_id,
        "state_store": {"kind": state.kind, "reachable": reachable},
        "replicas": [_replica(snapshot, now, local.replica_id) for snapshot in replicas],
        "sessions": [asdict(session) for session in sessions],
        "clients": [_client(client) for client in clients],
        "recent": [_finished(item) for item in recent[:RECENT_SHOWN]],
        "totals": {
            "live": len(sessions),
            "waiting": sum(len(client.waiting) for client in clients),
            "outbox_pending": sum(snapshot.outbox_pending for snapshot in replicas),
        },
    }


def _merged(shared: list[Finished], local: list[Finished]) -> list[Finished]:
    """Shared and this replica's own (maybe not yet published) endings, newest first."""
    unique = {(item.session_id, item.ended_at): item for item in [*shared, *local]}
    return sorted(unique.values(), key=lambda item: item.ended_at, reverse=True)


def _aged(snapshot: ReplicaSnapshot, now: float) -> ReplicaSnapshot:
    age = max(0, int(now - snapshot.published_at))
    if not age:
        return snapshot
    sessions = tuple(
        replace(
            session,
            elapsed_sec=session.elapsed_sec + age,
            remaining_sec=max(0, session.remaining_sec - age),
        )
        for session in snapshot.sessions
    )
    return replace(snapshot, sessions=sessions)


def _replica(snapshot: ReplicaSnapshot, now: float, this: str) -> dict[str, Any]:
    return {
        "replica_id": snapshot.replica_id,
        "this": snapshot.replica_id == this,
        "draining": snapshot.draining,
        "live_sessions": len(snapshot.sessions),
        "snapshot_age_sec": round(max(0.0, now - snapshot.published_at), 1),
        "outbox": {
            "pending": snapshot.outbox_pending,
            "oldest_age_sec": snapshot.outbox_oldest_age_sec,
        },
    }


def _client(client: ClientSlots) -> dict[str, Any]:
    return {
        "client_id": client.client_id,
        "used": client.used,
        "cap": client.cap,
        "waiting": [asdict(waiter) for waiter in client.waiting],
    }


def _finished(item: Finished) -> dict[str, Any]:
    return asdict(item)
