"""Benchmark the fused MixConv op against split/conv/cat, a zero-padded k_max conv and the memory floor.

Layer mode (default): the distinct mixed-kernel depthwise layers of MixNet-S/M (and L on request), from the
arch tables (mixdet.archs), forward and forward+backward, per dtype, input size and batch. Model mode
(``--model``): a MixNet backbone training step (forward, mean-square loss on the last tap, backward, SGD) with
the fused op vs the reference, in images/s; it needs mmengine, mmcv and mmdet (the MixNet backbone is built
through mmdet's registry).

Whole detectors (a training step of several configs, each under several MixConv implementations, interleaved)
are timed by ``tools/analysis_tools/train_throughput.py``.

Plan mode (``--plan``, no GPU needed): the CUDA kernels' launch plans (mixdet.ops.cuda_launch_plan) for
every depthwise layer of MixNet-S/M/L: grid and CTAs of each kernel, tiles, useful/computed outputs and
the dW workspace.

GPU timing: CUDA events, warm-up, median of ``--iters`` runs, L2 flushed (a 256 MB write) before each
run. CPU timing: wall clock of each run, median. The floors (``floor_bytes``) are the bytes a pass must move
at least, over the measured copy bandwidth: forward |X| + |Y|; forward+backward 3|X| + 2|Y| (the forward,
then the fused backward reading X and dY and writing dX). Examples::

    python tools/analysis_tools/benchmark_mixconv.py          # CUDA, S and M, 224/320, batch 32/64, fp32/bf16
    python tools/analysis_tools/benchmark_mixconv.py --device cpu --quick  # a few seconds per layer on a CPU
    python tools/analysis_tools/benchmark_mixconv.py --model --arch s --size 320 --batch 64 --amp
    python tools/analysis_tools/benchmark_mixconv.py --plan   # S/M/L at 320, N=32 and 256, fp32
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import time
from typing import Callable

import torch
import torch.nn.functional as F

from mixdet.archs import MIXNET_ARCHS, DepthwiseLayer, decode_arch, depthwise_layers
from mixdet.ops import backend, cuda_launch_plan, mixconv2d, split_channels
from mixdet.ops.mixconv import IMPL_ENV

DTYPES = {'fp32': torch.float32, 'bf16': torch.bfloat16, 'fp16': torch.float16}
METHODS = ('fused', 'split', 'padded')


class Timer:
    """Median time (ms) of a callable on one device, with the L2 cache flushed before each run on CUDA."""

    def __init__(self, device: torch.device, warmup: int, iters: int):
        self.device, self.warmup, self.iters = device, warmup, iters
        self.flush = torch.empty(64 * 2**20, dtype=torch.float32, device=device) if device.type == 'cuda' else None

    def _once(self, fn: Callable[[], object]) -> float:
        if self.device.type != 'cuda':
            begin = time.perf_counter()
            fn()
            return (time.perf_counter() - begin) * 1e3
        self.flush.zero_()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        return start.elapsed_time(end)

    def __call__(self, fn: Callable[[], object]) -> float:
        return self.compare({'': fn})['']

    def compare(self, fns: dict[str, Callable[[], object]]) -> dict[str, float]:
        """Median ms of each callable; runs are interleaved so that load changes hit all of them alike."""
        for fn in fns.values():
            for _ in range(self.warmup):
                fn()
        times = {name: [] for name in fns}
        for _ in range(self.iters):
            for name, fn in fns.items():
                times[name].append(self._once(fn))
        return {name: statistics.median(t) for name, t in times.items()}


def copy_bandwidth(device: torch.device, timer: Timer) -> float:
    """Bytes/s of a large device-to-device copy (read + write)."""
    src = torch.empty(128 * 2**20 // 4, device=device)  # 2 x 128 MB: beyond the caches
    dst = torch.empty_like(src)
    return 2 * src.numel() * 4 / (timer(lambda: dst.copy_(src)) / 1e3)


FLOOR_NOTE = ('Copy floors = bytes a pass must move / measured copy bandwidth: forward |X| + |Y| (read the input, '
              'write the output); forward+backward 3|X| + 2|Y| (the forward, then the fused backward reads X and dY '
              'and writes dX; dW is tiny).')


def floor_bytes(pass_name: str, batch: int, channels: int, height: int, out_height: int, element_size: int) -> int:
    """Bytes that pass ``pass_name`` ('fwd' or 'fwdbwd') of a square layer must read and write at least
    (FLOOR_NOTE): |X| = N*C*H*H, |Y| = |dY| = N*C*H_out*H_out elements."""
    x, y = batch * channels * height**2, batch * channels * out_height**2
    elements = x + y if pass_name == 'fwd' else 3 * x + 2 * y
    return elements * element_size


def mixed_layers(arch: str, size: int) -> list[DepthwiseLayer]:
    """The distinct mixed-kernel depthwise layers of MixNet-``arch`` at a size x size input, each first where it
    occurs (MixNet-S: eight)."""
    layers = {}
    for layer in depthwise_layers(decode_arch(MIXNET_ARCHS[arch]), size, size):
        if len(layer.kernels) > 1:
            layers.setdefault((layer.channels, layer.height, layer.width, layer.kernels, layer.stride), layer)
    return list(layers.values())


def layer_inputs(channels, height, kernels, batch, dtype, device, channels_last):
    """x [N, C, H, H], per-group kernels, and the same kernels zero-padded to k_max as one [C, 1, k, k]."""
    x = torch.randn(batch, channels, height, height, device=device, dtype=dtype)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    weights = [torch.randn(c, 1, k, k, device=device, dtype=dtype) / k
               for c, k in zip(split_channels(channels, len(kernels)), kernels)]
    k_max = max(kernels)
    padded = torch.cat([F.pad(w, [(k_max - w.shape[-1]) // 2] * 4) for w in weights])
    return x, weights, padded


def method_fn(method: str, x, weights, padded, stride: int, backward: bool) -> Callable[[], object]:
    """A closure running one method's forward (and backward) on prepared tensors."""
    if method == 'padded':
        leaves = [x, padded]
        forward = lambda: F.conv2d(x, padded, None, stride, padded.shape[-1] // 2, 1, x.shape[1])  # noqa: E731
    else:
        leaves = [x] + weights
        impl = 'fused' if method == 'fused' else 'reference'
        forward = lambda: mixconv2d(x, weights, None, stride, 'symmetric', impl=impl)  # noqa: E731
    if not backward:
        return lambda: forward()
    grad = torch.randn_like(forward())
    return lambda: torch.autograd.grad(forward(), leaves, grad)


def run_layers(args, device: torch.device) -> list[dict]:
    timer = Timer(device, args.warmup, args.iters)
    bandwidth = copy_bandwidth(device, timer)
    print(f'device {device} ({torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"}), '
          f'torch {torch.__version__}, threads {torch.get_num_threads()}, fused backend {backend(device)}, '
          f'copy bandwidth {bandwidth / 1e9:.1f} GB/s')
    print(FLOOR_NOTE)
    rows = []
    for arch in args.arch:
        for size in args.size:
            for batch in args.batch:
                for dtype_name in args.dtype:
                    dtype = DTYPES[dtype_name]
                    print(f'\nMixNet-{arch.upper()} {size}x{size}, N={batch}, {dtype_name}, '
                          f'{"channels_last" if args.channels_last else "NCHW"} (ms; ratio = split / fused)')
                    print(f'{"layer":6} {"C":>5} {"H":>4} {"kernels":>12} s | {"pass":6} '
                          + ' '.join(f'{m:>8}' for m in METHODS) + f' {"floor":>8} {"ratio":>6} {"%floor":>6}')
                    for layer in mixed_layers(arch, size):
                        name, channels, height, kernels, stride = (layer.name, layer.channels, layer.height,
                                                                   layer.kernels, layer.stride)
                        x, weights, padded = layer_inputs(channels, height, kernels, batch, dtype, device,
                                                          args.channels_last)
                        out_h = (height - 1) // stride + 1
                        for pass_name in args.passes:
                            floor = floor_bytes(pass_name, batch, channels, height, out_h, x.element_size()) \
                                / bandwidth * 1e3
                            backward = pass_name == 'fwdbwd'
                            for t in [x, padded] + weights:
                                t.requires_grad_(backward)
                            with torch.set_grad_enabled(backward):
                                times = timer.compare({m: method_fn(m, x, weights, padded, stride, backward)
                                                       for m in METHODS})
                            row = dict(arch=arch, size=size, batch=batch, dtype=dtype_name, layer=name,
                                       channels=channels, height=height, kernels=kernels, stride=stride,
                                       pass_name=pass_name, floor=floor, bandwidth=bandwidth, **times)
                            rows.append(row)
                            print(f'{name:6} {channels:5} {height:4} {",".join(map(str, kernels)):>12} {stride} | '
                                  f'{pass_name:6} ' + ' '.join(f'{times[m]:8.3f}' for m in METHODS)
                                  + f' {floor:8.3f} {times["split"] / times["fused"]:6.2f}'
                                  + f' {100 * floor / times["fused"]:5.1f}%')
                    for pass_name in args.passes:
                        sel = [r for r in rows if (r['arch'], r['size'], r['batch'], r['dtype'], r['pass_name'])
                               == (arch, size, batch, dtype_name, pass_name)]
                        total = {m: sum(r[m] for r in sel) for m in METHODS + ('floor',)}
                        print(f'{"total":6} {"":5} {"":4} {"":>12}   | {pass_name:6} '
                              + ' '.join(f'{total[m]:8.3f}' for m in METHODS)
                              + f' {total["floor"]:8.3f} {total["split"] / total["fused"]:6.2f}'
                              + f' {100 * total["floor"] / total["fused"]:5.1f}%')
    return rows


def plot(rows: list[dict], path: str) -> None:
    """One bar chart per (arch, size, batch, dtype, pass): time per layer and method, floor as a marker."""
    if importlib.util.find_spec('matplotlib') is None:
        print(f'matplotlib is not installed: no plot written to {path}')
        return
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    keys = sorted({(r['arch'], r['size'], r['batch'], r['dtype'], r['pass_name']) for r in rows}, key=str)
    fig, axes = plt.subplots(len(keys), 1, figsize=(10, 3 * len(keys)), squeeze=False)
    for ax, key in zip(axes[:, 0], keys):
        sel = [r for r in rows if (r['arch'], r['size'], r['batch'], r['dtype'], r['pass_name']) == key]
        for i, method in enumerate(METHODS):
            ax.bar([j + 0.25 * i for j in range(len(sel))], [r[method] for r in sel], width=0.25, label=method)
        ax.scatter([j + 0.25 for j in range(len(sel))], [r['floor'] for r in sel], color='k', marker='_', s=300,
                   label='memory floor', zorder=3)
        ax.set_xticks([j + 0.25 for j in range(len(sel))], [r['layer'] for r in sel])
        ax.set_ylabel('ms')
        ax.set_title('MixNet-{} {}x{} N={} {} {}'.format(key[0].upper(), key[1], key[1], *key[2:]))
        ax.legend(fontsize=7)
    fig.tight_layout()
    os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
    fig.savefig(path, dpi=100)
    print(f'plot written to {path}')


def print_plans(args) -> None:
    """The CUDA launch plans of every MixNet depthwise layer (forward | backward), from the C++ planner."""
    dtype = DTYPES[args.dtype[0]]
    for arch in args.arch:
        for size in args.size:
            for batch in args.batch:
                print(f'\nMixNet-{arch.upper()} {size}x{size}, N={batch}, {args.dtype[0]}: CUDA launch plans '
                      '(forward | backward: conv CTAs, dW reduction CTAs of pass 1+2, fp32 partial dW workspace)')
                print(f'{"layer":6} {"C":>5} {"H":>4} {"kernels":>10} s | {"tile":>6} {"cb":>3} {"CTAs":>7} '
                      f'{"comp/use":>8} | {"tile":>6} {"cb":>3} {"items":>5} {"CTAs":>7} {"rows":>5} '
                      f'{"reduce":>9} {"chain":>5} {"MB":>6}')
                for layer in depthwise_layers(decode_arch(MIXNET_ARCHS[arch]), size, size):
                    plan = cuda_launch_plan((batch, layer.channels, layer.height, layer.width), layer.kernels,
                                            stride=layer.stride, dtype=dtype)
                    fwd, bwd = plan['forward'], plan['backward']
                    reduce = [k['ctas'] for name, k in bwd['kernels'].items() if name.startswith('reduce')]
                    print(f'{layer.name:6} {layer.channels:5} {layer.height:4} '
                          f'{".".join(map(str, layer.kernels)):>10} {layer.stride} | '
                          f'{"x".join(map(str, fwd["tile"])):>6} {fwd["channels_per_cta"]:3} '
                          f'{fwd["kernels"]["mixconv_forward_kernel"]["ctas"]:7} '
                          f'{fwd["computed_outputs"] / fwd["useful_outputs"]:8.3f} | '
                          f'{"x".join(map(str, bwd["tile"])):>6} {bwd["channels_per_cta"]:3} {bwd["items_per_cta"]:5} '
                          f'{bwd["kernels"]["mixconv_backward_kernel"]["ctas"]:7} {bwd["partial_rows"]:5} '
                          f'{"+".join(map(str, reduce)):>9} {bwd["reduce_serial_sums"]:5} '
                          f'{bwd["workspace_bytes"] / 2**20:6.2f}')


def run_model(args, device: torch.device) -> None:
    """Images/s of a MixNet backbone training step, fused op vs reference."""
    from mmdet.registry import MODELS

    from mixdet.modules import register_all_modules  # MixNet in mmdet's MODELS; needs mmengine, mmcv and mmdet
    register_all_modules()
    timer = Timer(device, args.warmup, max(5, args.iters // 5))
    for arch in args.arch:
        for size in args.size:
            for batch in args.batch:
                model = MODELS.build(dict(type='MixNet', arch=arch, out_indices=(5,))).to(device).train()
                model = model.to(memory_format=torch.channels_last) if args.channels_last else model
                optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
                x = torch.randn(batch, 3, size, size, device=device)

                def step():
                    with torch.autocast(device.type, torch.bfloat16, enabled=args.amp):
                        loss = model(x)[0].float().square().mean()
                    loss.backward()
                    optimizer.step()
                    optimizer.zero_grad(set_to_none=True)

                results = {}
                for impl in ('reference', 'fused'):
                    os.environ[IMPL_ENV] = impl  # read by every mixconv2d call
                    results[impl] = batch / (timer(step) / 1e3)
                del os.environ[IMPL_ENV]
                print(f'MixNet-{arch.upper()} backbone train step, {size}x{size}, N={batch}, '
                      f'{"bf16 AMP" if args.amp else "fp32"}: reference {results["reference"]:.1f} img/s, '
                      f'fused {results["fused"]:.1f} img/s ({results["fused"] / results["reference"]:.2f}x)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--arch', nargs='+', choices=['s', 'm', 'l'], help='default s m (--plan: s m l)')
    parser.add_argument('--size', nargs='+', type=int, help='default 224 320 (--plan: 320)')
    parser.add_argument('--batch', nargs='+', type=int, help='default 32 64 (--plan: 32 256)')
    parser.add_argument('--dtype', nargs='+', choices=sorted(DTYPES), help='default fp32 bf16 (--plan: fp32)')
    parser.add_argument('--passes', nargs='+', default=['fwd', 'fwdbwd'], choices=['fwd', 'fwdbwd'])
    parser.add_argument('--iters', type=int, default=50)
    parser.add_argument('--warmup', type=int, default=5)
    parser.add_argument('--channels-last', action='store_true')
    parser.add_argument('--plot', default='work_dirs/benchmark_mixconv.png', help='PNG path ("" for none)')
    parser.add_argument('--quick', action='store_true',
                        help='CPU smoke run: MixNet-S, 224, N=8, fp32, 2 + 10 runs (overrides those options)')
    parser.add_argument('--threads', type=int, help='torch.set_num_threads (CPU)')
    parser.add_argument('--model', action='store_true', help='time a MixNet backbone training step instead')
    parser.add_argument('--amp', action='store_true', help='model mode: bf16 autocast')
    parser.add_argument('--plan', action='store_true',
                        help='print the CUDA launch plans of S/M/L (default 320, N=32 and 256, fp32) and exit')
    args = parser.parse_args()
    defaults = dict(arch=['s', 'm', 'l'], size=[320], batch=[32, 256], dtype=['fp32']) if args.plan else \
        dict(arch=['s', 'm'], size=[224, 320], batch=[32, 64], dtype=['fp32', 'bf16'])
    for key, value in defaults.items():
        setattr(args, key, getattr(args, key) or value)
    if args.plan:
        print_plans(args)
        return
    if args.quick:
        args.arch, args.size, args.batch, args.dtype, args.iters, args.warmup = ['s'], [224], [8], ['fp32'], 10, 2
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if device.type == 'cuda':
        torch.backends.cudnn.benchmark = True
    if args.model:
        run_model(args, device)
        return
    rows = run_layers(args, device)
    if args.plot:
        plot(rows, args.plot)


if __name__ == '__main__':
    main()
