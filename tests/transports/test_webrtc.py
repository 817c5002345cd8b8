"""The WebRTC transport against real servers, with real aiortc peers."""

from __future__ import annotations

import asyncio
import json
import time
from contextlib import AsyncExitStack
from pathlib import Path

import av
import numpy as np
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection

from audio.frames import FRAME_BYTES, FRAME_SAMPLES, SAMPLE_RATE
from gateway.app import create_app as create_gateway
from gateway.errors import ConfigError
from gateway.settings import IceServer, Settings
from gateway.transports.peers import check_port_range
from gateway.transports.rtcaudio import CandidateAudio, InterviewerTrack
from gateway.transports.webrtc import MAX_SDP_CHARS, PEER_SILENCE_TIMEOUT_SEC
from tests.audio_checks import rms, stereo_channels
from zenhire.loopback.servers import serve
from zenhire.loopback.speech import synthesize
from zenhire.loopback.stack import Stack, running_stack
from zenhire.loopback.webrtc_candidate import WebRTCCandidate

pytestmark = pytest.mark.timeout(120)

ANSWER = "I have built payment systems in Python for six years, and I lead a small team."
TURN = {"urls": ["turn:turn.example.com:3478"], "username": "u", "credential": "p"}


async def _recording(stack: Stack, session_id: str) -> bytes:
    response = await stack.http.get(
        f"{stack.api}/sessions/{session_id}/recording", headers=stack.headers
    )
    assert response.status_code == 200, response.text
    return response.content


async def _offer_without_audio() -> str:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        pc.createDataChannel("events")
        await pc.setLocalDescription(await pc.createOffer())
        sdp: str = pc.localDescription.sdp
        return sdp
    finally:
        await pc.close()


async def test_interview_over_webrtc_completes(tmp_path: Path) -> None:
    """Captions and interviewer audio arrive; the candidate's speech is recorded on the left."""
    async with running_stack(tmp_path) as stack:
        session_id, token = await stack.create_session()
        candidate = WebRTCCandidate(stack.gateway_url)
        assert (await candidate.open(stack.http, token)).status_code == 200
        answer = synthesize(ANSWER)
        await candidate.interview(stack.http, [answer])

        assert candidate.kinds("live")[0]["resumed"] is False
        assert candidate.kinds("ended")[-1]["reason"] == "completed"
        assert any(e["speaker"] == "interviewer" for e in candidate.kinds("caption"))
        assert candidate.kinds("timer")
        assert candidate.voiced_frames_received > 50
        await stack.wait_for_status(session_id, "completed")

        left, right, rate = stereo_channels(await _recording(stack, session_id))
        assert rms(right) > 100
        spoke_at = candidate.answer_starts[0] - candidate.first_at["live"]
        spoken_sec = len(answer) / 2 / SAMPLE_RATE
        during = left[int(spoke_at * rate) : int((spoke_at + spoken_sec) * rate)]
        before = left[: int(max(0.0, spoke_at - 1.0) * rate)]
        assert rms(during) > 300
        assert rms(before) < 30
        transcript = await stack.http.get(
            f"{stack.api}/sessions/{session_id}/transcript", headers=stack.headers
        )
        assert {turn["speaker"] for turn in transcript.json()["turns"]} == {
            "interviewer",
            "candidate",
        }


@pytest.mark.attack(
    "garbage SDP",
    injected="offers that are not SDP, have no audio, or are oversized",
    happened="4xx; the live session goes on",
)
async def test_bad_offers_are_refused_and_the_live_session_goes_on(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack:
        session_id, candidate = await stack.open_candidate(WebRTCCandidate)
        async with candidate.connected(stack.http):
            await candidate.wait_for("live")
            http = stack.http
            refusals = [
                (await candidate.post_offer(http, "v=0\r\nm=audio x\r\n"), 400, "SDP_INVALID"),
                (await candidate.post_offer(http, "v" * (MAX_SDP_CHARS + 1)), 400, "SDP_INVALID"),
                (
                    await candidate.post_offer(http, await _offer_without_audio()),
                    400,
                    "SDP_INVALID",
                ),
                (await candidate.post_offer(http, "v=0", type="answer"), 400, "SDP_INVALID"),
                (await candidate.post_offer(http, "v=0", ticket="forged"), 401, "TICKET_INVALID"),
            ]
            huge = await http.post(
                candidate.gateway_url + "/api/v1/candidate/webrtc/offer",
                content=b"x" * (4 * MAX_SDP_CHARS),
            )
            refusals.append((huge, 413, "BODY_TOO_LARGE"))
            for response, status, code in refusals:
                assert response.status_code == status, response.text
                assert response.json()["error"]["code"] == code
            timers = len(candidate.kinds("timer"))
            await candidate.wait_for("timer", count=timers + 1)
            assert not candidate.kinds("error")
            candidate.send({"type": "end"})
            assert (await candidate.wait_for("ended"))["reason"] == "completed"
        await stack.wait_for_status(session_id, "completed")
        finished = await candidate.post_offer(stack.http, "v=0")
        assert finished.status_code == 409
        assert finished.json()["error"]["code"] == "SESSION_FINISHED"


async def test_offer_needs_consent_and_the_page_gets_ice_servers(tmp_path: Path) -> None:
    env = {"ZENHIRE_ICE_SERVERS": json.dumps([TURN])}
    async with running_stack(tmp_path, gateway_env=env) as stack:
        _, token = await stack.create_session(consent_mode="explicit")
        candidate = WebRTCCandidate(stack.gateway_url)
        await candidate.open(stack.http, token, consent=False)
        assert candidate.session["ice_servers"] == [TURN]
        response = await candidate.post_offer(stack.http, await _offer_without_audio())
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "CONSENT_REQUIRED"


@pytest.mark.fault(
    "WebRTC peer goes silent",
    injected="a peer that stops its pings",
    happened="the peer is dropped, a new offer resumes, the recording keeps the gap",
    lost="the silent stretch",
)
async def test_silent_peer_is_dropped_and_a_new_offer_resumes(tmp_path: Path) -> None:
    """No pings ⇒ the peer is lost; a new offer resumes, and the recording keeps the gap."""
    async with running_stack(tmp_path) as stack:
        session_id, candidate = await stack.open_candidate(WebRTCCandidate)
        async with candidate.connected(stack.http):
            await candidate.wait_for("live")
            started = time.monotonic()
            await asyncio.sleep(1.0)
            candidate.pinging = False
            stopped = time.monotonic()
            await candidate.wait_disconnected()
            lost_after = time.monotonic() - stopped
        assert PEER_SILENCE_TIMEOUT_SEC - 1.5 < lost_after < PEER_SILENCE_TIMEOUT_SEC + 2.0
        assert (await stack.session(session_id))["status"] == "active"

        candidate.pinging = True
        async with candidate.connected(stack.http):
            live = await candidate.wait_for("live", count=2)
            assert live["resumed"] is True
            assert live["elapsed_sec"] >= 5
            await asyncio.sleep(1.0)
            candidate.send({"type": "end"})
            await candidate.wait_for("ended")
            wall_sec = time.monotonic() - started
        await stack.wait_for_status(session_id, "completed")
        left, _, rate = stereo_channels(await _recording(stack, session_id))
        assert len(left) / rate == pytest.approx(wall_sec, abs=0.8)


async def test_second_peer_supersedes_the_first(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack:
        session_id, first = await stack.open_candidate(WebRTCCandidate)
        second = WebRTCCandidate(stack.gateway_url, ticket=first.ticket)
        async with first.connected(stack.http):
            await first.wait_for("live")
            async with second.connected(stack.http):
                assert (await second.wait_for("live"))["resumed"] is True
                assert (await first.wait_for("error"))["code"] == "SUPERSEDED"
                await first.wait_disconnected()
                second.send({"type": "end"})
                await second.wait_for("ended")
        await stack.wait_for_status(session_id, "completed")


async def test_waiting_room_runs_over_the_data_channel(tmp_path: Path) -> None:
    """With one slot taken, a second peer gets `waiting`, then `live` once the slot frees."""
    env = {"ZENHIRE_WAITING_RETRY_SEC": "0.3"}
    async with running_stack(tmp_path, max_concurrent=1, gateway_env=env) as stack:
        first_id, first_token = await stack.create_session()
        second_id, second_token = await stack.create_session()
        first, second = WebRTCCandidate(stack.gateway_url), WebRTCCandidate(stack.gateway_url)
        await first.open(stack.http, first_token)
        await second.open(stack.http, second_token)
        async with first.connected(stack.http), second.connected(stack.http):
            await first.wait_for("live")
            assert (await second.wait_for("waiting"))["position"] == 1
            assert not second.kinds("live")
            first.send({"type": "end"})
            assert (await second.wait_for("live"))["resumed"] is False
            second.send({"type": "end"})
            await second.wait_for("ended")
        await stack.wait_for_status(first_id, "completed")
        await stack.wait_for_status(second_id, "completed")


async def test_gateway_shutdown_tells_the_page_and_closes_the_peer(tmp_path: Path) -> None:
    async with running_stack(tmp_path, start_gateway=False) as stack:
        _, token = await stack.create_session()
        candidate = WebRTCCandidate(stack.gateway_url)
        port = int(stack.gateway_url.rsplit(":", 1)[1])
        async with AsyncExitStack() as held:
            async with serve(create_gateway(stack.gateway_settings), port=port):
                await candidate.open(stack.http, token)
                await held.enter_async_context(candidate.connected(stack.http))
                await candidate.wait_for("live")
            assert (await candidate.wait_for("ended"))["reason"] == "GATEWAY_RESTART"
            await candidate.wait_disconnected()


def test_ice_servers_setting_is_validated() -> None:
    parsed = Settings.from_env({"ZENHIRE_ICE_SERVERS": json.dumps([{"urls": "stun:s:3478"}, TURN])})
    assert parsed.ice_servers == (
        IceServer(("stun:s:3478",)),
        IceServer(("turn:turn.example.com:3478",), "u", "p"),
    )
    for bad in ("{}", "[1]", '[{"urls": "http://x"}]', '[{"urls": "turn:x"}]', "not json"):
        with pytest.raises(ConfigError, match="ZENHIRE_ICE_SERVERS"):
            Settings.from_env({"ZENHIRE_ICE_SERVERS": bad})


def test_port_range_must_cover_the_kernel_range(tmp_path: Path) -> None:
    kernel = tmp_path / "ip_local_port_range"
    kernel.write_text("40000\t40199\n")
    check_port_range(None, kernel)
    check_port_range((40000, 40199), kernel)
    with pytest.raises(ConfigError, match="ZENHIRE_WEBRTC_PORT_MIN"):
        check_port_range((40000, 40099), kernel)
    with pytest.raises(ConfigError, match="ZENHIRE_WEBRTC_PORT_MIN"):
        Settings.from_env({"ZENHIRE_WEBRTC_PORT_MIN": "40000"})


def test_decoded_opus_becomes_whole_internal_frames() -> None:
    """48 kHz stereo in (as aiortc's Opus decoder yields) → 960-byte 24 kHz mono frames."""
    audio = CandidateAudio()
    tone = (8000 * np.sin(np.arange(960 * 50) * 2 * np.pi * 440 / 48_000)).astype(np.int16)
    frames: list[bytes] = []
    for chunk in tone.reshape(50, 960):
        stereo = np.repeat(chunk, 2).reshape(1, -1)
        decoded = av.AudioFrame.from_ndarray(stereo, format="s16", layout="stereo")
        decoded.sample_rate = 48_000
        frames += audio.frames(decoded)
    assert all(len(frame) == FRAME_BYTES for frame in frames)
    assert 48 <= len(frames) <= 50
    samples = np.frombuffer(b"".join(frames[5:]), dtype="<i2").astype(np.float64)
    assert rms(samples) == pytest.approx(8000 / np.sqrt(2), rel=0.05)


def audio_frame(frame: object) -> av.AudioFrame:
    """A frame of the track; an `av.AudioFrame` unless it was told to code Opus inline."""
    assert isinstance(frame, av.AudioFrame)
    return frame


async def test_interviewer_track_paces_frames_and_fills_gaps_with_silence() -> None:
    track = InterviewerTrack()
    voiced = bytes([1, 0]) * FRAME_SAMPLES
    track.offer(voiced)
    started = time.monotonic()
    frames = [audio_frame(await track.recv()) for _ in range(10)]
    elapsed = time.monotonic() - started
    assert elapsed == pytest.approx(9 * 0.02, abs=0.03)
    assert [f.pts for f in frames] == [i * FRAME_SAMPLES for i in range(10)]
    assert frames[0].to_ndarray().tobytes() == voiced
    assert not frames[1].to_ndarray().any()
    assert frames[0].sample_rate == SAMPLE_RATE
    track.stop()
