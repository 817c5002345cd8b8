"""The ends of an interview, timed: its start, its finalization, and its memory over time.

- `start_latency`: the start click (the page opens its WebSocket, or
  starts its WebRTC offer) → the first interviewer audio the candidate
  receives, with the embedded (local) interviewer, one interview at a
  time on an otherwise idle gateway pinned to its core.
- `finalize`: a 15-minute interview ends → the control plane has the
  ``session.completed`` event (recording and transcript stored, local
  artifact store). The gateway runs in this process with a fast clock
  (`gateway.session.clock.Clock` ``rate``), so the 15 minutes of recording are
  written in seconds; what is timed after the end is exactly what a real
  15-minute interview goes through.
- `soak`: live interviews held for a long time; the gateway's memory,
  sampled every `SOAK_SAMPLE_SEC`, should stay flat.
"""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import numpy as np
import websockets
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.rtp import RtpPacket

from audio.frames import SILENCE, split_frames
from gateway.app import create_app
from gateway.interviewer import Conversation, InterviewPlanContext, Outcome
from gateway.session.clock import Clock
from gateway.settings import Settings
from zenhire.bench import material
from zenhire.bench.probe import sample
from zenhire.bench.ramp import MB, Plan, ramp
from zenhire.bench.rtc_load import VOICED_PACKET_BYTES, PacketMicrophone
from zenhire.bench.stack import Rig, rig
from zenhire.bench.stats import CandidateStamps
from zenhire.bench.upstream import BenchUpstream
from zenhire.loopback.servers import serve

log = logging.getLogger("zenhire.bench")

FINALIZE_MINUTES = 15
FINALIZE_CLOCK_RATE = 75.0
FINALIZE_RUNS = 3
STATUS_POLL_SEC = 0.005
SOAK_SAMPLE_SEC = 10.0
FIRST_AUDIO_TIMEOUT_SEC = 30.0


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "max": None}
    p50, p95 = np.percentile(values, [50, 95])
    return {"p50": round(float(p50), 1), "p95": round(float(p95), 1), "max": round(max(values), 1)}


async def idle_upstream(options: Any) -> BenchUpstream:
    """An upstream for a rig whose gateway never calls it (local or listening interviewer)."""
    return BenchUpstream([SILENCE], 1)


# -- start latency ---------------------------------------------------------------------------


async def start_latency(options: Any, repeat: int) -> dict[str, Any]:
    """Start click → first interviewer audio, ms, over ``repeat`` interviews per transport."""
    microphone = material.Microphone.of(await material.speech(material.CANDIDATE_LINES[:1], 5))
    results: dict[str, Any] = {"interviewer": "local", "target_p95_ms": 500}
    with tempfile.TemporaryDirectory(prefix="zenhire-bench-") as scratch:
        work_dir = options.work_dir or Path(scratch)
        async with rig(work_dir, await idle_upstream(options)) as found:
            env = {**options.gateway_env, "ZENHIRE_INTERVIEWER": "local"}
            async with found.gateway("start", options.gateway_core, env):
                for transport in options.transports:
                    timings = []
                    for number in range(repeat):
                        ticket = await found.admit(100_000 + number)
                        if transport == "websocket":
                            timings.append(await _ws_first_audio(found, ticket))
                        else:
                            timings.append(await _rtc_first_audio(found, ticket, microphone))
                    results[transport] = {
                        "samples_ms": [round(t * 1000, 1) for t in timings],
                        **percentiles([t * 1000 for t in timings]),
                    }
                    log.info("start latency %s: %s", transport, results[transport])
    return results


async def _ws_first_audio(found: Rig, ticket: str) -> float:
    url = found.gateway_url.replace("http://", "ws://") + "/api/v1/candidate/ws"
    clicked = time.monotonic()
    async with websockets.connect(url, max_queue=None) as socket:
        await socket.send(json.dumps({"type": "hello", "ticket": ticket}))
        async with asyncio.timeout(FIRST_AUDIO_TIMEOUT_SEC):
            async for message in socket:
                if isinstance(message, bytes):
                    heard = time.monotonic()
                    break
        await socket.send(json.dumps({"type": "end"}))
    return heard - clicked


async def _rtc_first_audio(found: Rig, ticket: str, microphone: material.Microphone) -> float:
    first_voice: asyncio.Future[float] = asyncio.get_running_loop().create_future()

    async def on_rtp(packet: RtpPacket, arrival_time_ms: int) -> None:
        if len(packet.payload) > VOICED_PACKET_BYTES and not first_voice.done():
            first_voice.set_result(time.monotonic())

    clicked = time.monotonic()
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    track = PacketMicrophone(microphone.packets, CandidateStamps(0, 1))
    try:
        channel = pc.createDataChannel("events")
        pc.addTrack(track)
        await pc.setLocalDescription(await pc.createOffer())
        response = await found.http.post(
            found.gateway_url + "/api/v1/candidate/webrtc/offer",
            json={"ticket": ticket, "sdp": pc.localDescription.sdp, "type": "offer"},
        )
        response.raise_for_status()
        await pc.setRemoteDescription(RTCSessionDescription(**response.json()))
        receiver = pc.getTransceivers()[0].receiver
        receiver._handle_rtp_packet = on_rtp  # type: ignore[method-assign]
        async with asyncio.timeout(FIRST_AUDIO_TIMEOUT_SEC):
            heard = await first_voice
        channel.send('{"type": "end"}')
        await asyncio.sleep(0.2)
    finally:
        track.stop()
        await pc.close()
    return heard - clicked


# -- finalize --------------------------------------------------------------------------------


class _Listening:
    """An interviewer that only listens: the interview ends when the candidate ends it."""

    async def run(self, conversation: Conversation) -> Outcome:
        await asyncio.Future()
        raise AssertionError("unreachable")


class _ListeningFactory:
    def supports_language(self, language: str) -> bool:
        return True

    def create(self, context: InterviewPlanContext) -> _Listening:
        return _Listening()


async def finalize(
    options: Any, minutes: int = FINALIZE_MINUTES, runs: int = FINALIZE_RUNS
) -> dict[str, Any]:
    """End of a ``minutes``-long interview → completion event at the control plane, seconds."""
    timings: list[float] = []
    sizes: list[int] = []
    with tempfile.TemporaryDirectory(prefix="zenhire-bench-") as scratch:
        work_dir = options.work_dir or Path(scratch)
        async with rig(work_dir, await idle_upstream(options)) as found:
            settings = Settings.from_env(found.gateway_env("finalize", options.gateway_env))
            clock = Clock(rate=FINALIZE_CLOCK_RATE)
            app = create_app(settings, interviewers=_ListeningFactory(), clock=clock)
            async with serve(app, found.gateway_port):
                for number in range(runs):
                    seconds, size = await _one_finalize(found, 200_000 + number, minutes)
                    timings.append(seconds)
                    sizes.append(size)
                    log.info("finalize: %.3f s for %.1f MB", seconds, size / MB)
    return {
        "recording_minutes": minutes,
        "recording_mb": round(max(sizes) / MB, 1),
        "samples_sec": [round(t, 3) for t in timings],
        "max_sec": round(max(timings), 3),
        "target_sec": 2.0,
    }


async def _one_finalize(found: Rig, number: int, minutes: int) -> tuple[float, int]:
    session_id, ticket = await found.admit_session(number)
    url = found.gateway_url.replace("http://", "ws://") + "/api/v1/candidate/ws"
    wanted_sec = minutes * 60
    async with websockets.connect(url, max_queue=None) as socket:
        await socket.send(json.dumps({"type": "hello", "ticket": ticket}))
        async for message in socket:
            if isinstance(message, bytes):
                continue
            event = json.loads(message)
            if event["type"] == "timer" and event["elapsed_sec"] >= wanted_sec:
                break
        ended = time.monotonic()
        await socket.send(json.dumps({"type": "end"}))
        async for _ in socket:
            pass
    api, headers = f"{found.control_url}/api/v1/interview", {"X-API-Key": found.api_key}
    while True:
        response = await found.http.get(f"{api}/sessions/{session_id}", headers=headers)
        if response.json()["status"] == "completed":
            done = time.monotonic()
            break
        await asyncio.sleep(STATUS_POLL_SEC)
    recording = await found.http.head(f"{api}/sessions/{session_id}/recording", headers=headers)
    size = int(recording.headers.get("content-length", 0))
    return done - ended, size


# -- soak ------------------------------------------------------------------------------------


async def soak(options: Any, sessions: int, seconds: float) -> dict[str, Any]:
    """``sessions`` interviews per transport held ``seconds``; the gateway's RSS over time."""
    from zenhire.bench.run import gateway_launcher, relay_measure

    frames = int(seconds * 50) + 3000
    microphone = material.Microphone.of(
        await material.speech(material.CANDIDATE_LINES, min(frames / 50, 120.0))
    )
    voice = material.without_long_pauses(
        _frames_of(await material.speech(material.INTERVIEWER_LINES, 40.0))
    )
    upstream = BenchUpstream(voice, frames)
    results: dict[str, Any] = {"sessions": sessions, "seconds": seconds}
    with tempfile.TemporaryDirectory(prefix="zenhire-bench-") as scratch:
        work_dir = options.work_dir or Path(scratch)
        async with rig(work_dir, upstream) as found:
            for transport in options.transports:
                plan = Plan(transport, (sessions,), options.settle_sec, seconds, 1e9)
                env = {**options.gateway_env, "ZENHIRE_WEBRTC_MEDIA": options.webrtc_media}
                async with found.gateway(f"soak-{transport}", options.gateway_core, env) as pid:
                    idle = sample(pid).rss_bytes
                    series: list[tuple[float, float]] = []
                    async with _sampling(pid, series):
                        launch = gateway_launcher(found, transport, microphone)
                        measure = relay_measure(
                            upstream, transport, None if transport == "websocket" else set()
                        )
                        first = 30_000 + 1000 * options.transports.index(transport)
                        steps = await ramp(plan, "gateway", pid, launch, measure, first)
                    results[transport] = _memory(series, idle, sessions, steps[0].as_dict())
    return results


def _frames_of(pcm: bytes) -> list[bytes]:
    return split_frames(pcm)[0]


@asynccontextmanager
async def _sampling(pid: int, series: list[tuple[float, float]]) -> AsyncIterator[None]:
    started = time.monotonic()

    async def run() -> None:
        while True:
            series.append((round(time.monotonic() - started, 1), sample(pid).rss_bytes / MB))
            await asyncio.sleep(SOAK_SAMPLE_SEC)

    task = asyncio.create_task(run())
    try:
        yield
    finally:
        task.cancel()


def _memory(
    series: list[tuple[float, float]], idle: int, sessions: int, step: dict[str, Any]
) -> dict[str, Any]:
    live = [(t, rss) for t, rss in series if t >= 30.0] or series
    times = np.array([t for t, _ in live])
    rss = np.array([r for _, r in live])
    slope = float(np.polyfit(times / 60, rss, 1)[0]) if len(live) > 2 else 0.0
    return {
        "idle_rss_mb": round(idle / MB, 1),
        "rss_mb": [[t, round(r, 1)] for t, r in series],
        "rss_per_session_mb_end": round((series[-1][1] - idle / MB) / sessions, 3),
        "slope_mb_per_minute": round(slope, 3),
        "step": step,
    }
