"""The reference control plane under real uvicorn: the gateway's signed S2S API, with httpx."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from controlplane import create_app, create_client
from tests.controlplane.platform import (
    EVENTS,
    SECRET,
    TIMESTAMP,
    VERIFY,
    Platform,
    assert_error,
    completed,
    make_settings,
)
from zenhire.loopback.servers import serve

# The tests run in the module's event loop, with its server (see conftest).
pytestmark = pytest.mark.asyncio(loop_scope="module")


# S2S: token verify


async def test_verify_describes_the_session(platform: Platform) -> None:
    persona_id = await platform.persona()
    session_id, token = await platform.start(persona_id)
    response = await platform.s2s(VERIFY, {"token": token})
    assert response.status_code == 200
    view = response.json()
    assert view == {
        "session_id": session_id,
        "client_id": view["client_id"],
        "status": "initiated",
        "consent_mode": "explicit",
        "candidate_ref": "candidate-12345",
        "persona": {"id": persona_id, "role_name": "Senior Backend Engineer", "language": "en"},
        "limits": {"max_concurrent": 2, "max_duration_sec": 1800},
        "expires_at": view["expires_at"],
    }
    assert TIMESTAMP.match(view["expires_at"])
    assert (await platform.session(session_id))["status"] == "initiated"


async def test_verify_unknown_token_is_404(platform: Platform) -> None:
    response = await platform.s2s(VERIFY, {"token": "not-a-token"})
    assert_error(response, 404, "TOKEN_INVALID")


@pytest.mark.attack(
    "malformed verify body", injected="S2S verify bodies that are not the contract", happened="400"
)
async def test_verify_malformed_body_is_400(platform: Platform) -> None:
    assert_error(await platform.s2s(VERIFY, {"token": 5}), 400, "BAD_REQUEST")


async def test_expired_token_is_410_unless_the_session_started(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, ZENHIRE_TOKEN_TTL_SEC="1")
    client = create_client(settings, name="Acme")
    async with serve(create_app(settings)) as url, httpx.AsyncClient(base_url=url) as http:
        platform = Platform(settings, http, str(client["api_key"]))
        persona_id = await platform.persona()
        _, unused = await platform.start(persona_id)
        live_id, live = await platform.start(persona_id)
        await platform.event(live_id, "session.started", {})
        await asyncio.sleep(1.1)
        assert_error(await platform.s2s(VERIFY, {"token": unused}), 410, "TOKEN_EXPIRED")
        response = await platform.s2s(VERIFY, {"token": live})
        assert (response.status_code, response.json()["status"]) == (200, "active")


@pytest.mark.parametrize(
    ("secret", "skew_sec"),
    [("wrong-secret", 0), (SECRET, -400), (SECRET, 400)],
    ids=["bad-signature", "stale", "future"],
)
@pytest.mark.attack(
    "forged S2S signature",
    injected="wrong key, stale timestamp, replayed nonce, tampered body",
    happened="401, nothing changes",
)
async def test_s2s_rejects_bad_signatures_without_side_effects(
    platform: Platform, secret: str, skew_sec: int
) -> None:
    session_id, token = await platform.start(await platform.persona())
    now = time.time() + skew_sec
    verify = await platform.s2s(VERIFY, {"token": token}, secret=secret, now=now)
    assert_error(verify, 401, "S2S_UNAUTHORIZED")
    event = {
        "event_id": str(uuid.uuid4()),
        "type": "session.started",
        "session_id": session_id,
        "occurred_at": "2026-05-29T10:10:05.123Z",
        "data": {},
    }
    response = await platform.s2s(EVENTS, event, secret=secret, now=now)
    assert_error(response, 401, "S2S_UNAUTHORIZED")
    assert (await platform.session(session_id))["status"] == "initiated"


async def test_s2s_rejects_unsigned_requests(platform: Platform) -> None:
    response = await platform.http.post(VERIFY, json={"token": "x"})
    assert_error(response, 401, "S2S_UNAUTHORIZED")


# S2S: session events


async def test_started_event_activates_the_session(platform: Platform) -> None:
    session_id, _ = await platform.start(await platform.persona())
    response = await platform.event(
        session_id, "session.started", {"started_at": "2026-05-29T12:10:05.1+02:00"}
    )
    assert response.json() == {"status": "accepted"}
    session = await platform.session(session_id)
    assert (session["status"], session["started_at"]) == ("active", "2026-05-29T10:10:05.100Z")


async def test_completed_event_charges_five_credits_per_started_minute(
    platform: Platform,
) -> None:
    session_id, _ = await platform.start(await platform.persona())
    await platform.event(session_id, "session.started", {})
    assert (await platform.event(session_id, "session.completed", completed(742))).json() == {
        "status": "accepted"
    }
    session = await platform.session(session_id)
    assert (session["status"], session["duration_sec"], session["credit_charged"]) == (
        "completed",
        742,
        65,
    )
    assert session["completed_at"] == "2026-05-29T10:22:47.456Z"
    assert platform.balance() == 1000 - 65


@pytest.mark.attack(
    "replayed S2S event", injected="the same event_id twice", happened="acknowledged, charged once"
)
async def test_duplicate_event_is_acknowledged_and_not_charged_twice(
    platform: Platform,
) -> None:
    session_id, _ = await platform.start(await platform.persona())
    event_id = str(uuid.uuid4())
    first = await platform.event(session_id, "session.completed", completed(60), event_id)
    again = await platform.event(session_id, "session.completed", completed(60), event_id)
    assert (first.json(), again.json()) == ({"status": "accepted"}, {"status": "duplicate"})
    assert (await platform.session(session_id))["credit_charged"] == 5
    assert platform.balance() == 1000 - 5


async def test_failed_event_records_the_error_and_charges_nothing(platform: Platform) -> None:
    session_id, _ = await platform.start(await platform.persona())
    await platform.event(session_id, "session.started", {})
    error = {"code": "SESSION_TIMEOUT", "message": "The interview ran past its time budget."}
    data = {"error": error, "duration_sec": 1800, "recording_key": None, "transcript_key": None}
    assert (await platform.event(session_id, "session.failed", data)).status_code == 200
    session = await platform.session(session_id)
    assert (session["status"], session["error"], session["credit_charged"]) == ("failed", error, 0)
    assert platform.balance() == 1000
    response = await platform.call("GET", f"/sessions/{session_id}/recording")
    assert assert_error(response, 409, "ARTIFACT_NOT_READY")["details"] == {"status": "failed"}


async def test_event_for_a_terminal_session_is_409(platform: Platform) -> None:
    session_id, _ = await platform.start(await platform.persona())
    await platform.event(session_id, "session.completed", completed())
    failed = {"error": {"code": "CANDIDATE_LEFT", "message": "left"}}
    for type_, data in [("session.started", {}), ("session.failed", failed)]:
        response = await platform.event(session_id, type_, data)
        assert_error(response, 409, "INVALID_TRANSITION")
    assert (await platform.session(session_id))["status"] == "completed"


async def test_event_for_an_unknown_session_is_404(platform: Platform) -> None:
    response = await platform.event(str(uuid.uuid4()), "session.started", {})
    assert_error(response, 404, "SESSION_NOT_FOUND")


@pytest.mark.parametrize(
    ("type_", "data"),
    [
        ("session.paused", {}),
        ("session.completed", {"recording_key": "r", "transcript_key": "t"}),
        ("session.completed", {**completed(), "duration_sec": "742"}),
        ("session.failed", {"error": "SESSION_TIMEOUT"}),
    ],
)
@pytest.mark.attack(
    "malformed S2S event",
    injected="events missing fields or of unknown type",
    happened="400, nothing charged",
)
async def test_malformed_event_is_400(platform: Platform, type_: str, data: dict[str, Any]) -> None:
    session_id, _ = await platform.start(await platform.persona())
    assert_error(await platform.event(session_id, type_, data), 400, "BAD_REQUEST")
