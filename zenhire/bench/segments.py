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
from pathlib import Path
from typing import Any

from audio.frames import split_frames
from zenhire.bench import material
from zenhire.bench.ramp import Plan, ramp
from zenhire.bench.stack import rig
from zenhire.bench.upstream import BenchUpstream
from zenhire.loopback.s3 import s3_environment, s3_server

SEGMENT_SEC = 10
# Variants in the order they run; the first is the baseline.
VARIANTS = ("off", "s3")


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
    return lines


async def segments_cost(options: Any, sessions: int, seconds: float) -> dict[str, Any]:
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
    off, on = results["off"]["cpu_per_session_pct"], results["s3"]["cpu_per_session_pct"]
    results["added_cpu_per_session_pct"] = round(on - off, 3)
    results["ratio_to_baseline"] = round(on / off, 2) if off else None
    return results
