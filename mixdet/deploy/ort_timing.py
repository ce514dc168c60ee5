"""ONNX Runtime (CPU provider) latency of several models, their runs interleaved so that a busy machine slows
them alike (tools/deployment/benchmark_onnx.py, benchmark_mixconv_forms.py, test_onnx.py)."""
from __future__ import annotations

import time

import numpy as np
import onnxruntime as ort


def cpu_session(model: str | bytes, threads: int) -> ort.InferenceSession:
    """An InferenceSession of ``model`` (path or serialized bytes) on the CPU provider with ``threads`` intra-op
    threads and ONNX Runtime's default (full) graph optimization."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    return ort.InferenceSession(model, options, providers=['CPUExecutionProvider'])


def time_interleaved(sessions: dict[str, ort.InferenceSession], feeds: dict[str, dict[str, np.ndarray]],
                     runs: int, warmup: int) -> dict[str, list[float]]:
    """Seconds of ``runs`` ``run`` calls per session on its ``feeds[name]``, after ``warmup`` untimed rounds; each
    round runs every session once, in turn."""
    seconds: dict[str, list[float]] = {name: [] for name in sessions}
    for round_index in range(warmup + runs):
        for name, session in sessions.items():
            start = time.perf_counter()
            session.run(None, feeds[name])
            if round_index >= warmup:
                seconds[name].append(time.perf_counter() - start)
    return seconds
