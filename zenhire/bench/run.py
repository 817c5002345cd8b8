"""A whole bench run: material, rig, the gateway ramps, the baselines, the summary."""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from audio.frames import FRAME_BYTES
from zenhire.bench import material
from zenhire.bench.markers import Fingerprints
from zenhire.bench.probe import pin_self, python, started
from zenhire.bench.ramp import Launch, Measure, Plan, Step, ramp
from zenhire.bench.rtc_load import WebRTCCandidate
from zenhire.bench.stack import Rig, rig
from zenhire.bench.stats import CandidateStamps, Latency, Relay, downlink, gaps, uplink
from zenhire.bench.upstream import BenchUpstream
from zenhire.bench.ws_load import WebSocketCandidate
from zenhire.loopback.servers import free_port
from zenhire.tasks import TaskGroup

log = logging.getLogger("zenhire.bench")

TRANSPORTS = ("websocket", "webrtc")
INTERVIEWER_SPEECH_SEC = 40.0
# ±1 LSB of seeded noise makes every microphone frame unique (inaudible, -90 dBFS),
# so frames can be recognised by content after Opus.
DITHER_SEED = 20_261


@dataclass(frozen=True)
class Options:
    transports: tuple[str, ...] = TRANSPORTS
    steps: dict[str, tuple[int, ...]] = field(default_factory=dict)
    baseline_sessions: dict[str, int] = field(default_factory=dict)
    settle_sec: float = 3.0
    plateau_sec: float = 10.0
    latency_limit_ms: dict[str, float] = field(default_factory=dict)
    gateway_core: int | None = 0
    load_core: int | None = 1
    webrtc_media: str = "inline"
    gateway_env: dict[str, str] = field(default_factory=dict)
    work_dir: Path | None = None
    baselines: bool = True
    profile_dir: Path | None = None


async def run(options: Options) -> dict[str, Any]:
    if options.load_core is not None:
        pin_self(options.load_core)
    started_at = time.time()
    longest = max(
        Plan(t, options.steps[t], options.settle_sec, options.plateau_sec, 0).max_frames
        for t in options.transports
    )
    log.info("synthesizing speech (%d s of microphone)", longest // 50)
    microphone = material.Microphone.of(
        _dither(await material.speech(material.CANDIDATE_LINES, longest / 50))
    )
    voice = material.without_long_pauses(
        _frames(await material.speech(material.INTERVIEWER_LINES, INTERVIEWER_SPEECH_SEC))[0]
    )
    upstream = BenchUpstream(voice, longest)
    results: dict[str, Any] = {"steps": [], "baselines": []}
    with tempfile.TemporaryDirectory(prefix="zenhire-bench-") as scratch:
        work_dir = options.work_dir or Path(scratch)
        async with rig(work_dir, upstream) as found:
            for transport in options.transports:
                steps = await _gateway_ramp(found, options, transport, microphone)
                results["steps"].extend(step.as_dict() for step in steps)
            if options.baselines:
                for transport in options.transports:
                    steps = await _baseline(found, options, transport, microphone)
                    results["baselines"].extend(step.as_dict() for step in steps)
    results["meta"] = {
        "started_at": started_at,
        "duration_sec": round(time.time() - started_at, 1),
        "gateway_core": options.gateway_core,
        "load_core": options.load_core,
        "plateau_sec": options.plateau_sec,
        "webrtc_media": options.webrtc_media,
        "latency_limit_ms": options.latency_limit_ms,
        "load_average": _load_average(),
    }
    return results


async def _gateway_ramp(
    found: Rig, options: Options, transport: str, microphone: material.Microphone
) -> list[Step]:
    plan = Plan(
        transport,
        options.steps[transport],
        options.settle_sec,
        options.plateau_sec,
        options.latency_limit_ms[transport],
    )
    upstream = found.upstream
    countable: set[int] | None = None
    upstream.fingerprints = None
    if transport == "webrtc" and options.webrtc_media == "inline":
        packets = _looped(microphone.packets, plan.max_frames)
        upstream.fingerprints = Fingerprints(material.decoded_inline(packets))
        countable = upstream.fingerprints.indices()
    elif transport == "webrtc":
        # aiortc's stock decoding is not bit-exact from run to run (its s16
        # conversion dithers), so frames cannot be recognised: no uplink figures.
        countable = set()
    env = {**options.gateway_env, "ZENHIRE_WEBRTC_MEDIA": options.webrtc_media}
    first_number = 1 + max([0, *upstream.uplink.keys(), *upstream.ideal.keys()])
    measure = relay_measure(upstream, transport, countable)
    async with found.gateway(transport, options.gateway_core, env) as pid:
        launch = gateway_launcher(found, transport, microphone)
        return await ramp(plan, "gateway", pid, launch, measure, first_number, options.profile_dir)


def relay_measure(upstream: BenchUpstream, transport: str, countable: set[int] | None) -> Measure:
    """The relay figures of a window, from the candidates' and the upstream's stamps."""

    def measure(stamps: list[CandidateStamps], window: tuple[float, float]) -> Relay:
        return Relay(
            uplink(stamps, upstream.uplink, window, countable),
            downlink(stamps, upstream.ideal, window),
            gaps(stamps, window, upstream.ideal),
        )

    return measure


def gateway_launcher(found: Rig, transport: str, microphone: material.Microphone) -> Launch:
    ws_url = found.gateway_url.replace("http://", "ws://") + "/api/v1/candidate/ws"
    offer_url = found.gateway_url + "/api/v1/candidate/webrtc/offer"

    def launch(
        number: int, stamps: CandidateStamps, stop: asyncio.Event
    ) -> tuple[Awaitable[None], asyncio.Event]:
        live = asyncio.Event()

        async def go() -> None:
            ticket = await found.admit(number)
            if transport == "websocket":
                ws = WebSocketCandidate(ws_url, ticket, stamps, microphone.frames)
                await _live_relay(ws.run(stop), ws.wait_live(), live)
            else:
                rtc = WebRTCCandidate(offer_url, ticket, stamps, microphone.packets)
                await _live_relay(rtc.run(found.http, stop), rtc.wait_live(), live)

        return go(), live

    return launch


async def _live_relay(
    running: Awaitable[None], live_now: Awaitable[None], live: asyncio.Event
) -> None:
    async with TaskGroup() as group:
        group.create_task(_set_when(live_now, live))
        await running


async def _set_when(awaitable: Awaitable[None], event: asyncio.Event) -> None:
    await awaitable
    event.set()


async def _baseline(
    found: Rig, options: Options, transport: str, microphone: material.Microphone
) -> list[Step]:
    sessions = options.baseline_sessions[transport]
    plan = Plan(transport, (sessions,), options.settle_sec, options.plateau_sec, 1e9)
    port = free_port()
    kind = "ws" if transport == "websocket" else "rtc"
    command = [python(), "-m", "zenhire.bench.echo", kind, "--port", str(port)]

    def launch(
        number: int, stamps: CandidateStamps, stop: asyncio.Event
    ) -> tuple[Awaitable[None], asyncio.Event]:
        live = asyncio.Event()

        async def go() -> None:
            if transport == "websocket":
                ws = WebSocketCandidate(
                    f"ws://127.0.0.1:{port}/echo", None, stamps, microphone.frames
                )
                await _live_relay(ws.run(stop), ws.wait_live(), live)
            else:
                rtc = WebRTCCandidate(
                    f"http://127.0.0.1:{port}/offer", None, stamps, microphone.packets
                )
                await _live_relay(rtc.run(found.http, stop), rtc.wait_live(), live)

        return go(), live

    def measure(stamps: list[CandidateStamps], window: tuple[float, float]) -> Relay | None:
        if transport != "websocket":
            return None
        start, end = window
        rounds = []
        lost = 0
        for mine in stamps:
            due = (mine.sent >= max(start, mine.live_at)) & (mine.sent <= end - 0.5)
            trips = mine.heard[due] - mine.sent[due]
            lost += int(np.isnan(trips).sum())
            rounds.append(trips[~np.isnan(trips)])
        trip = Latency.of(np.concatenate(rounds), lost)
        return Relay(trip, Latency(0, 0, None, None, None), gaps(stamps, window))

    async with started(
        command,
        core=options.gateway_core,
        env={},
        log_path=found.work_dir / f"echo-{kind}.log",
        ready_url=f"http://127.0.0.1:{port}/healthz",
    ) as pid:
        return await ramp(plan, f"{kind} echo", pid, launch, measure, first_number=50_000)


def _looped(items: list[bytes], count: int) -> list[bytes]:
    return [items[i % len(items)] for i in range(count)]


def _frames(pcm: bytes) -> tuple[list[bytes], bytes]:
    whole = len(pcm) - len(pcm) % FRAME_BYTES
    return [pcm[i : i + FRAME_BYTES] for i in range(0, whole, FRAME_BYTES)], pcm[whole:]


def _dither(pcm: bytes) -> bytes:
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.int32)
    noise = np.random.default_rng(DITHER_SEED).integers(-1, 2, size=len(samples))
    dithered: bytes = np.clip(samples + noise, -32768, 32767).astype("<i2").tobytes()
    return dithered


def _load_average() -> list[float]:
    try:
        return [float(v) for v in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []
