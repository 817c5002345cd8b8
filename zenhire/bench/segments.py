"""What shipping the recording to S3 in segments costs a live interview.

`segments_cost` holds ``sessions`` WebSocket interviews (realtime interviewer
on the bench upstream) on the pinned gateway twice in one run: first with
the embedded default (local artifact directory, no segments: the
baseline), then with artifacts on S3 (moto's server in its own process, on
the load core) and the recording shipped in 10 s segments. Each plateau
spans several segment rounds; the figure is the gateway's CPU per live
interview, obstore's own threads included.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from audio.frames import SAMPLE_RATE, split_frames
from audio.wav import BLOCK_ALIGN, HEADER_BYTES
from gateway.s2s.s3 import S3ArtifactStore
from gateway.session.segments import SegmentName
from gateway.session.shipper import PendingSegment, SegmentShipper
from gateway.settings import Settings
from zenhire.bench import material
from zenhire.bench.ramp import Plan, ramp
from zenhire.bench.stack import rig
from zenhire.bench.upstream import BenchUpstream
from zenhire.loopback.s3 import s3_environment, s3_server
from zenhire.tasks import TaskGroup

SEGMENT_SEC = 10
# Variants in the order they run; the first is the baseline.
VARIANTS = ("off", "s3")
SHIP_SAMPLES = 60
SHIP_TIMEOUT_SEC = 120.0


def table(section: dict[str, Any]) -> list[str]:
    """The readable table of a `segments_cost` result."""
    lines = [
        "| recording | sessions | gateway CPU % | CPU % per interview | RSS MB per interview |",
        "|---|---|---|---|---|",
    ]
    for variant in VARIANTS:
        step = section[variant]
        lines.append(
            f"| {section['labels'][variant]} | {step['sessions']} | {step['cpu_pct']} "
            f"| {step['cpu_per_session_pct']} | {step['rss_per_session_mb']} |"
        )
    lines.append(
        f"\nS3 segments add {section['added_cpu_per_session_pct']} % of a core per interview "
        f"({section['ratio_to_baseline']}x the baseline)."
    )
    shipping = section.get("shipping")
    if shipping:
        lines.append(
            f"Shipping alone: {shipping['cpu_ms_per_segment']} ms of CPU per "
            f"{SEGMENT_SEC} s segment, {shipping['cpu_per_interview_pct']} % of a core per "
            f"interview ({shipping['segments']} segments)."
        )
    return lines


async def segments_cost(
    options: Any, sessions: int, seconds: float, ship_samples: int = SHIP_SAMPLES
) -> dict[str, Any]:
    from zenhire.bench.run import gateway_launcher, relay_measure

    frames = int((seconds + options.settle_sec) * 50) * 2 + 3000
    microphone = material.Microphone.of(
        await material.speech(material.CANDIDATE_LINES, min(frames / 50, 120.0))
    )
    voice = material.without_long_pauses(
        split_frames(await material.speech(material.INTERVIEWER_LINES, 40.0))[0]
    )
    upstream = BenchUpstream(voice, frames)
    results: dict[str, Any] = {
        "sessions": sessions,
        "plateau_sec": seconds,
        "segment_sec": SEGMENT_SEC,
        "labels": {"off": "local directory, no segments", "s3": f"S3, {SEGMENT_SEC} s segments"},
    }
    with tempfile.TemporaryDirectory(prefix="zenhire-bench-") as scratch, s3_server() as s3_url:
        work_dir = options.work_dir or Path(scratch)
        environments = {
            "off": {},
            "s3": {
                **s3_environment(s3_url),
                "ZENHIRE_RECORDING_SEGMENT_SEC": str(SEGMENT_SEC),
            },
        }
        async with rig(work_dir, upstream) as found:
            for number, variant in enumerate(VARIANTS):
                plan = Plan("websocket", (sessions,), options.settle_sec, seconds, 1e9)
                env = {**options.gateway_env, **environments[variant]}
                async with found.gateway(f"segments-{variant}", options.gateway_core, env) as pid:
                    launch = gateway_launcher(found, "websocket", microphone)
                    measure = relay_measure(upstream, "websocket", None)
                    steps = await ramp(
                        plan, "gateway", pid, launch, measure, 40_000 + 1000 * number
                    )
                results[variant] = steps[0].as_dict()
        results["shipping"] = await shipping_cost(s3_url, work_dir, ship_samples)
    off, on = results["off"]["cpu_per_session_pct"], results["s3"]["cpu_per_session_pct"]
    results["added_cpu_per_session_pct"] = round(on - off, 3)
    results["ratio_to_baseline"] = round(on / off, 2) if off else None
    return results


async def shipping_cost(s3_url: str, work_dir: Path, count: int = SHIP_SAMPLES) -> dict[str, Any]:
    """CPU time of this process to ship ``count`` 10 s segments to ``s3_url``."""
    settings = Settings.from_env(s3_environment(s3_url, ZENHIRE_S3_PREFIX="ship-cost"))
    assert settings.s3 is not None
    store = S3ArtifactStore(settings.s3)
    segment_bytes = SEGMENT_SEC * SAMPLE_RATE * BLOCK_ALIGN
    source = work_dir / "ship-cost.wav"
    source.write_bytes(bytes(HEADER_BYTES) + bytes(range(256)) * (segment_bytes // 256))
    shipper = SegmentShipper(store)
    async with TaskGroup() as group:
        shipping = group.create_task(shipper.run())
        cpu, wall = time.process_time(), time.monotonic()
        for seq in range(count):
            name = SegmentName(1, seq, seq * SEGMENT_SEC * SAMPLE_RATE)
            shipper.ship(PendingSegment("ship-cost", name, source, HEADER_BYTES, segment_bytes))
        assert await shipper.flush("ship-cost", SHIP_TIMEOUT_SEC), "segments not shipped"
        cpu, wall = time.process_time() - cpu, time.monotonic() - wall
        shipping.cancel()
    per_segment = cpu / count
    return {
        "segments": count,
        "segment_mb": round(segment_bytes / 1e6, 2),
        "cpu_ms_per_segment": round(per_segment * 1000, 2),
        "wall_ms_per_segment": round(wall / count * 1000, 2),
        "cpu_per_interview_pct": round(per_segment / SEGMENT_SEC * 100, 3),
    }
