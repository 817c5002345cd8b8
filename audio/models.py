"""The ONNX model files the audio code runs: where the install puts them, how they open.

``scripts/install`` takes both files out of one pinned wheel from the
package registry (``pipecat-ai``, downloaded without its dependencies), checks
them against pinned SHA-256 digests and copies them into the environment's
data directory::

    <sys.prefix>/share/zenhire/models/smart-turn-v3.2-cpu.onnx   Smart Turn v3.2 (BSD-2)
    <sys.prefix>/share/zenhire/models/silero_vad.onnx            Silero VAD v5 (MIT)

Nothing is fetched at run time: a missing file is reported as missing
(:func:`installed` answers None) and the caller falls back. Sessions run on
one thread each (``intra_op_num_threads=1``): the gateway shares two cores
with many interviews, and a model call is small enough that threads would
only add hand-off cost.
"""

from __future__ import annotations

import sys
from pathlib import Path

import onnxruntime as ort

SMART_TURN_FILE = "smart-turn-v3.2-cpu.onnx"
SILERO_VAD_FILE = "silero_vad.onnx"
MODELS_SUBDIR = Path("share") / "zenhire" / "models"


class ModelError(RuntimeError):
    """A model file exists but onnxruntime cannot load or run it."""


def models_dir(prefix: Path | None = None) -> Path:
    """Where the install puts model files for the environment at ``prefix``."""
    return (prefix if prefix is not None else Path(sys.prefix)) / MODELS_SUBDIR


def installed(name: str, prefix: Path | None = None) -> Path | None:
    """The installed model file ``name``, or None when the install did not put it there."""
    path = models_dir(prefix) / name
    return path if path.is_file() else None


def open_session(path: Path) -> ort.InferenceSession:
    """A single-threaded CPU session on the model at ``path``; raise ModelError if it fails."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # onnxruntime's own warnings (e.g. about unused initializers) are noise here.
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime raises its own untyped exceptions
        raise ModelError(f"cannot load model {path}: {exc}") from exc
