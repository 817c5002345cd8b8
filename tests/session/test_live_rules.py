"""Lifecycle rules of a live interview: slots, time budget, reconnects, restarts."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import websockets

from gateway.app import create_app as create_gateway
from tests.audio_checks import stereo_channels
from zenhire.loopback.candidate import Candidate, drop
from zenhire.loopback.servers import serve
from zenhire.loopback.stack import Stack, running_stack

pytestmark = pytest.mark.timeout(120)


async def _live(stack: Stack, token: str) -> tuple[Candidate, websockets.ClientConnection]:
    candidate = Candidate(stack.gateway_url)
    await candidate.open(stack.http, token)
    socket = await candidate.connect()
    return candidate, socket


async def _next_event(socket: websockets.ClientConnection, kind: str) -> dict[str, Any]:
    async with asyncio.timeout(20):
        while True:
            message = await socket.recv()
            if isinstance(message, str) and (event := json.loads(message))["type"] == kind:
                assert isinstance(event, dict)
                return event


async def _recording(stack: Stack, session_id: str) -> bytes:
    response = await stack.http.get(
        f"{stack.api}/sessions/{session_id}/recording", headers=stack.headers
    )
    assert response.status_code == 200, response.text
    return response.content


async def test_busy_cap_sends_the_next_candidate_to_the_waiting_room(tmp_path: Path) -> None:
    """With one slot, a second candidate waits, then starts once the first ends."""
    async with running_stack(
        tmp_path, max_concurrent=1, gateway_env={"ZENHIRE_WAITING_RETRY_SEC": "0.3"}
    ) as stack:
        first_id, first_token = await stack.create_session()
        second_id, second_token = await stack.create_session()
        _, first = await _live(stack, first_token)
        await _next_event(first, "live")
        _, second = await _live(stack, second_token)
        waiting = await _next_event(second, "waiting")
        assert waiting["position"] == 1
        assert (await stack.session(second_id))["status"] == "initiated"

        await first.send(json.dumps({"type": "end"}))
        live = await _next_event(second, "live")
        assert live["resumed"] is False
        await stack.wait_for_status(first_id, "completed")
        await stack.wait_for_status(second_id, "active")
        await second.send(json.dumps({"type": "end"}))
        await stack.wait_for_status(second_id, "completed")
        await first.close()
        await second.close()


async def test_time_budget_ends_the_session_with_session_timeout(tmp_path: Path) -> None:
    async with running_stack(tmp_path, max_duration_sec=3) as stack:
        session_id, token = await stack.create_session()
        _, socket = await _live(stack, token)
        ended = await _next_event(socket, "ended")
        assert ended["reason"] == "SESSION_TIMEOUT"
        session = await stack.wait_for_status(session_id, "failed")
        assert session["error"]["code"] == "SESSION_TIMEOUT"
        # Not the platform's failure: the recorded minute is charged (5 credits a minute).
        assert session["credit_charged"] == 5
        # The slot is free again: another interview of the same client starts at once.
        _, other_token = await stack.create_session()
        _, other = await _live(stack, other_token)
        await _next_event(other, "live")
        await other.close()


async def test_extra_time_grows_the_budget_and_session_timeout_follows(tmp_path: Path) -> None:
    """An accommodation of 100 % extra time: a 2 s limit times out after 4 s, not 2 s."""
    async with running_stack(tmp_path, max_duration_sec=2) as stack:
        session_id, token = await stack.create_session(extra_time_pct=100)
        candidate, socket = await _live(stack, token)
        shown = candidate.session["session"]
        assert (shown["max_duration_sec"], shown["extra_time_pct"]) == (4, 100)
        await _next_event(socket, "live")
        started = asyncio.get_running_loop().time()
        timer = await _next_event(socket, "timer")
        assert timer["remaining_sec"] > 2
        ended = await _next_event(socket, "ended")
        lasted = asyncio.get_running_loop().time() - started
        assert ended["reason"] == "SESSION_TIMEOUT"
        assert 3.5 <= lasted <= 6.0, lasted
        session = await stack.wait_for_status(session_id, "failed")
        assert session["error"]["code"] == "SESSION_TIMEOUT"
        assert session["duration_sec"] >= 4
        await socket.close()


async def test_reload_within_grace_resumes_the_same_session(tmp_path: Path) -> None:
    """A dropped connection resumes; the recording keeps the gap as silence."""
    async with running_stack(tmp_path) as stack:
        session_id, token = await stack.create_session()
        _, socket = await _live(stack, token)
        await _next_event(socket, "live")
        await asyncio.sleep(1.0)
        drop(socket)
        await asyncio.sleep(2.0)
        again = Candidate(stack.gateway_url)
        opened = await again.open(stack.http, token)
        assert opened.json()["session"]["live"] is True
        async with await again.connect() as socket:
            live = await _next_event(socket, "live")
            assert live["resumed"] is True
            assert live["elapsed_sec"] >= 2
            await asyncio.sleep(1.0)
            await socket.send(json.dumps({"type": "end"}))
            await _next_event(socket, "ended")
        session = await stack.wait_for_status(session_id, "completed")
        left, _, rate = stereo_channels(await _recording(stack, session_id))
        assert len(left) / rate == pytest.approx(4.0, abs=0.8)
        assert session["duration_sec"] == pytest.approx(4, abs=1)


@pytest.mark.fault(
    "candidate vanishes",
    injected="the candidate's connection drops and never returns",
    happened="after the grace period the interview ends CANDIDATE_LEFT with its artifacts",
)
async def test_candidate_gone_past_grace_fails_with_candidate_left(tmp_path: Path) -> None:
    async with running_stack(tmp_path, gateway_env={"ZENHIRE_RECONNECT_GRACE_SEC": "1"}) as stack:
        session_id, token = await stack.create_session()
        _, socket = await _live(stack, token)
        await _next_event(socket, "live")
        await socket.close()
        session = await stack.wait_for_status(session_id, "failed")
        assert session["error"]["code"] == "CANDIDATE_LEFT"


async def test_finished_session_link_no_longer_starts_an_interview(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack:
        session_id, token = await stack.create_session()
        candidate, socket = await _live(stack, token)
        await _next_event(socket, "live")
        await socket.send(json.dumps({"type": "end"}))
        await _next_event(socket, "ended")
        await stack.wait_for_status(session_id, "completed")
        response = await stack.http.post(
            stack.gateway_url + "/api/v1/candidate/session", json={"token": token}
        )
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "SESSION_FINISHED"
        # The old ticket cannot start it again either.
        async with await candidate.connect() as socket:
            error = await _next_event(socket, "error")
            assert error["code"] == "SESSION_FINISHED"


async def test_second_connection_supersedes_the_first(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack:
        session_id, token = await stack.create_session()
        candidate, first = await _live(stack, token)
        await _next_event(first, "live")
        second = await candidate.connect()
        assert (await _next_event(second, "live"))["resumed"] is True
        with pytest.raises(websockets.ConnectionClosed):
            while True:
                await first.recv()
        assert first.close_code == 4409
        await second.send(json.dumps({"type": "end"}))
        await stack.wait_for_status(session_id, "completed")
        await second.close()


@pytest.mark.fault(
    "gateway stopped (SIGTERM)",
    injected="a graceful stop with live interviews",
    happened="each ends GATEWAY_RESTART with its artifacts and event",
)
async def test_gateway_shutdown_fails_live_sessions_and_keeps_artifacts(tmp_path: Path) -> None:
    async with running_stack(tmp_path, start_gateway=False) as stack:
        session_id, token = await stack.create_session()
        port = int(stack.gateway_url.rsplit(":", 1)[1])
        async with serve(create_gateway(stack.gateway_settings), port=port):
            _, socket = await _live(stack, token)
            await _next_event(socket, "live")
            await asyncio.sleep(1.5)
        session = await stack.wait_for_status(session_id, "failed")
        assert session["error"]["code"] == "GATEWAY_RESTART"
        async with serve(create_gateway(stack.gateway_settings), port=port):
            left, _, rate = stereo_channels(await _gateway_recording(stack, session_id))
            assert len(left) / rate >= 1.0


async def _gateway_recording(stack: Stack, session_id: str) -> bytes:
    from zenhire.signing import Direction, Signer

    path = f"/s2s/v1/sessions/{session_id}/recording"
    headers = Signer.of(stack.gateway_settings.s2s_secrets, Direction.TO_GATEWAY).headers(
        "GET", path, b""
    )
    response = await stack.http.get(stack.gateway_url + path, headers=headers)
    assert response.status_code == 200
    return response.content


@pytest.mark.fault(
    "control plane down",
    injected="control plane stopped while interviews end, then restarted",
    happened="events wait in the outbox and arrive once, in order",
)
async def test_events_reach_a_control_plane_that_was_down(tmp_path: Path) -> None:
    """Events wait in the outbox while the control plane is down and arrive once."""
    async with running_stack(tmp_path) as stack:
        session_id, token = await stack.create_session()
        _, socket = await _live(stack, token)
        await _next_event(socket, "live")
        await stack.wait_for_status(session_id, "active")
        await stack.control.stop()
        await socket.send(json.dumps({"type": "end"}))
        await _next_event(socket, "ended")
        await asyncio.sleep(1.5)  # several failed delivery attempts
        await stack.control.start()
        session = await stack.wait_for_status(session_id, "completed")
        await asyncio.sleep(1.0)
        assert (await stack.session(session_id))["credit_charged"] == session["credit_charged"]
