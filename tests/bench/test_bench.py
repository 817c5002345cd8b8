"""The benchmark's machinery, run small: the shape of what it reports, not timings.

These start a real gateway (a subprocess, unpinned), the reference control
plane, the instrumented fake realtime upstream and a few simulated
candidates per transport, exactly as ``zenhire bench`` does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from zenhire.bench import lifecycle, report, segments
from zenhire.bench.command import LATENCY_LIMIT_MS
from zenhire.bench.markers import CANDIDATE_MAGIC, Fingerprints, mark, read_mark
from zenhire.bench.run import Options, run
from zenhire.bench.stats import CandidateStamps, downlink, gaps, uplink

FRAME = bytes(range(256)) * 3 + bytes(192)


def small(tmp_path: Path, **overrides: Any) -> Options:
    values: dict[str, Any] = {
        "transports": ("websocket", "webrtc"),
        "steps": {"websocket": (2,), "webrtc": (2,)},
        "baseline_sessions": {"websocket": 1, "webrtc": 1},
        "settle_sec": 1.0,
        "plateau_sec": 3.0,
        "latency_limit_ms": LATENCY_LIMIT_MS,
        "gateway_core": None,
        "load_core": None,
        "work_dir": tmp_path,
        **overrides,
    }
    return Options(**values)


async def test_ramp_times_frames_both_ways_on_both_transports(tmp_path: Path) -> None:
    results = await run(small(tmp_path))

    steps = {step["transport"]: step for step in results["steps"]}
    assert set(steps) == {"websocket", "webrtc"}
    for step in steps.values():
        assert step["sessions"] == step["started"] == 2
        assert step["cpu_pct"] > 0
        assert step["rss_mb"] > 0
        relay = step["relay"]
        for direction in ("uplink", "downlink"):
            assert relay[direction]["count"] > 0, (step["transport"], direction)
            assert relay[direction]["p50_ms"] is not None
            assert relay[direction]["p99_ms"] >= relay[direction]["p50_ms"]
    baselines = {b["target"]: b for b in results["baselines"]}
    assert set(baselines) == {"ws echo", "rtc echo"}
    # A few seconds of two echo sessions can cost less than one 10 ms tick of
    # the kernel's CPU accounting, so only the measurement itself is checked here.
    assert all(b["cpu_per_session_pct"] >= 0 for b in baselines.values())

    results["summary"] = report.summarize(results)
    assert results["summary"]["webrtc"]["baseline"] == "rtc echo"
    assert "cpu_ratio_to_baseline" in results["summary"]["websocket"]
    written = report.write(results, tmp_path / "out" / "bench.json", tmp_path / "out")
    assert json.loads(written[0].read_text())["steps"]
    assert "| gateway | websocket | 2 |" in written[1].read_text()


async def test_stock_webrtc_media_is_measured_without_uplink_figures(tmp_path: Path) -> None:
    """aiortc's own decoding is not bit-exact, so its frames cannot be recognised upstream."""
    options = small(tmp_path, transports=("webrtc",), webrtc_media="stock", baselines=False)
    results = await run(options)

    relay = results["steps"][0]["relay"]
    assert relay["uplink"]["count"] == 0
    assert relay["downlink"]["count"] > 0


async def test_start_latency_and_finalize_are_timed(tmp_path: Path) -> None:
    options = small(tmp_path)
    started = await lifecycle.start_latency(options, repeat=1)
    finished = await lifecycle.finalize(options, minutes=1, runs=1)

    for transport in ("websocket", "webrtc"):
        assert started[transport]["p95"] > 0
    assert finished["recording_minutes"] == 1
    assert finished["recording_mb"] > 5
    assert 0 < finished["max_sec"] < 30


async def test_segments_cost_is_measured_against_the_same_run_baseline(tmp_path: Path) -> None:
    found = await segments.segments_cost(small(tmp_path), sessions=1, seconds=2.0, ship_samples=3)

    for variant in segments.VARIANTS:
        assert found[variant]["sessions"] == found[variant]["started"] == 1
        assert found[variant]["cpu_per_session_pct"] >= 0
    assert "added_cpu_per_session_pct" in found
    assert found["shipping"]["segments"] == 3
    assert found["shipping"]["cpu_ms_per_segment"] > 0
    table = "\n".join(segments.table(found))
    assert "| S3, 10 s segments | 1 |" in table


def test_marks_survive_a_lossless_hop_and_carry_sender_and_index() -> None:
    marked = mark(FRAME, CANDIDATE_MAGIC, 7, 123_456)
    found = read_mark(marked)

    assert len(marked) == len(FRAME)
    assert found is not None
    assert (found.sender, found.index) == (7, 123_456)
    assert read_mark(FRAME) is None


def test_fingerprints_leave_out_frames_whose_content_repeats() -> None:
    silence = bytes(960)
    frames = [silence, FRAME, silence, FRAME[::-1]]

    prints = Fingerprints(frames)

    assert prints.index(FRAME) == 1
    assert prints.index(FRAME[::-1]) == 3
    assert prints.index(silence) is None


def stamps(sent: list[float], heard: list[float]) -> CandidateStamps:
    found = CandidateStamps(1, len(sent))
    found.live_at = 0.0
    found.sent[:] = sent
    found.heard[:] = heard
    return found


def test_uplink_latency_and_loss_count_frames_due_in_the_window() -> None:
    candidate = stamps([1.00, 1.02, 1.04, 1.06], [np.nan] * 4)
    received = {1: np.array([1.001, 1.023, np.nan, 1.061])}

    found = uplink([candidate], received, (0.0, 10.0))

    assert found.count == 3
    assert found.lost == 1
    assert found.max_ms == pytest.approx(3.0)


def test_downlink_latency_and_gaps_are_against_the_ideal_schedule() -> None:
    ideal = {1: np.array([1.00, 1.02, 1.04, 2.00, 2.02])}  # a pause between two sentences
    candidate = stamps([np.nan] * 5, [1.001, 1.021, 1.071, 2.001, 2.021])

    found = downlink([candidate], ideal, (0.0, 10.0))

    assert found.count == 5
    assert found.max_ms == pytest.approx(31.0)
    assert gaps([candidate], (0.0, 10.0), ideal) == 1
