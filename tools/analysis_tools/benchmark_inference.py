"""Inference images/s of a trained detector on the CPU (or CUDA), as mmdet's ``benchmark.py --task inference``.

    python tools/analysis_tools/benchmark_inference.py CONFIG CHECKPOINT [--max-iter 2000] [--log-interval 50]
                                                       [--num-warmup 5] [--device cpu|cuda] [--cfg-options k=v ...]

Why not mmdet's: mmdet 3.3.0's ``tools/analysis_tools/benchmark.py --task inference`` moves the model to CUDA
unconditionally (``InferenceBenchmark._init_model``: ``model = model.cuda()``, then ``torch.cuda.synchronize()``
around every image), so without CUDA it stops with ``AssertionError: Torch not compiled with CUDA enabled``.
This tool times the same thing (``model.test_step`` on batches of one test image, no worker processes, after
``--num-warmup`` images) on the device given, and prints mmdet's lines (``Done image [i/N], fps: ...``,
``Overall fps: ... img/s``). The checkpoint is read as data and loaded strictly (mixdet's checkpoint rules).
"""
import argparse
import time

import torch
from mmengine.runner import Runner

from mixdet.apis import init_detector
from mixdet.checkpoint import CheckpointError
from mixdet.engine.cfg_options import CheckedDictAction
from mixdet.engine.config_check import ConfigError


def parse_args():
    parser = argparse.ArgumentParser(description='Inference images/s of a detector')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--max-iter', type=int, default=2000, help='images to run (at most the test set)')
    parser.add_argument('--log-interval', type=int, default=50)
    parser.add_argument('--num-warmup', type=int, default=5, help='first images, not timed')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--cfg-options', nargs='+', action=CheckedDictAction)
    return parser.parse_args()


def synchronize(device: str) -> None:
    """Wait for the device's queued work (CUDA only)."""
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def images_per_second(model, data_loader, args) -> float:
    """Timed ``test_step`` of single images after the warm-up, logging every ``--log-interval`` images."""
    timed, elapsed = 0, 0.0
    for i, data in enumerate(data_loader):
        if i == args.max_iter:
            break
        synchronize(args.device)
        start = time.perf_counter()
        with torch.no_grad():
            model.test_step(data)
        synchronize(args.device)
        if i >= args.num_warmup:
            timed, elapsed = timed + 1, elapsed + time.perf_counter() - start
            if (i + 1) % args.log_interval == 0:
                print(f'Done image [{i + 1:<3}/{args.max_iter}], fps: {timed / elapsed:.1f} img/s', flush=True)
    if not timed:
        raise SystemExit(f'no image timed: the test set has {len(data_loader)} images, --num-warmup is '
                         f'{args.num_warmup}')
    return timed / elapsed


def main():
    args = parse_args()
    try:
        model = init_detector(args.config, args.checkpoint, args.cfg_options, args.device)
    except (CheckpointError, ConfigError) as error:  # one line naming the checkpoint or the option
        raise SystemExit(str(error)) from error
    loader_cfg = dict(model.cfg.test_dataloader, batch_size=1, num_workers=0, persistent_workers=False)
    fps = images_per_second(model, Runner.build_dataloader(loader_cfg), args)
    print(f'Overall fps: {fps:.1f} img/s, times per image: {1000 / fps:.1f} ms/img ({args.device})')


if __name__ == '__main__':
    main()
