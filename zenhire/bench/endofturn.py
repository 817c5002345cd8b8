"""Smart Turn's cost and the event loop's stall while it runs.

    python -m zenhire.bench.endofturn [--calls 60] [--json out.json]

* ``model_ms``: wall time of one `EndOfTurnModel.probability` call on 8 s of
  speech (24 kHz in), and of its parts: resampling plus log-mel features,
  and the onnxruntime session alone;
* ``loop_stall_ms``: an asyncio loop ticks every 5 ms while the model is
  asked every 300 ms, either inline in the loop or on `ModelJudge`'s worker
  thread; the figure is how late the ticks ran (p50, p99, max). With the
  worker thread the loop only stalls for what the GIL costs, since
  onnxruntime releases it while it runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from audio.endofturn import EndOfTurnModel
from audio.logmel import fit_window, log_mel
from audio.models import SMART_TURN_FILE, installed
from gateway.interviewer.local.judge import ModelJudge
from zenhire.bench.noise import ANSWERS, speak, to_pcm
from zenhire.tasks import TaskGroup

TICK_S = 0.005
ASK_EVERY_S = 0.3


def _percentiles(samples: list[float]) -> dict[str, float]:
    values = np.array(samples)
    return {
        "p50": round(float(np.percentile(values, 50)), 2),
        "p95": round(float(np.percentile(values, 95)), 2),
        "p99": round(float(np.percentile(values, 99)), 2),
        "max": round(float(values.max()), 2),
    }


def model_cost(model: EndOfTurnModel, pcm: bytes, calls: int) -> dict[str, Any]:
    whole, features, session = [], [], []
    samples16k = np.frombuffer(pcm, dtype="<i2")[::3].astype(np.float64) / 32768.0
    for _ in range(calls):
        began = time.perf_counter()
        model.probability(pcm)
        whole.append((time.perf_counter() - began) * 1000)
        began = time.perf_counter()
        log_mel(fit_window(samples16k))
        features.append((time.perf_counter() - began) * 1000)
        began = time.perf_counter()
        model.probability_16k(samples16k)
        session.append((time.perf_counter() - began) * 1000 - features[-1])
    return {
        "call": _percentiles(whole),
        "features": _percentiles(features),
        "session": _percentiles(session),
    }


async def _ticks(seconds: float, ask: Any) -> list[float]:
    """How late each 5 ms tick ran while another task calls ``ask`` every 300 ms."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    late: list[float] = []

    async def tick() -> None:
        while loop.time() < end:
            due = loop.time() + TICK_S
            await asyncio.sleep(TICK_S)
            late.append((loop.time() - due) * 1000)

    async def asker() -> None:
        while loop.time() < end:
            await asyncio.sleep(ASK_EVERY_S)
            ask()

    async with TaskGroup() as group:
        group.create_task(tick())
        group.create_task(asker())
    return late


def loop_stall(model: EndOfTurnModel, pcm: bytes, seconds: float) -> dict[str, Any]:
    judge = ModelJudge(model)
    pending: list[Any] = []
    try:
        idle = asyncio.run(_ticks(seconds, lambda: None))
        inline = asyncio.run(_ticks(seconds, lambda: model.probability(pcm)))
        threaded = asyncio.run(_ticks(seconds, lambda: pending.append(judge.submit(pcm))))
    finally:
        judge.close()
    return {
        "idle": _percentiles(idle),
        "inline": _percentiles(inline),
        "worker_thread": _percentiles(threaded),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zenhire.bench.endofturn", description=__doc__)
    parser.add_argument("--calls", type=int, default=60)
    parser.add_argument("--stall-sec", type=float, default=6.0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    path = installed(SMART_TURN_FILE)
    if path is None:
        print("Smart Turn is not installed: run scripts/install", file=sys.stderr)
        return 1
    model = EndOfTurnModel(path)
    speech = np.concatenate([speak(text, "en-us") for text in ANSWERS])
    pcm = to_pcm(speech)[-8 * 24_000 * 2 :]
    result = {
        "model_ms": model_cost(model, pcm, args.calls),
        "loop_stall_ms": loop_stall(model, pcm, args.stall_sec),
    }
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
