"""Training images/s of detector configs, measured interleaved so that a shared machine's load hits all alike.

Usage:
    python tools/analysis_tools/train_throughput.py CONFIG [CONFIG ...] [--size 192] [--batch 8] [--steps 5]
                                                    [--rounds 5] [--threads 1] [--impls fused reference]

One step = the detector's loss on a synthetic batch (random images, three random boxes per image),
backward and an SGD step; no data loading. ``--impls`` times each config once per MixConv implementation
(``$MIXDET_MIXCONV_IMPL`` set around its steps). After one warm-up step per entry, each round times
``--steps`` steps of every entry in turn; the result per entry is the median over the rounds.
"""
import argparse
import os
import statistics
import time

import torch

from mixdet.apis import init_detector
from mixdet.ops.mixconv import IMPL_ENV
from mixdet.testing.batches import synthetic_batch


def parse_args():
    parser = argparse.ArgumentParser(description='Interleaved training throughput of detector configs')
    parser.add_argument('configs', nargs='+', help='config file paths')
    parser.add_argument('--size', type=int, default=192, help='square input size (default 192)')
    parser.add_argument('--batch', type=int, default=8, help='images per step (default 8)')
    parser.add_argument('--steps', type=int, default=5, help='timed steps per config and round (default 5)')
    parser.add_argument('--rounds', type=int, default=5, help='rounds (default 5)')
    parser.add_argument('--threads', type=int, help='torch.set_num_threads')
    parser.add_argument('--impls', nargs='+', choices=['auto', 'fused', 'reference'],
                        help='time every config under each of these MixConv implementations')
    return parser.parse_args()


def train_step_fn(config: str, args):
    model = init_detector(config)
    model.init_weights()
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    images, samples = synthetic_batch(args.size, args.batch, model.bbox_head.num_classes)

    def step():
        losses = model.loss(images, samples)
        sum(sum(v) if isinstance(v, list) else v for v in losses.values()).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return step


def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    steps = {config: train_step_fn(config, args) for config in args.configs}
    entries = [(config, impl) for config in args.configs for impl in args.impls or [None]]

    def run(config, impl, count):
        if impl is not None:
            os.environ[IMPL_ENV] = impl
        start = time.perf_counter()
        for _ in range(count):
            steps[config]()
        return (time.perf_counter() - start) / count

    for config, impl in entries:
        run(config, impl, 1)
    seconds = {entry: [] for entry in entries}
    for _ in range(args.rounds):
        for entry in entries:
            seconds[entry].append(run(*entry, args.steps))
    print(f'input {args.size}x{args.size}, batch {args.batch}, {torch.get_num_threads()} threads, '
          f'{args.rounds} rounds x {args.steps} steps, interleaved')
    for (config, impl), times in seconds.items():
        median = statistics.median(times)
        print(f'{config}{f" [{impl}]" if impl else ""}: {args.batch / median:.2f} img/s (median step {median:.3f} s, '
              f'range {min(times):.3f}-{max(times):.3f} s)')


if __name__ == '__main__':
    main()
