"""Request bodies are bounded and timed on both services before any endpoint reads them.

Hostile clients on raw sockets against the real gateway and control plane:
a Content-Length far past the bound (answered before the body is sent), a
chunked body that grows past it, a body that trickles in, a malformed
Content-Length, S2S requests without signature headers (answered before the
body is read), and JSON nested past the parser's depth.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.hostile import Answer, exchange, head
from zenhire.loopback.stack import Stack, running_stack
from zenhire.signing import Direction, Signer

BODY_TIMEOUT_SEC = 1.0
TIMEOUT_ENV = {"ZENHIRE_BODY_TIMEOUT_SEC": str(BODY_TIMEOUT_SEC)}
SESSION_PATH = "/api/v1/candidate/session"
OFFER_PATH = "/api/v1/candidate/webrtc/offer"
PERSONAS_PATH = "/api/v1/interview/personas"
VERIFY_PATH = "/api/v1/interview/s2s/tokens/verify"
EVENTS_PATH = "/api/v1/interview/s2s/events"


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    async with running_stack(tmp_path, gateway_env=TIMEOUT_ENV, controlplane_env=TIMEOUT_ENV) as s:
        yield s


def _host(url: str) -> str:
    return urlsplit(url).netloc


async def _post(
    url: str, path: str, headers: list[tuple[str, str]], parts: list[bytes], pause: float = 0.0
) -> Answer:
    request = head("POST", path, _host(url), [("Content-Type", "application/json"), *headers])
    return await exchange(url, request, parts, pause_sec=pause)


def _targets(
    stack: Stack, key_headers: list[tuple[str, str]]
) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(base URL, path, extra headers) of one body-taking endpoint per service."""
    return [(stack.gateway_url, SESSION_PATH, []), (stack.control_url, PERSONAS_PATH, key_headers)]


def _key(stack: Stack) -> list[tuple[str, str]]:
    return [("X-API-Key", stack.api_key)]


@pytest.mark.attack(
    "huge Content-Length",
    injected="Content-Length of 10 GB with no body, both services",
    happened="413 at once, connection closed",
)
async def test_a_content_length_past_the_bound_is_413_before_the_body_is_sent(
    stack: Stack,
) -> None:
    for url, path, extra, code in (
        (stack.gateway_url, SESSION_PATH, [], "BODY_TOO_LARGE"),
        (stack.gateway_url, OFFER_PATH, [], "BODY_TOO_LARGE"),
        (stack.control_url, PERSONAS_PATH, _key(stack), "PAYLOAD_TOO_LARGE"),
        (stack.control_url, "/api/v1/interview/webhooks", _key(stack), "PAYLOAD_TOO_LARGE"),
    ):
        answer = await _post(url, path, [*extra, ("Content-Length", "10000000000")], [])
        assert answer.status == 413, (path, answer)
        assert answer.error_code() == code
        assert answer.closed, "the rest of the body is never read"


async def test_each_endpoint_has_its_own_bound(stack: Stack) -> None:
    """The offer (an SDP) may be 128 KiB; verifying a link takes 8 KiB at most."""
    body = json.dumps({"ticket": "x", "sdp": "v=0" + " " * 100_000, "type": "offer"}).encode()
    offer = await _post(stack.gateway_url, OFFER_PATH, [("Content-Length", str(len(body)))], [body])
    assert offer.status == 401, "read and judged: the ticket is invalid"
    verify = await _post(
        stack.gateway_url, SESSION_PATH, [("Content-Length", str(len(body)))], [body]
    )
    assert verify.status == 413


@pytest.mark.attack(
    "endless chunked body",
    injected="a chunked body growing past the bound",
    happened="413, connection closed",
)
async def test_a_chunked_body_is_413_once_it_passes_the_bound(stack: Stack) -> None:
    chunk = b"2000\r\n" + b" " * 0x2000 + b"\r\n"
    for url, path, extra in _targets(stack, _key(stack)):
        answer = await _post(url, path, [*extra, ("Transfer-Encoding", "chunked")], [chunk] * 20)
        assert answer.status == 413, (path, answer)
        assert answer.closed


@pytest.mark.attack(
    "slow body",
    injected="a body sent one byte per 0.1 s",
    happened="408 BODY_TIMEOUT at the deadline",
)
async def test_a_body_that_trickles_in_is_408_after_the_deadline(stack: Stack) -> None:
    for url, path, extra in _targets(stack, _key(stack)):
        started = time.monotonic()
        answer = await _post(
            url, path, [*extra, ("Content-Length", "200")], [b" "] * 200, pause=0.1
        )
        assert answer.status == 408, (path, answer)
        assert answer.error_code() == "BODY_TIMEOUT"
        assert BODY_TIMEOUT_SEC <= time.monotonic() - started < BODY_TIMEOUT_SEC + 2
        assert answer.closed


@pytest.mark.attack(
    "malformed Content-Length", injected="abc, -1, 1e3, 0x10, 26 digits", happened="400"
)
async def test_a_malformed_content_length_is_400(stack: Stack) -> None:
    for url, path, extra in _targets(stack, _key(stack)):
        for length in ("abc", "-1", "1e3", "0x10", "99999999999999999999999999"):
            answer = await _post(url, path, [*extra, ("Content-Length", length)], [b"{}"])
            assert 400 <= answer.status < 500, (path, length, answer)


async def test_a_body_past_the_bound_sent_whole_is_413(stack: Stack) -> None:
    body = b'{"token": "' + b"a" * 70_000 + b'"}'
    for url, path, extra in _targets(stack, _key(stack)):
        answer = await _post(url, path, [*extra, ("Content-Length", str(len(body)))], [body])
        assert answer.status == 413, (path, answer)


@pytest.mark.attack(
    "unsigned S2S body",
    injected="S2S verify/events without fresh signature headers",
    happened="401 before any body is read",
)
async def test_s2s_requests_without_fresh_signature_headers_are_401_before_the_body(
    stack: Stack,
) -> None:
    """No body is ever sent: a request answered at once was answered without reading it."""
    signer = Signer.of(stack.gateway_settings.s2s_secrets, Direction.TO_CONTROL_PLANE)
    stale = signer.headers("POST", VERIFY_PATH, b"{}", now=time.time() - 3600)
    fresh = signer.headers("POST", VERIFY_PATH, b"{}")
    for path in (VERIFY_PATH, EVENTS_PATH):
        for headers in (
            [],
            list(stale.items()),
            [(k, v) for k, v in fresh.items() if k != "X-ZH-Nonce"],
            [(k, "v2 garbage" if k == "X-ZH-Signature" else v) for k, v in fresh.items()],
        ):
            answer = await _post(stack.control_url, path, [*headers, ("Content-Length", "50")], [])
            assert answer.status == 401, (path, headers, answer)
            assert answer.error_code() == "S2S_UNAUTHORIZED"
            assert answer.elapsed_sec < BODY_TIMEOUT_SEC


@pytest.mark.attack(
    "deeply nested JSON",
    injected="JSON nested 3,000 deep, both services",
    happened="400 INVALID_JSON (was a 500)",
)
async def test_json_nested_past_the_parsers_depth_is_400_on_both_services(stack: Stack) -> None:
    nested = b"[" * 3000 + b"]" * 3000
    gateway = await stack.http.post(stack.gateway_url + SESSION_PATH, content=nested)
    assert gateway.status_code == 400
    assert gateway.json()["error"]["code"] == "INVALID_JSON"
    deep_object = b'{"role_name": ' + b'{"a": ' * 3000 + b"1" + b"}" * 3001
    control = await stack.http.post(
        stack.control_url + PERSONAS_PATH, content=deep_object, headers=dict(_key(stack))
    )
    assert control.status_code == 400


async def test_ordinary_bodies_still_arrive(stack: Stack) -> None:
    """Under the bound and in time, chunked or not: the endpoints see the whole body."""
    persona = json.dumps({"role_name": "Engineer", "language": "en"}).encode()
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(persona), persona)
    answer = await _post(
        stack.control_url,
        PERSONAS_PATH,
        [*_key(stack), ("Transfer-Encoding", "chunked")],
        [chunked[:10], chunked[10:]],
        pause=0.2,
    )
    assert answer.status == 201, answer
    _, token = await stack.create_session()
    verified = await stack.http.post(stack.gateway_url + SESSION_PATH, json={"token": token})
    assert verified.status_code == 200
