"""The results of a run as JSON, a markdown table and a PNG plot, plus the verdict on targets.

`summarize` adds, per transport, the largest N that passed (nothing lost,
no gap, p99 within the limit), the cost at that N, the baselines' cost per
session and our cost as a ratio to each.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TARGETS = {
    "websocket": {"sessions": 100, "rss_per_session_mb": 3.0},
    "webrtc": {"sessions": 40, "rss_per_session_mb": 6.0, "cpu_ratio_to_aiortc_echo": 0.6},
}


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for transport in TARGETS:
        steps = [s for s in results["steps"] if s["transport"] == transport]
        if not steps:
            continue
        passed = [s for s in steps if s["passed"]]
        best = max(passed, key=lambda s: s["sessions"]) if passed else None
        # Cost per session is best read at the highest load the core still carries.
        costed = best or steps[0]
        baseline = next((b for b in results["baselines"] if b["transport"] == transport), None)
        found: dict[str, Any] = {
            "max_sessions_passing": best["sessions"] if best else 0,
            "cpu_per_session_pct": costed["cpu_per_session_pct"],
            "rss_per_session_mb": costed["rss_per_session_mb"],
            "at_sessions": costed["sessions"],
        }
        if baseline is not None:
            found["baseline"] = baseline["target"]
            found["baseline_cpu_per_session_pct"] = baseline["cpu_per_session_pct"]
            found["cpu_ratio_to_baseline"] = round(
                costed["cpu_per_session_pct"] / baseline["cpu_per_session_pct"], 2
            )
        target = TARGETS[transport]
        verdict = {
            "sessions": found["max_sessions_passing"] >= target["sessions"],
            "rss_per_session_mb": found["rss_per_session_mb"] <= target["rss_per_session_mb"],
        }
        if "cpu_ratio_to_aiortc_echo" in target and "cpu_ratio_to_baseline" in found:
            verdict["cpu_ratio_to_aiortc_echo"] = (
                found["cpu_ratio_to_baseline"] <= target["cpu_ratio_to_aiortc_echo"]
            )
        found["targets"] = target
        found["met"] = verdict
        summary[transport] = found
    return summary


def _cell(value: object) -> str:
    return "-" if value is None else str(value)


def _latency(relay: dict[str, Any] | None, direction: str) -> str:
    if relay is None:
        return "-"
    found = relay[direction]
    if not found["count"]:
        return "-"
    return f"{found['p50_ms']} / {found['p99_ms']} / {found['max_ms']}"


def markdown(results: dict[str, Any]) -> str:
    header = (
        "| target | transport | N | CPU % of core | CPU %/session | RSS MB | RSS MB/session "
        "| uplink ms p50/p99/max | downlink ms p50/p99/max | lost | gaps>40ms | load core % "
        "| other % | ok |"
    )
    lines = [header, "|" + "---|" * 14]
    for step in [*results["steps"], *results["baselines"]]:
        relay = step["relay"]
        lines.append(
            "| "
            + " | ".join(
                [
                    step["target"],
                    step["transport"],
                    str(step["sessions"]),
                    _cell(step["cpu_pct"]),
                    _cell(step["cpu_per_session_pct"]),
                    _cell(step["rss_mb"]),
                    _cell(step["rss_per_session_mb"]),
                    _latency(relay, "uplink"),
                    _latency(relay, "downlink"),
                    _cell(relay["lost"] if relay else None),
                    _cell(relay["gaps"] if relay else None),
                    _cell(step["load_cpu_pct"]),
                    _cell(step["other_cpu_pct"]),
                    "yes" if step["passed"] else "no",
                ]
            )
            + " |"
        )
    for transport, found in results.get("summary", {}).items():
        ratio = found.get("cpu_ratio_to_baseline")
        lines.append("")
        lines.append(
            f"**{transport}**: {found['max_sessions_passing']} live interviews per core "
            f"with nothing lost and p99 within the limit; "
            f"{found['cpu_per_session_pct']} % CPU and {found['rss_per_session_mb']} MB "
            f"per session at N={found['at_sessions']}"
            + (
                f"; {ratio}x the {found['baseline']} "
                f"({found['baseline_cpu_per_session_pct']} %/session)"
                if ratio is not None
                else ""
            )
            + "; targets met: "
            + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in found["met"].items())
        )
    for name, section in results.get("extra", {}).items():
        lines.append("")
        if name == "conversation":
            from zenhire.bench.conversation import markdown as conversation_table

            lines.append(conversation_table(section))
            continue
        if name == "loop_lag":
            lines.extend(loop_lag_table(section))
        if name == "takeover":
            from zenhire.bench.takeover import table as takeover_table

            lines.append("**takeover**: the candidate hears the interviewer again after")
            lines.append("")
            lines.extend(takeover_table(section))
            continue
        if name == "chaos":
            from zenhire.bench.chaos import table as chaos_table

            lines.append("**chaos**: interviews under random faults")
            lines.append("")
            lines.extend(chaos_table(section))
            continue
        if name == "segments":
            from zenhire.bench.segments import table

            lines.append("**segments**: CPU per live interview, S3 segments on vs off")
            lines.append("")
            lines.extend(table(section))
            continue
        lines.append(f"**{name}**: {json.dumps(section)}")
    return "\n".join(lines) + "\n"


def loop_lag_table(section: dict[str, Any]) -> list[str]:
    """The loop-lag runs (`zenhire.bench.loop_lag`), one row per disk path."""
    lines = [
        f"event-loop lag, {section['sessions']} live WebSocket interviews, "
        f"{section['neighbours']} fsync-heavy neighbours, {section['plateau_sec']} s plateau, "
        f"data directory on the {section.get('disk', 'data disk')}:",
        "",
        "| disk I/O | data dir | live | lag p99 over time ms | lag max ms | p99 of samples ms (≤) "
        "| /readyz not ready | data dir fsync p50 ms | neighbour fsync ms p50/p99 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run in section["runs"]:
        fsync = ", ".join(f"{n['fsync_ms_p50']}/{n['fsync_ms_p99']}" for n in run["neighbour"])
        lines.append(
            f"| {run['disk_io']} | {run.get('disk', '-')} | {run['live']} "
            f"| {run['lag_p99_over_time_ms']} "
            f"| {run['lag_max_ms']} | {_cell(run['lag_p99_samples_ms_at_most'])} "
            f"| {run['not_ready_polls']}/{run['ready_polls']} "
            f"| {_cell(run.get('disk_fsync_p50_ms'))} | {fsync or '-'} |"
        )
    lines.append("")
    return lines


def plot(results: dict[str, Any], path: Path) -> bool:
    """CPU per session and p99 latency against N; False when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    figure, (cpu_axis, latency_axis) = plt.subplots(1, 2, figsize=(11, 4.2))
    for transport in TARGETS:
        steps = [s for s in results["steps"] if s["transport"] == transport]
        if not steps:
            continue
        sessions = [s["sessions"] for s in steps]
        cpu_axis.plot(sessions, [s["cpu_pct"] for s in steps], marker="o", label=transport)
        p99 = [(s["relay"] or {}).get("p99_ms") for s in steps]
        latency_axis.plot(
            [n for n, v in zip(sessions, p99, strict=True) if v is not None],
            [v for v in p99 if v is not None],
            marker="o",
            label=transport,
        )
    cpu_axis.axhline(100, color="grey", linewidth=0.8, linestyle="--")
    cpu_axis.set(xlabel="live interviews", ylabel="gateway CPU, % of one core", title="CPU")
    latency_axis.axhline(10, color="grey", linewidth=0.8, linestyle="--")
    latency_axis.set(
        xlabel="live interviews", ylabel="added relay latency p99, ms", title="p99 latency"
    )
    latency_axis.set_yscale("log")
    for axis in (cpu_axis, latency_axis):
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def write(results: dict[str, Any], json_path: Path | None, out_dir: Path) -> list[Path]:
    """Write the JSON (at ``json_path``), the table and the plot beside it; return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    target = json_path or out_dir / "bench.json"
    target.write_text(json.dumps(results, indent=1))
    written.append(target)
    table = target.with_suffix(".md")
    table.write_text(markdown(results))
    written.append(table)
    png = target.with_suffix(".png")
    if results["steps"] and plot(results, png):
        written.append(png)
    return written
