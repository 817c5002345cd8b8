"""The readiness check's results: validated strictly, recorded in the transcript,
and the WebSocket probe the page times its round trips with; over real servers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import websockets

from gateway.candidate.readiness import parse_readiness
from gateway.interviewer.local.settings import LocalInterviewerSettings
from gateway.interviewer.realtime import protocol
from zenhire.loopback.candidate import Candidate
from zenhire.loopback.stack import Stack, running_stack

READINESS_PATH = "/api/v1/candidate/readiness"


def _readiness(**changes: Any) -> dict[str, Any]:
    """A complete result as the page sends it, with ``changes`` applied."""
    result: dict[str, Any] = {
        "version": 1,
        "skipped": False,
        "browser": {"audio_worklet": True, "get_user_media": True, "webrtc": True},
        "echo": {"status": "passed", "level_db": 18.5},
        "network": {
            "status": "passed",
            "transport": "webrtc",
            "candidates": {"host": 2, "srflx": 0, "relay": 1},
            "turn_configured": True,
            "rtt_ms": 3.2,
        },
    }
    result.update(changes)
    return result


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    async with running_stack(tmp_path) as running:
        yield running


async def _candidate(stack: Stack) -> tuple[str, Candidate]:
    return await stack.open_candidate(Candidate)


async def _post(stack: Stack, body: object) -> tuple[int, dict[str, Any]]:
    response = await stack.http.post(stack.gateway_url + READINESS_PATH, json=body)
    return response.status_code, response.json()


@pytest.mark.parametrize(
    ("readiness", "field"),
    [
        ("not an object", "readiness"),
        (_readiness(version=2), "readiness.version"),
        (_readiness(echo={"status": "passed", "level_db": "loud"}), "readiness.echo.level_db"),
        (_readiness(echo={"status": "maybe"}), "readiness.echo.status"),
        (_readiness(echo={"status": "passed", "level_db": 1e9}), "readiness.echo.level_db"),
        (_readiness(network={"status": "passed", "transport": "carrier-pigeon"}), None),
        (_readiness(browser={"audio_worklet": 1, "get_user_media": True, "webrtc": True}), None),
        (_readiness(microphone_audio="base64…"), "readiness.microphone_audio"),
        ({k: v for k, v in _readiness().items() if k != "network"}, "readiness.network"),
    ],
)
@pytest.mark.attack(
    "bad readiness results",
    injected="wrong types, unknown fields, out-of-range levels",
    happened="400 READINESS_INVALID naming the field, nothing kept",
)
async def test_bad_readiness_is_refused_naming_the_field(
    stack: Stack, readiness: object, field: str | None
) -> None:
    _, candidate = await _candidate(stack)
    status, body = await _post(stack, {"ticket": candidate.ticket, "readiness": readiness})
    assert status == 400
    assert body["error"]["code"] == "READINESS_INVALID"
    if field is not None:
        assert body["error"]["details"]["field"] == field
    assert body["error"]["message"].startswith(body["error"]["details"]["field"])


async def test_readiness_needs_a_valid_ticket(stack: Stack) -> None:
    status, body = await _post(stack, {"ticket": "forged", "readiness": _readiness()})
    assert (status, body["error"]["code"]) == (401, "TICKET_INVALID")


async def test_readiness_reaches_the_transcript_after_a_refused_one(stack: Stack) -> None:
    """A refused body keeps nothing; the next valid one is what the interview starts with."""
    session_id, candidate = await _candidate(stack)
    status, _ = await _post(stack, {"ticket": candidate.ticket, "readiness": {"version": 1}})
    assert status == 400
    status, body = await _post(stack, {"ticket": candidate.ticket, "readiness": _readiness()})
    assert status == 200
    assert body["echo_path"] == "strong"
    await candidate.interview([], end_after_sec=1.0)
    await stack.wait_for_status(session_id, "completed")
    response = await stack.http.get(
        f"{stack.api}/sessions/{session_id}/transcript", headers=stack.headers
    )
    readiness = response.json()["readiness"]
    assert readiness["echo"] == {"status": "passed", "level_db": 18.5}
    assert readiness["echo_path"] == "strong"
    assert readiness["network"]["candidates"]["relay"] == 1


async def test_readiness_after_the_start_is_refused(stack: Stack) -> None:
    _, candidate = await _candidate(stack)
    async with await candidate.connect() as socket:
        while json.loads(await socket.recv())["type"] != "live":
            pass
        status, body = await _post(stack, {"ticket": candidate.ticket, "readiness": _readiness()})
    assert (status, body["error"]["code"]) == (409, "SESSION_LIVE")


async def test_websocket_probes_are_echoed_before_the_hello(stack: Stack) -> None:
    _, candidate = await _candidate(stack)
    async with websockets.connect(candidate.ws_url) as socket:
        for seq in range(3):
            await socket.send(json.dumps({"type": "probe", "seq": seq}))
            assert json.loads(await socket.recv()) == {"type": "probe", "seq": seq}
        await socket.send(json.dumps({"type": "hello", "ticket": candidate.ticket}))
        kinds = [json.loads(await socket.recv())["type"]]
        assert kinds == ["live"]


@pytest.mark.attack(
    "malformed probe", injected="a probe that is not the protocol's", happened="close 4400"
)
async def test_a_malformed_probe_is_a_bad_hello(stack: Stack) -> None:
    _, candidate = await _candidate(stack)
    async with websockets.connect(candidate.ws_url) as socket:
        await socket.send(json.dumps({"type": "probe", "seq": "one"}))
        await asyncio.wait_for(socket.wait_closed(), 5)
    assert socket.close_code == 4400


@pytest.mark.parametrize(
    ("level_db", "echo_path", "noise_reduction", "warmup_ms"),
    [(18.5, "strong", "far_field", 900), (2.0, "low", "near_field", 300)],
)
def test_the_echo_measured_configures_both_interviewers(
    level_db: float, echo_path: str, noise_reduction: str, warmup_ms: int
) -> None:
    """Strong echo: far-field filtering upstream, the longer echo guard locally."""
    readiness = parse_readiness(_readiness(echo={"status": "passed", "level_db": level_db}))
    assert readiness.echo_path == echo_path
    update = protocol.session_update(
        instructions="",
        voice="marin",
        language="en",
        transcription_model="m",
        end_tool_description="",
        noise_reduction=protocol.NOISE_REDUCTION.get(readiness.echo_path or "", "off"),
    )
    assert update["session"]["audio"]["input"]["noise_reduction"] == {"type": noise_reduction}
    settings = LocalInterviewerSettings().for_echo(readiness.echo_path)
    assert settings.echo_warmup_ms == warmup_ms


def test_a_skipped_echo_test_leaves_the_interviewers_as_they_were() -> None:
    readiness = parse_readiness(_readiness(echo={"status": "skipped"}))
    assert readiness.echo_path == "unknown"
    assert protocol.NOISE_REDUCTION.get(readiness.echo_path) is None
    assert LocalInterviewerSettings().for_echo("unknown") == LocalInterviewerSettings()
