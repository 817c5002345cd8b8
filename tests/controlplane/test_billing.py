"""Fair billing: credits reserved at the start, settled at the end, never below zero."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.controlplane.harness import completed, running_platform


async def test_concurrent_starts_cannot_take_the_balance_below_zero(tmp_path: Path) -> None:
    """Two minutes of credit, two-minute budgets: only the first start gets a reservation."""
    client = {"credits": 10, "max_duration_sec": 120}
    async with running_platform(tmp_path, client=client) as platform:
        persona_id = await platform.persona()
        sessions = [(await platform.start(persona_id))[0] for _ in range(3)]
        await asyncio.gather(*(platform.event(s, "session.started", {}) for s in sessions))
        assert platform.balance() == 0
        await asyncio.gather(
            *(platform.event(s, "session.completed", completed(120)) for s in sessions)
        )
        charged = sorted([(await platform.session(s))["credit_charged"] for s in sessions])
        assert charged == [0, 0, 10]
        assert platform.balance() == 0


async def test_the_reservation_is_released_beyond_the_charge(tmp_path: Path) -> None:
    async with running_platform(tmp_path, client={"max_duration_sec": 1800}) as platform:
        session_id, _ = await platform.start()
        await platform.event(session_id, "session.started", {})
        assert platform.balance() == 1000 - 150  # 30 minutes held
        await platform.event(session_id, "session.completed", completed(742))
        assert (await platform.session(session_id))["credit_charged"] == 65
        assert platform.balance() == 1000 - 65


async def test_an_accommodation_grows_the_reservation(tmp_path: Path) -> None:
    async with running_platform(tmp_path, client={"max_duration_sec": 600}) as platform:
        session_id, _ = await platform.start(accommodations={"extra_time_pct": 50})
        await platform.event(session_id, "session.started", {})
        assert platform.balance() == 1000 - 75  # 15 minutes held


@pytest.mark.parametrize(
    ("code", "recorded", "charged"),
    [
        ("SESSION_TIMEOUT", True, 15),
        ("CANDIDATE_LEFT", True, 15),
        ("CANDIDATE_LEFT", False, 0),
        ("GATEWAY_RESTART", True, 0),
        ("UPSTREAM_UNAVAILABLE", True, 0),
        ("RECORDING_FAILED", True, 0),
        ("INTERNAL_ERROR", True, 0),
    ],
)
async def test_a_failed_session_pays_for_recorded_minutes_unless_the_platform_failed(
    tmp_path: Path, code: str, recorded: bool, charged: int
) -> None:
    async with running_platform(tmp_path) as platform:
        session_id, _ = await platform.start()
        await platform.event(session_id, "session.started", {})
        data = {
            "error": {"code": code, "message": "ended"},
            "duration_sec": 150,
            "recording_key": "sessions/s/recording.wav" if recorded else None,
            "transcript_key": None,
        }
        await platform.event(session_id, "session.failed", data)
        assert (await platform.session(session_id))["credit_charged"] == charged
        assert platform.balance() == 1000 - charged
