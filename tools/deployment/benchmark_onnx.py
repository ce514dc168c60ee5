"""ONNX Runtime latency of exported detectors, side by side: the number to compare backbones by.

    python tools/deployment/benchmark_onnx.py CONFIG [CONFIG ...] [--checkpoints CKPT|random ...]
        [--shape 192 320] [--threads 1 2] [--runs 100] [--warmup 10] [--mixconv auto|padded|split]
        [--no-fast-forms] [--cfg-options k=v ...]

Exports each config's detector end to end (tools/deployment/export_onnx.py's model: preprocessing to NMS) at
each square input size, with its checkpoint or with freshly initialised weights ('random', the default: the
network's time does not depend on the values), then times batch-1 ``InferenceSession.run`` calls (CPU provider,
default graph optimization) of all configs interleaved run by run, for each thread count. Prints median and
90th-percentile ms, the ratio of each median to the first config's, multiply-adds of the model (PyTorch
forward, backbone to head) and of the exported graph's Conv nodes (padded kernels and block-diagonal 1x1
weights included), and parameters.
"""
import argparse
import os
import platform
import statistics
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from mixdet.apis.bench_models import RANDOM, build_detector
from mixdet.checkpoint import CheckpointError
from mixdet.deploy import ExportError, export_onnx
from mixdet.deploy.onnx_graph import conv_macs
from mixdet.deploy.ort_timing import cpu_session, time_interleaved
from mixdet.engine.cfg_options import CheckedDictAction
from mixdet.engine.config_check import ConfigError
from mixdet.ops.complexity import count_macs, count_params
from mixdet.ops.mixconv_onnx import ONNX_FORMS


def parse_args():
    parser = argparse.ArgumentParser(description='ONNX Runtime latency of exported detectors, interleaved')
    parser.add_argument('configs', nargs='+', help='detector config files; ratios are to the first')
    parser.add_argument('--checkpoints', nargs='+', help=f'one checkpoint per config, or {RANDOM!r} (default)')
    parser.add_argument('--shape', type=int, nargs='+', default=[320], help='square input sizes (default 320)')
    parser.add_argument('--threads', type=int, nargs='+', default=[1], help='ONNX Runtime intra-op threads')
    parser.add_argument('--runs', type=int, default=100, help='timed runs per model (default 100)')
    parser.add_argument('--warmup', type=int, default=10, help='untimed runs per model first (default 10)')
    parser.add_argument('--mixconv', choices=ONNX_FORMS, default='auto', help='MixConv export form (default auto)')
    parser.add_argument('--no-fast-forms', action='store_true',
                        help='export the modules as they are (no mixdet.deploy.export_forms, no BatchNorm folding)')
    parser.add_argument('--cfg-options', nargs='+', action=CheckedDictAction,
                        help='override settings of every config, key=value')
    args = parser.parse_args()
    checkpoints = args.checkpoints or [RANDOM] * len(args.configs)
    if len(checkpoints) != len(args.configs):
        parser.error(f'--checkpoints takes one entry per config ({len(args.configs)}), got {len(checkpoints)}')
    for value, name in ((min(args.shape), '--shape'), (min(args.threads), '--threads'), (args.runs, '--runs')):
        if value < 1:
            parser.error(f'{name} must be positive, got {value}')
    missing = [c for c in checkpoints if c != RANDOM and not os.path.isfile(c)]
    if missing:
        parser.error(f'checkpoint not found: {missing[0]}')
    return args, checkpoints


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    if os.path.isfile('/proc/cpuinfo'):
        with open('/proc/cpuinfo') as cpuinfo:
            cpu = next((line.split(':', 1)[1].strip() for line in cpuinfo if line.startswith('model name')), cpu)
    load = ', '.join(f'{x:.1f}' for x in os.getloadavg()) if hasattr(os, 'getloadavg') else 'n/a'
    return (f'{cpu}, {os.cpu_count()} logical CPUs, load average {load}; onnxruntime {ort.__version__}, '
            f'torch {torch.__version__}')


def main():
    args, checkpoints = parse_args()
    names = [Path(config).stem for config in args.configs]
    try:
        detectors = [build_detector(c, k, args.cfg_options) for c, k in zip(args.configs, checkpoints)]
    except (CheckpointError, ConfigError) as error:  # one line naming the checkpoint or the option
        raise SystemExit(str(error)) from error
    params = [count_params(d) for d in detectors]
    print(machine())
    print(f'batch 1, CPU provider, {args.runs} runs after {args.warmup} warm-up runs, models interleaved; '
          f'MixConv form {args.mixconv}{", no fast forms" if args.no_fast_forms else ""}')
    width = max(map(len, names))
    print(f'{"config":{width}} {"input":>5} {"threads":>7} {"median ms":>9} {"p90 ms":>7} {"ratio":>6} '
          f'{"GMACs":>6} {"graph GMACs":>11} {"params M":>8}')
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.shape:
            paths, macs, graph_macs = {}, {}, {}
            for name, detector in zip(names, detectors):
                paths[name] = str(Path(tmp) / f'{name}_{size}.onnx')
                try:
                    model = export_onnx(detector, paths[name], (size, size), mixconv_form=args.mixconv,
                                        fast_forms=not args.no_fast_forms)
                except ExportError as error:
                    raise SystemExit(f'{name}: {error}') from error
                macs[name], graph_macs[name] = count_macs(detector, size, size), conv_macs(model)
            image = np.random.default_rng(0).uniform(0, 255, (1, 3, size, size)).astype(np.float32)
            for threads in args.threads:
                sessions = {name: cpu_session(path, threads) for name, path in paths.items()}
                seconds = time_interleaved(sessions, {name: {'input': image} for name in names}, args.runs,
                                           args.warmup)
                first = statistics.median(seconds[names[0]])
                for name, param_count in zip(names, params):
                    median = statistics.median(seconds[name])
                    p90 = float(np.percentile(seconds[name], 90))
                    print(f'{name:{width}} {size:>5} {threads:>7} {1000 * median:>9.2f} {1000 * p90:>7.2f} '
                          f'{median / first:>6.2f} {macs[name] / 1e9:>6.3f} {graph_macs[name] / 1e9:>11.3f} '
                          f'{param_count / 1e6:>8.2f}', flush=True)


if __name__ == '__main__':
    main()
