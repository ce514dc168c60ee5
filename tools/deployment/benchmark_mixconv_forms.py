"""Time the two ONNX forms of MixConv ('split', 'padded') in ONNX Runtime on a detector config.

    python tools/deployment/benchmark_mixconv_forms.py CONFIG [CONFIG ...] [--shape 320] [--threads 2]
                                                       [--runs 50] [--cfg-options k=v ...]

Exports each config's detector end to end (freshly initialised weights: the timing of the network does
not depend on their values) in both forms and prints the median and mean ms of one batch-1 image in
ONNX Runtime (CPU provider), after 5 warm-up runs, the two forms' runs interleaved.
"""
import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

from mixdet.deploy import export_onnx
from mixdet.deploy.input_size import test_input_size
from mixdet.deploy.onnx_graph import op_types
from mixdet.engine.config_setup import apply_cfg_options
from mixdet.ops.mixconv_onnx import ONNX_FORMS

WARMUP = 5


def parse_args():
    parser = argparse.ArgumentParser(description='ONNX Runtime latency of the two MixConv export forms')
    parser.add_argument('configs', nargs='+', help='detector config files')
    parser.add_argument('--shape', type=int, help="square input size (default: each config's test size)")
    parser.add_argument('--threads', type=int, default=torch.get_num_threads(), help='ONNX Runtime threads')
    parser.add_argument('--runs', type=int, default=50, help='timed runs per form')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings, key=value')
    return parser.parse_args()


def time_sessions(paths: dict[str, str], size: tuple[int, int], threads: int, runs: int) -> dict[str, list[float]]:
    """Seconds of ``runs`` ``InferenceSession.run`` calls per model on one random image, the models interleaved
    run by run (so that a busy machine slows them alike)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    sessions = {name: ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])
                for name, path in paths.items()}
    image = np.random.default_rng(0).uniform(0, 255, (1, 3, *size)).astype(np.float32)
    seconds = {name: [] for name in paths}
    for run in range(WARMUP + runs):
        for name, session in sessions.items():
            start = time.perf_counter()
            session.run(None, {'input': image})
            if run >= WARMUP:
                seconds[name].append(time.perf_counter() - start)
    return seconds


def main():
    args = parse_args()
    init_default_scope('mmdet')
    from mmdet.registry import MODELS
    print(f'ONNX Runtime {ort.__version__}, CPU provider, {args.threads} threads, batch 1, {args.runs} runs')
    with tempfile.TemporaryDirectory() as tmp:
        for config in args.configs:
            cfg = Config.fromfile(config)
            apply_cfg_options(cfg, args.cfg_options)
            size = (args.shape, args.shape) if args.shape else test_input_size(cfg)
            torch.manual_seed(0)
            model = MODELS.build(cfg.model)
            model.init_weights()
            paths, convs = {}, {}
            for form in ONNX_FORMS:
                paths[form] = str(Path(tmp) / f'{form}.onnx')
                convs[form] = op_types(export_onnx(model, paths[form], size, mixconv_form=form))['Conv']
            for form, seconds in time_sessions(paths, size, args.threads, args.runs).items():
                median, mean = 1000 * statistics.median(seconds), 1000 * statistics.mean(seconds)
                print(f'{Path(config).stem} {size[0]}x{size[1]} {form:7} {convs[form]:4d} Conv nodes: '
                      f'median {median:7.2f} ms, mean {mean:7.2f} ms')


if __name__ == '__main__':
    main()
