"""The reference control plane under real uvicorn: the integrator API, over HTTP with httpx."""

from __future__ import annotations

import re
import sqlite3
import uuid
from contextlib import closing

import pytest

from controlplane import create_client
from controlplane.credentials import digest
from tests.controlplane.platform import (
    API,
    PUBLIC_URL,
    TIMESTAMP,
    Platform,
    assert_error,
    completed,
)

# The tests run in the module's event loop, with its server (see conftest).
pytestmark = pytest.mark.asyncio(loop_scope="module")


# Integrator API


async def test_quickstart_creates_a_persona_and_a_session(platform: Platform) -> None:
    response = await platform.call(
        "POST", "/personas", json={"role_name": "Senior Backend Engineer", "language": "en"}
    )
    assert response.status_code == 201
    persona = response.json()
    assert persona.keys() == {"id", "client_id", "role_name", "language", "status", "created_at"}
    assert (persona["role_name"], persona["language"], persona["status"]) == (
        "Senior Backend Engineer",
        "en",
        "active",
    )
    assert TIMESTAMP.match(persona["created_at"])
    assert (await platform.call("GET", f"/personas/{persona['id']}")).json() == persona
    assert (await platform.call("GET", "/personas")).json() == {"data": [persona]}

    response = await platform.call(
        "POST",
        f"/personas/{persona['id']}/sessions",
        json={"consent_mode": "explicit", "candidate_ref": "candidate-12345"},
    )
    assert response.status_code == 201
    created = response.json()
    assert created.keys() == {"session_id", "candidate_link", "expires_in"}
    assert created["expires_in"] == 604800
    assert re.fullmatch(rf"{PUBLIC_URL}/#t=[A-Za-z0-9_-]{{43}}", created["candidate_link"])

    session = await platform.session(created["session_id"])
    assert session == {
        "id": created["session_id"],
        "persona_id": persona["id"],
        "status": "initiated",
        "duration_sec": None,
        "credit_charged": 0,
        "consent_mode": "explicit",
        "candidate_ref": "candidate-12345",
        "created_at": session["created_at"],
        "started_at": None,
        "completed_at": None,
        "error": None,
        "project_id": None,
        "candidate_rating": None,
    }


async def test_secrets_are_stored_only_as_sha256(platform: Platform) -> None:
    _, token = await platform.start(await platform.persona())
    with closing(sqlite3.connect(platform.settings.database_path)) as db:
        dump = "\n".join(db.iterdump())
    assert platform.api_key.startswith("zh_api_")
    assert platform.api_key not in dump and token not in dump
    assert digest(platform.api_key) in dump and digest(token) in dump


@pytest.mark.parametrize("key", [None, "zh_api_unknown"])
@pytest.mark.attack(
    "missing or unknown API key", injected="no X-API-Key, a made-up key", happened="401"
)
async def test_missing_or_unknown_api_key_is_401(platform: Platform, key: str | None) -> None:
    headers = {} if key is None else {"X-API-Key": key}
    response = await platform.http.get(f"{API}/personas", headers=headers)
    assert_error(response, 401, "UNAUTHORIZED")


async def test_client_without_interview_permission_is_403(platform: Platform) -> None:
    other = create_client(platform.settings, name="NoPerm", interview_permission=False)
    response = await platform.call("GET", "/personas", key=str(other["api_key"]))
    assert_error(response, 403, "MISSING_PERMISSION")


async def test_another_clients_persona_and_session_are_403(platform: Platform) -> None:
    persona_id = await platform.persona()
    session_id, _ = await platform.start(persona_id)
    intruder = str(create_client(platform.settings, name="Intruder")["api_key"])
    for method, path in [
        ("GET", f"/personas/{persona_id}"),
        ("POST", f"/personas/{persona_id}/sessions"),
        ("GET", f"/sessions/{session_id}"),
        ("GET", f"/sessions/{session_id}/recording"),
        ("GET", f"/sessions/{session_id}/transcript"),
    ]:
        assert_error(await platform.call(method, path, key=intruder), 403, "FORBIDDEN")
    assert (await platform.call("GET", "/personas", key=intruder)).json() == {"data": []}


async def test_unknown_ids_are_404(platform: Platform) -> None:
    unknown = str(uuid.uuid4())
    for method, path in [
        ("GET", f"/personas/{unknown}"),
        ("POST", f"/personas/{unknown}/sessions"),
        ("GET", f"/sessions/{unknown}"),
        ("GET", f"/sessions/{unknown}/recording"),
    ]:
        assert_error(await platform.call(method, path), 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"consent_mode": "sometimes"}', "VALIDATION_ERROR"),
        (b'{"candidate_ref": 12345}', "VALIDATION_ERROR"),
        (b'{"consent_mode": "explicit",', "INVALID_JSON"),
        (b'["explicit"]', "VALIDATION_ERROR"),
    ],
)
@pytest.mark.attack(
    "malformed integrator bodies",
    injected="wrong types, unknown fields, bad consent_mode",
    happened="400 with the field named",
)
async def test_invalid_session_body_is_400(platform: Platform, body: bytes, code: str) -> None:
    persona_id = await platform.persona()
    response = await platform.call("POST", f"/personas/{persona_id}/sessions", content=body)
    assert_error(response, 400, code)


async def test_session_body_defaults_to_explicit_consent(platform: Platform) -> None:
    response = await platform.call("POST", f"/personas/{await platform.persona()}/sessions")
    assert response.status_code == 201
    session = await platform.session(response.json()["session_id"])
    assert (session["consent_mode"], session["candidate_ref"]) == ("explicit", None)


async def test_persona_needs_a_role_and_a_language(platform: Platform) -> None:
    response = await platform.call("POST", "/personas", json={"role_name": " ", "language": 7})
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert {e["field"] for e in error["details"]["errors"]} == {"role_name", "language"}


async def test_balance_below_one_minute_is_402(platform: Platform) -> None:
    poor = str(create_client(platform.settings, name="Poor", credits=4)["api_key"])
    persona_id = await platform.persona(key=poor)
    response = await platform.call("POST", f"/personas/{persona_id}/sessions", key=poor)
    assert_error(response, 402, "INSUFFICIENT_CREDITS")


async def test_unknown_route_and_method_answer_in_the_envelope(platform: Platform) -> None:
    assert_error(await platform.call("GET", "/nothing-here"), 404, "NOT_FOUND")
    response = await platform.call("DELETE", "/personas")
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert "POST" in response.headers["Allow"]


# Results


async def test_artifacts_are_not_ready_before_completion(platform: Platform) -> None:
    session_id, _ = await platform.start(await platform.persona())
    await platform.event(session_id, "session.started", {"transport": "webrtc"})
    for artifact in ("recording", "transcript"):
        response = await platform.call("GET", f"/sessions/{session_id}/{artifact}")
        error = assert_error(response, 409, "ARTIFACT_NOT_READY")
        assert error["details"] == {"status": "active"}


@pytest.mark.fault(
    "gateway down behind the control plane",
    injected="artifact proxy to a gateway that is not there",
    happened="502 with the error envelope",
)
async def test_unreachable_gateway_is_502(platform: Platform) -> None:
    session_id, _ = await platform.start(await platform.persona())
    assert (await platform.event(session_id, "session.completed", completed())).status_code == 200
    response = await platform.call(
        "GET", f"/sessions/{session_id}/recording", headers={"Range": "bytes=0-99"}
    )
    assert_error(response, 502, "GATEWAY_UNAVAILABLE")
