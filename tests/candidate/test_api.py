"""The candidate API and WebSocket edge against bad input, over real servers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import websockets

from audio.frames import FRAME_BYTES, SILENCE
from gateway.app import create_app
from zenhire.loopback.candidate import Candidate
from zenhire.loopback.servers import free_port, serve
from zenhire.loopback.stack import Stack, gateway_settings, running_stack

SESSION_PATH = "/api/v1/candidate/session"


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    async with running_stack(tmp_path) as running:
        yield running


async def _post(
    stack: Stack, path: str, *, json: object = None, content: bytes | None = None
) -> httpx.Response:
    return await stack.http.post(stack.gateway_url + path, json=json, content=content)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"token": "not-a-real-token"}, 404, "TOKEN_INVALID"),
        ({"token": ""}, 404, "TOKEN_INVALID"),
        ({"token": 12345}, 404, "TOKEN_INVALID"),
        ({"token": "x" * 5000}, 404, "TOKEN_INVALID"),
        ({}, 404, "TOKEN_INVALID"),
    ],
)
@pytest.mark.attack(
    "bad link tokens",
    injected="empty, unknown, oversized and non-string tokens",
    happened="404 TOKEN_INVALID, nothing created",
)
async def test_bad_tokens_are_refused(stack: Stack, body: object, status: int, code: str) -> None:
    response = await _post(stack, SESSION_PATH, json=body)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        (b"{not json", 400, "INVALID_JSON"),
        (b"[1, 2]", 400, "INVALID_JSON"),
        (b"\xff\xfe", 400, "INVALID_JSON"),
        (b'{"token": "' + b"a" * 20_000 + b'"}', 413, "BODY_TOO_LARGE"),
    ],
)
@pytest.mark.attack(
    "malformed JSON bodies (gateway)",
    injected="not JSON, not an object, oversized",
    happened="400 INVALID_JSON / 413 BODY_TOO_LARGE",
)
async def test_malformed_bodies_get_clear_errors(
    stack: Stack, content: bytes, status: int, code: str
) -> None:
    response = await _post(stack, SESSION_PATH, content=content)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


@pytest.mark.attack("expired link", injected="a token past its TTL", happened="410")
async def test_expired_token_is_refused_with_410(tmp_path: Path) -> None:
    async with running_stack(tmp_path, token_ttl_sec=1) as stack:
        _, token = await stack.create_session()
        await asyncio.sleep(2.1)
        response = await _post(stack, SESSION_PATH, json={"token": token})
        assert response.status_code == 410
        assert response.json()["error"]["code"] == "TOKEN_EXPIRED"


@pytest.mark.attack(
    "unsupported language",
    injected="a persona language no interviewer speaks",
    happened="422 LANGUAGE_UNSUPPORTED at verify",
)
async def test_unsupported_language_fails_at_verify_time(stack: Stack) -> None:
    _, token = await stack.create_session(language="ja")
    response = await _post(stack, SESSION_PATH, json={"token": token})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "LANGUAGE_UNSUPPORTED"
    assert response.json()["error"]["details"] == {"language": "ja"}


@pytest.mark.fault(
    "control plane down at verify",
    injected="no control plane behind the gateway",
    happened="the candidate gets 503 CONTROL_PLANE_UNAVAILABLE",
)
async def test_dead_control_plane_gives_503(tmp_path: Path) -> None:
    port = free_port()
    settings = gateway_settings(tmp_path, port, f"http://127.0.0.1:{free_port()}", {})
    async with serve(create_app(settings), port=port) as url, httpx.AsyncClient() as http:
        response = await http.post(url + SESSION_PATH, json={"token": "anything"})
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "CONTROL_PLANE_UNAVAILABLE"
        # The control plane is every replica's: readiness says only whether this one is fit.
        assert (await http.get(url + "/readyz")).status_code == 200
        assert (await http.get(url + "/healthz")).status_code == 200


async def test_consent_is_required_before_audio_in_explicit_mode(stack: Stack) -> None:
    _, token = await stack.create_session(consent_mode="explicit")
    candidate = Candidate(stack.gateway_url)
    await candidate.open(stack.http, token, consent=False)
    async with await candidate.connect() as socket:
        error = json.loads(await socket.recv())
        assert error == {"type": "error", "code": "CONSENT_REQUIRED", "message": error["message"]}
        with pytest.raises(websockets.ConnectionClosed):
            await socket.recv()
        assert socket.close_code == 4403


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"accepted": False}, 400, "CONSENT_DECLINED"),
        ({"accepted": True, "text_version": "1999-old"}, 409, "CONSENT_VERSION_MISMATCH"),
        ({"accepted": True, "ticket": "forged.ticket"}, 401, "TICKET_INVALID"),
    ],
)
@pytest.mark.attack(
    "bad consent",
    injected="missing ticket, wrong text version, not accepted",
    happened="4xx with a code; no consent recorded",
)
async def test_bad_consent_is_refused(
    stack: Stack, body: dict[str, object], status: int, code: str
) -> None:
    _, token = await stack.create_session(consent_mode="explicit")
    candidate = Candidate(stack.gateway_url)
    await candidate.open(stack.http, token, consent=False)
    version = candidate.session["consent"]["version"]
    payload = {"ticket": candidate.ticket, "text_version": version, **body}
    response = await _post(stack, "/api/v1/candidate/consent", json=payload)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


@pytest.mark.parametrize(
    ("hello", "close_code"),
    [
        ("not json", 4400),
        (json.dumps({"type": "start"}), 4400),
        (json.dumps({"type": "hello", "ticket": "forged.ticket"}), 4401),
        (json.dumps({"type": "hello", "ticket": None}), 4401),
    ],
)
@pytest.mark.attack(
    "bad WebSocket hello",
    injected="no hello, wrong type, forged or missing ticket",
    happened="an error event and a close code",
)
async def test_bad_hello_is_refused(stack: Stack, hello: str, close_code: int) -> None:
    ws_url = stack.gateway_url.replace("http://", "ws://") + "/api/v1/candidate/ws"
    async with websockets.connect(ws_url) as socket:
        await socket.send(hello)
        assert json.loads(await socket.recv())["type"] == "error"
        with pytest.raises(websockets.ConnectionClosed):
            await socket.recv()
        assert socket.close_code == close_code


@pytest.mark.attack(
    "foreign Origin",
    injected="a WebSocket from another site",
    happened="refused before any ticket check",
)
async def test_foreign_origin_is_refused(stack: Stack) -> None:
    ws_url = stack.gateway_url.replace("http://", "ws://") + "/api/v1/candidate/ws"
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(ws_url, origin=websockets.Origin("https://evil.example"))
    assert refused.value.response.status_code == 403


@pytest.mark.attack(
    "oversized frame",
    injected="a frame past the size limit",
    happened="close 1009, the session waits for a reconnect",
)
async def test_oversized_frame_closes_the_socket_but_keeps_the_session(stack: Stack) -> None:
    session_id, candidate = await stack.open_candidate(Candidate)
    async with await candidate.connect() as socket:
        assert json.loads(await socket.recv())["type"] == "live"
        await socket.send(SILENCE)
        await socket.send(bytes(FRAME_BYTES * 4))
        with pytest.raises(websockets.ConnectionClosed):
            while True:
                await socket.recv()
        assert socket.close_code == 1009
    async with await candidate.connect() as socket:
        live = json.loads(await socket.recv())
        assert live["type"] == "live" and live["resumed"] is True
        await socket.send(json.dumps({"type": "end"}))
    await stack.wait_for_status(session_id, "completed")


async def test_page_is_served_with_a_strict_content_security_policy(stack: Stack) -> None:
    response = await stack.http.get(stack.gateway_url + "/")
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"
    assert "strict-transport-security" not in response.headers  # plain http on loopback


async def test_an_https_gateway_sends_hsts(tmp_path: Path) -> None:
    port = free_port()
    settings = gateway_settings(
        tmp_path,
        port,
        f"http://127.0.0.1:{free_port()}",
        {"ZENHIRE_GATEWAY_PUBLIC_URL": "https://interview.example"},
    )
    async with serve(create_app(settings), port=port) as url, httpx.AsyncClient() as http:
        response = await http.get(url + "/healthz")
    assert response.headers["strict-transport-security"].startswith("max-age=31536000")


@pytest.mark.attack(
    "unsigned S2S artifact fetch", injected="recording fetch without a signature", happened="401"
)
async def test_s2s_artifacts_need_a_signature(stack: Stack) -> None:
    response = await stack.http.get(stack.gateway_url + "/s2s/v1/sessions/abc/recording")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "S2S_UNAUTHORIZED"


@pytest.mark.attack(
    "frame flood",
    injected="audio frames far above 50 per second",
    happened="dropped, then close 1008; other interviews unaffected",
)
async def test_frame_flood_is_cut_off_with_policy_close(stack: Stack) -> None:
    """Far more than 50 frames a second: the excess is dropped, then the socket closed."""
    _, candidate = await stack.open_candidate(Candidate)
    async with await candidate.connect() as socket:
        assert json.loads(await socket.recv())["type"] == "live"
        with pytest.raises(websockets.ConnectionClosed):
            for _ in range(2000):
                await socket.send(SILENCE)
            while True:
                await socket.recv()
        assert socket.close_code == 1008


@pytest.mark.attack(
    "wrong-size audio frame",
    injected="frames that are not 960 bytes",
    happened="an error event, the frame dropped",
)
async def test_wrong_size_frame_gets_an_error_event(stack: Stack) -> None:
    _, candidate = await stack.open_candidate(Candidate)
    async with await candidate.connect() as socket:
        assert json.loads(await socket.recv())["type"] == "live"
        await socket.send(bytes(FRAME_BYTES // 2))
        async with asyncio.timeout(5):
            while True:
                message = await socket.recv()
                if isinstance(message, str) and json.loads(message)["type"] == "error":
                    assert json.loads(message)["code"] == "FRAME_INVALID"
                    break
