"""The reference control plane under real uvicorn, driven over HTTP with httpx."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from controlplane import Settings, create_app, create_client
from controlplane.credentials import digest
from zenhire.loopback.servers import free_port, serve
from zenhire.signing import Signer

API = "/api/v1/interview"
VERIFY = f"{API}/s2s/tokens/verify"
EVENTS = f"{API}/s2s/events"
SECRET = "test-s2s-secret"
PUBLIC_URL = "https://interview.example"
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@dataclass
class Platform:
    """A running control plane and an integrator client with 1000 credits."""

    settings: Settings
    http: httpx.AsyncClient
    api_key: str

    async def call(
        self,
        method: str,
        path: str,
        *,
        key: str | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        headers = {"X-API-Key": key or self.api_key, **(headers or {})}
        return await self.http.request(method, API + path, headers=headers, **kwargs)

    async def persona(self, key: str | None = None) -> str:
        body = {"role_name": "Senior Backend Engineer", "language": "en"}
        response = await self.call("POST", "/personas", key=key, json=body)
        assert response.status_code == 201, response.text
        persona_id: str = response.json()["id"]
        return persona_id

    async def start(self, persona_id: str, key: str | None = None) -> tuple[str, str]:
        """Start a session; its id and the raw candidate token."""
        body = {"consent_mode": "explicit", "candidate_ref": "candidate-12345"}
        response = await self.call("POST", f"/personas/{persona_id}/sessions", key=key, json=body)
        assert response.status_code == 201, response.text
        created = response.json()
        token = created["candidate_link"].split("#t=", 1)[1]
        return created["session_id"], token

    async def session(self, session_id: str) -> dict[str, Any]:
        response = await self.call("GET", f"/sessions/{session_id}")
        assert response.status_code == 200, response.text
        session: dict[str, Any] = response.json()
        return session

    async def s2s(
        self, path: str, payload: object, *, secret: str = SECRET, now: float | None = None
    ) -> httpx.Response:
        body = json.dumps(payload).encode()
        headers = Signer(secret.encode()).headers("POST", path, body, now=now)
        return await self.http.post(path, content=body, headers=headers)

    async def event(
        self, session_id: str, type_: str, data: dict[str, Any], event_id: str | None = None
    ) -> httpx.Response:
        event = {
            "event_id": event_id or str(uuid.uuid4()),
            "type": type_,
            "session_id": session_id,
            "occurred_at": "2026-05-29T10:10:05.123Z",
            "data": data,
        }
        return await self.s2s(EVENTS, event)

    def balance(self) -> int:
        with closing(sqlite3.connect(self.settings.database_path)) as db:
            row = db.execute(
                "SELECT credit_balance FROM clients WHERE api_key_hash = ?",
                (digest(self.api_key),),
            ).fetchone()
        balance: int = row[0]
        return balance


def completed(duration_sec: int = 742) -> dict[str, Any]:
    return {
        "recording_key": "sessions/s/recording.wav",
        "transcript_key": "sessions/s/transcript.json",
        "duration_sec": duration_sec,
        "started_at": "2026-05-29T10:10:05.123Z",
        "completed_at": "2026-05-29T10:22:47.456Z",
        "consent": {"accepted_at": "2026-05-29T10:10:00.000Z", "text_version": "v1"},
    }


def make_settings(data_dir: Path, **overrides: str) -> Settings:
    environ = {
        "ZENHIRE_DATA_DIR": str(data_dir),
        "ZENHIRE_S2S_SECRET": SECRET,
        "ZENHIRE_GATEWAY_PUBLIC_URL": PUBLIC_URL,
        # Nothing listens here: the results proxy cannot reach a gateway.
        "ZENHIRE_GATEWAY_S2S_URL": f"http://127.0.0.1:{free_port()}",
        **overrides,
    }
    return Settings.from_env(environ)


# One server for the module keeps the run fast; every test gets its own client
# (tenant), which isolates its personas, sessions and balance from the others.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(tmp_path_factory.mktemp("controlplane"))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(settings: Settings) -> AsyncIterator[str]:
    async with serve(create_app(settings)) as url:
        yield url


@pytest_asyncio.fixture(loop_scope="module")
async def platform(settings: Settings, server: str) -> AsyncIterator[Platform]:
    client = create_client(settings, name="Acme")
    async with httpx.AsyncClient(base_url=server) as http:
        yield Platform(settings, http, str(client["api_key"]))


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    assert TIMESTAMP.match(error["timestamp"])
    assert isinstance(error["message"], str)
    return error


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
    }


async def test_secrets_are_stored_only_as_sha256(platform: Platform) -> None:
    _, token = await platform.start(await platform.persona())
    with closing(sqlite3.connect(platform.settings.database_path)) as db:
        dump = "\n".join(db.iterdump())
    assert platform.api_key.startswith("zh_api_")
    assert platform.api_key not in dump and token not in dump
    assert digest(platform.api_key) in dump and digest(token) in dump


@pytest.mark.parametrize("key", [None, "zh_api_unknown"])
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


async def test_unreachable_gateway_is_502(platform: Platform) -> None:
    session_id, _ = await platform.start(await platform.persona())
    assert (await platform.event(session_id, "session.completed", completed())).status_code == 200
    response = await platform.call(
        "GET", f"/sessions/{session_id}/recording", headers={"Range": "bytes=0-99"}
    )
    assert_error(response, 502, "GATEWAY_UNAVAILABLE")


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
async def test_malformed_event_is_400(platform: Platform, type_: str, data: dict[str, Any]) -> None:
    session_id, _ = await platform.start(await platform.persona())
    assert_error(await platform.event(session_id, type_, data), 400, "BAD_REQUEST")
