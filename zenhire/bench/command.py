"""``zenhire bench``: arguments, defaults and the run.

    zenhire bench                      the full ramp of both transports and both baselines
    zenhire bench --quick              about a minute: two steps each, short plateaus
    zenhire bench --json out.json      results as JSON (the .md table and .png plot beside it)
    zenhire bench --only start-latency,finalize    the lifecycle sub-benchmarks
    zenhire bench --only soak --soak-sec 600       memory over a long interview
    zenhire bench --only turns                     the local interviewer's turn latency
    zenhire bench --only conversation              its turn-taking over a 44-answer corpus
    zenhire bench --only loop-lag                  event-loop lag, 100 interviews, slow disk
    zenhire bench --only segments                  CPU per interview, S3 segments on vs off
    zenhire bench --only takeover                  takeover after SIGKILL and SIGTERM, slots
    zenhire bench --only chaos --chaos-sec 1800    50 interviews under random faults, memory

The gateway runs on core 0 (``taskset``), everything else on core 1; take
numbers when the machine is otherwise quiet (the load average is recorded).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import Any

FULL_STEPS = {
    "websocket": (25, 50, 100, 150, 200, 250, 300),
    "webrtc": (5, 10, 20, 30, 40, 50, 60, 80),
}
QUICK_STEPS = {"websocket": (10, 50), "webrtc": (5, 20)}
FULL_BASELINE = {"websocket": 50, "webrtc": 20}
QUICK_BASELINE = {"websocket": 20, "webrtc": 10}
# p99 of the added relay latency a step may reach and still pass.
LATENCY_LIMIT_MS = {"websocket": 10.0, "webrtc": 10.0}
PARTS = (
    "ramp",
    "start-latency",
    "finalize",
    "soak",
    "turns",
    "conversation",
    "loop-lag",
    "segments",
    "chaos",
    "takeover",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="a one-minute run")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--out", type=Path, default=Path("bench-results"))
    parser.add_argument("--only", default="ramp", help=f"comma-separated parts: {', '.join(PARTS)}")
    parser.add_argument("--transports", default="websocket,webrtc")
    parser.add_argument("--steps-websocket", default=None, help="e.g. 10,50,100")
    parser.add_argument("--steps-webrtc", default=None, help="e.g. 5,20,40")
    parser.add_argument("--plateau-sec", type=float, default=None)
    parser.add_argument("--settle-sec", type=float, default=None)
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument(
        "--webrtc-media",
        choices=("inline", "stock"),
        default="inline",
        help="the gateway's WebRTC audio path (stock: aiortc's threads and codec)",
    )
    parser.add_argument("--no-pin", action="store_true", help="do not pin to cores")
    parser.add_argument(
        "--work-dir", type=Path, default=None, help="keep logs and data here (default: a temp dir)"
    )
    parser.add_argument(
        "--profile", type=Path, default=None, help="py-spy the gateway at each step into DIR"
    )
    parser.add_argument(
        "--gateway-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the gateway (repeatable)",
    )
    parser.add_argument("--soak-sec", type=float, default=600.0)
    parser.add_argument("--soak-sessions", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=20, help="start-latency samples")
    parser.add_argument("--lag-sessions", type=int, default=100, help="loop-lag interviews")
    parser.add_argument("--lag-plateau-sec", type=float, default=None, help="default 30 (10)")
    parser.add_argument(
        "--neighbours", type=int, default=2, help="loop-lag: fsync-heavy processes on the disk"
    )
    parser.add_argument(
        "--lag-write-iops",
        type=int,
        default=None,
        help="loop-lag: the data directory on a loop device held to this many write IOPS (root)",
    )
    parser.add_argument(
        "--conversation-parallel",
        type=int,
        default=3,
        help="conversation: interviews at a time on the gateway's core",
    )
    parser.add_argument("--segments-sessions", type=int, default=20)
    parser.add_argument("--takeover-runs", type=int, default=10, help="takeovers of each kind")
    parser.add_argument("--chaos-sec", type=float, default=1800.0, help="fault soak length")
    parser.add_argument("--chaos-sessions", type=int, default=50, help="fault soak interviews")
    parser.add_argument("--chaos-concurrency", type=int, default=10)
    parser.add_argument("--chaos-every", type=float, default=20.0, help="mean sec between faults")
    parser.add_argument(
        "--chaos-faults",
        default="drop,vanish,controlplane,kill,flush",
        help="fault soak: the kinds of fault, comma-separated (leave out kill for one process)",
    )
    parser.add_argument(
        "--segments-sec", type=float, default=None, help="plateau of each segments variant"
    )


def _fault_kinds(raw: str) -> tuple[str, ...]:
    from zenhire.bench.chaos import FAULTS

    kinds = tuple(kind for kind in raw.split(",") if kind)
    unknown = sorted(set(kinds) - set(FAULTS))
    if unknown or not kinds:
        raise SystemExit(f"zenhire bench: --chaos-faults takes some of {', '.join(FAULTS)}")
    return kinds


def _steps(raw: str | None, default: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(int(v) for v in raw.split(",")) if raw else default


def options_of(args: argparse.Namespace) -> Any:
    from zenhire.bench.run import Options

    steps = QUICK_STEPS if args.quick else FULL_STEPS
    return Options(
        transports=tuple(t for t in args.transports.split(",") if t),
        steps={
            "websocket": _steps(args.steps_websocket, steps["websocket"]),
            "webrtc": _steps(args.steps_webrtc, steps["webrtc"]),
        },
        baseline_sessions=QUICK_BASELINE if args.quick else FULL_BASELINE,
        settle_sec=args.settle_sec or (2.0 if args.quick else 5.0),
        plateau_sec=args.plateau_sec or (5.0 if args.quick else 10.0),
        latency_limit_ms=LATENCY_LIMIT_MS,
        gateway_core=None if args.no_pin else 0,
        load_core=None if args.no_pin else 1,
        webrtc_media=args.webrtc_media,
        baselines=not args.no_baselines,
        work_dir=args.work_dir,
        profile_dir=args.profile,
        gateway_env=dict(pair.split("=", 1) for pair in args.gateway_env),
    )


def run(args: argparse.Namespace) -> int:
    from zenhire.bench import report

    parts = [p for p in args.only.split(",") if p]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        print(f"zenhire bench: unknown part {unknown[0]!r}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s", stream=sys.stderr)
    logging.getLogger("zenhire.bench").setLevel(logging.INFO)
    results = _run_loop(_all(args, parts))
    if "ramp" in parts:
        results["summary"] = report.summarize(results)
    for path in report.write(results, args.json, args.json.parent if args.json else args.out):
        print(f"wrote {path}", file=sys.stderr)
    print(report.markdown(results))
    return 0


async def _all(args: argparse.Namespace, parts: list[str]) -> dict[str, Any]:
    from zenhire.bench import lifecycle
    from zenhire.bench.run import run as ramp_run

    # A SIGTERM ends the run as Ctrl-C does: every part's clean-up runs (processes
    # stopped; the loop-lag part's loop device unmounted and its throttle lifted).
    main = asyncio.current_task()
    assert main is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main.cancel)
    options = options_of(args)
    results: dict[str, Any] = {"steps": [], "baselines": [], "extra": {}}
    if "ramp" in parts:
        results.update(await ramp_run(options))
        results.setdefault("extra", {})
    if "start-latency" in parts:
        results["extra"]["start_latency"] = await lifecycle.start_latency(options, args.repeat)
    if "finalize" in parts:
        results["extra"]["finalize"] = await lifecycle.finalize(options)
    if "turns" in parts:
        from zenhire.bench.turns import turn_latency

        results["extra"]["turns"] = await turn_latency(options)
    if "conversation" in parts:
        from zenhire.bench.conversation import conversation

        results["extra"]["conversation"] = await conversation(
            options, args.quick, args.conversation_parallel
        )
    if "loop-lag" in parts:
        from zenhire.bench.loop_lag import loop_lag

        results["extra"]["loop_lag"] = await loop_lag(
            options,
            args.lag_sessions,
            args.lag_plateau_sec or (10.0 if args.quick else 30.0),
            args.neighbours,
            args.lag_write_iops,
        )
    if "segments" in parts:
        from zenhire.bench.segments import segments_cost

        plateau = args.segments_sec or (30.0 if args.quick else 60.0)
        results["extra"]["segments"] = await segments_cost(options, args.segments_sessions, plateau)
    if "takeover" in parts:
        from zenhire.bench.takeover import takeover

        results["extra"]["takeover"] = await takeover(args.takeover_runs, args.work_dir)
    if "chaos" in parts:
        from zenhire.bench.chaos import chaos

        results["extra"]["chaos"] = await chaos(
            args.chaos_sec,
            args.chaos_sessions,
            args.chaos_concurrency,
            args.chaos_every,
            args.work_dir,
            _fault_kinds(args.chaos_faults),
        )
    if "soak" in parts:
        results["extra"]["soak"] = await lifecycle.soak(
            options, args.soak_sessions, 60.0 if args.quick else args.soak_sec
        )
    return results


def _run_loop(main: Any) -> dict[str, Any]:
    try:
        import uvloop
    except ImportError:
        result: dict[str, Any] = asyncio.run(main)
        return result
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        found: dict[str, Any] = runner.run(main)
        return found
