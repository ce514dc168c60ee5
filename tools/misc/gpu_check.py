"""One command that proves the GPU path on a GPU machine and writes one markdown report.

    python tools/misc/gpu_check.py                 # on the GPU machine (make gpu-check): about 5-8 minutes
    python tools/misc/gpu_check.py --device cpu    # dry run on a CPU (small shapes; CI runs it)

Steps, each timed and recorded in ``<out>/report.md``:
1. build ``mixdet.ops._C`` in place against the installed torch with CUDA kernels (skipped in the dry run,
   which uses the installed extension);
2. the CUDA op tests (the ``cuda`` tests of ``tests/test_ops/test_mixconv_op.py`` and
   ``tests/test_ops/test_mixconv_autocast.py``: fp32/fp16/bf16 against the reference, autocast, bit-identical
   weight gradients of two backward runs); with ``MIXDET_OPS_ONLY=1`` so that no OpenMMLab package is needed;
3. the eight mixed depthwise layers of MixNet-S at 320x320, N=32: fused vs split/conv/cat vs the copy
   bandwidth floor, fp32 and bf16, forward and forward+backward (tools/analysis_tools/benchmark_mixconv.py);
4. a MixNet-S training step (timm's ``mixnet_s``, forward, loss, backward, SGD) at 320x320, N=64, in
   img/s: timm eager and ``torch.compile``d, and the same network with every depthwise conv run by
   ``mixdet.ops.mixconv2d`` (reference and fused), fp32 and bf16 AMP; first a parity check of the
   swapped network against timm's.
The targets (from H100 measurements of split/conv/cat; see docs/benchmarks.md) are checked and printed.
Needs timm on the GPU machine; the dry run uses geffnet (timm's predecessor, same modules) where timm
cannot be imported.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import torch

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / 'tools' / 'analysis_tools'))  # benchmark_mixconv
# Totals over the eight MixNet-S layers at 320x320, N=32 (ms), and model-level ratios.
TARGETS = dict(fwd_fp32_ms=0.45, fwdbwd_fp32_ms=2.0, bf16_speedup=4.0, amp_step_vs_reference=1.6)


def run(cmd: list[str], env: dict | None = None, timeout: int = 600) -> tuple[int, str, float]:
    """(exit code, combined output, seconds) of a subprocess in the repository root."""
    begin = time.time()
    result = subprocess.run(cmd, cwd=REPO, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, timeout=timeout)
    return result.returncode, result.stdout, time.time() - begin


def build_extension(report: list[str]) -> None:
    """Compile mixdet.ops._C in place with CUDA kernels for this machine's GPU."""
    major, minor = torch.cuda.get_device_capability()
    env = dict(MIXDET_WITH_CUDA='1', TORCH_CUDA_ARCH_LIST=os.environ.get('TORCH_CUDA_ARCH_LIST', f'{major}.{minor}'),
               MAX_JOBS=str(os.cpu_count() or 4))
    code, output, seconds = run([sys.executable, 'setup.py', 'build_ext', '--inplace'], env)
    report.append(f'## Build\n\n`setup.py build_ext --inplace` with {env}: exit {code} in {seconds:.0f} s\n')
    if code != 0:
        report.append(f'```\n{output[-4000:]}\n```\n')
        raise SystemExit(f'gpu_check: the extension did not build:\n{output[-4000:]}')


def ensure_pytest() -> None:
    """Install pytest from the wheels that `make gpu-wheels` stored in .gpu-wheels/ when it is missing."""
    if importlib.util.find_spec('pytest') is not None:
        return
    wheels = REPO / '.gpu-wheels'
    if not wheels.is_dir():
        raise SystemExit('gpu_check: pytest is not installed and there is no .gpu-wheels/ (run `make gpu-wheels` '
                         'where there is network and bring the folder along)')
    code, output, _ = run([sys.executable, '-m', 'pip', 'install', '--no-index', '--find-links', str(wheels),
                           'pytest'])
    if code != 0:
        raise SystemExit(f'gpu_check: installing pytest from .gpu-wheels failed:\n{output[-2000:]}')


def run_tests(device: str, report: list[str]) -> bool:
    """The CUDA tests of the op (and on a GPU the autocast tests, CPU and CUDA); in the dry run they skip."""
    files = ['tests/test_ops/test_mixconv_op.py'] + (['tests/test_ops/test_mixconv_autocast.py'] if device == 'cuda'
                                                     else [])
    selection = 'cuda or autocast'
    code, output, seconds = run([sys.executable, '-m', 'pytest', *files, '-q', '-k', selection,
                                 '-p', 'no:cacheprovider'], dict(MIXDET_OPS_ONLY='1'), timeout=900)
    summary = output.strip().splitlines()[-1] if output.strip() else '(no output)'
    report.append(f'## CUDA op tests\n\n`pytest {" ".join(files)} -k "{selection}"`: **{summary}** '
                  f'({seconds:.0f} s, exit {code})\n')
    if code != 0:
        report.append(f'```\n{output[-6000:]}\n```\n')
    return code == 0


def layer_benchmark(device, dry: bool, report: list[str]) -> dict:
    """Totals (ms) per (dtype, pass, method) over the MixNet-S layers, printed as a table."""
    import benchmark_mixconv as bench
    args = SimpleNamespace(arch=['s'], size=[32 if dry else 320], batch=[1 if dry else 32], dtype=['fp32', 'bf16'],
                           passes=['fwd', 'fwdbwd'], warmup=0 if dry else 5, iters=1 if dry else 50,
                           channels_last=False)
    rows = bench.run_layers(args, device)
    totals = {}
    for row in rows:
        for method in (*bench.METHODS, 'floor'):
            key = (row['dtype'], row['pass_name'], method)
            totals[key] = totals.get(key, 0.0) + row[method]
    report.append(f'## MixNet-S depthwise layers ({args.size[0]}x{args.size[0]}, N={args.batch[0]}, NCHW)\n\n'
                  'Totals over the eight layers, ms (median of CUDA-event timings, L2 flushed):\n\n'
                  '| dtype | pass | fused | split/conv/cat | padded k_max | copy floor | split / fused |\n'
                  '|---|---|---|---|---|---|---|')
    for dtype in args.dtype:
        for pass_name in args.passes:
            t = {m: totals[(dtype, pass_name, m)] for m in (*bench.METHODS, 'floor')}
            report.append(f'| {dtype} | {pass_name} | {t["fused"]:.3f} | {t["split"]:.3f} | {t["padded"]:.3f} | '
                          f'{t["floor"]:.3f} | {t["split"] / t["fused"]:.2f}x |')
    report.append('\nPer layer:\n\n| dtype | pass | layer | C | H | kernels | s | fused | split | floor |\n'
                  '|---|---|---|---|---|---|---|---|---|---|')
    report.extend(f'| {r["dtype"]} | {r["pass_name"]} | {r["layer"]} | {r["channels"]} | {r["height"]} | '
                  f'{",".join(map(str, r["kernels"]))} | {r["stride"]} | {r["fused"]:.3f} | {r["split"]:.3f} | '
                  f'{r["floor"]:.3f} |' for r in rows)
    report.append('')
    return totals


def reference_network(dry: bool):
    """timm's mixnet_s (or geffnet's in the dry run when timm cannot be imported) and the source's name."""
    try:
        timm = importlib.import_module('timm')
        return timm.create_model('mixnet_s'), f'timm {timm.__version__} mixnet_s'
    except (ImportError, RuntimeError) as error:  # timm imports torchvision, which may not load beside this torch
        if not dry:
            raise SystemExit(f'gpu_check: timm is needed on the GPU machine ({error})')
        geffnet = importlib.import_module('geffnet')
        return geffnet.create_model('mixnet_s'), 'geffnet mixnet_s (timm not importable here)'


class MixConvFromConvs(torch.nn.Module):
    """Runs a timm/geffnet depthwise conv (one nn.Conv2d, or a MixedConv2d of several) with mixdet's mixconv2d.

    The parameters stay the original convs' (same names), so weights and optimizers carry over.
    """

    def __init__(self, convs, stride: int):
        super().__init__()
        self.convs = torch.nn.ModuleList(convs)
        self.stride = stride

    def forward(self, x):
        from mixdet.ops import mixconv2d
        return mixconv2d(x, [conv.weight for conv in self.convs], None, self.stride, 'symmetric')


def is_depthwise(conv) -> bool:
    return isinstance(conv, torch.nn.Conv2d) and conv.groups == conv.in_channels == conv.out_channels > 1 \
        and conv.kernel_size[0] == conv.kernel_size[1] and conv.kernel_size[0] % 2 == 1 and conv.bias is None \
        and conv.padding == (conv.kernel_size[0] // 2,) * 2 and conv.dilation == (1, 1)


def swap_depthwise(model) -> int:
    """Replace every depthwise conv and mixed conv of ``model`` by :class:`MixConvFromConvs`; return the count."""
    count = 0
    for name, child in list(model.named_children()):
        convs = list(child.values()) if isinstance(child, torch.nn.ModuleDict) and hasattr(child, 'splits') \
            else [child]
        if all(is_depthwise(conv) for conv in convs):
            setattr(model, name, MixConvFromConvs(convs, convs[0].stride[0]))
            count += 1
        else:
            count += swap_depthwise(child)
    return count


# Training-step variants: (label, network, mixconv2d impl, channels_last); timm runs in its fastest layout.
VARIANTS = {'timm': 'timm eager (channels_last)', 'compiled': 'timm torch.compile (channels_last)',
            'reference': 'mixdet reference (NCHW)', 'fused': 'mixdet fused (NCHW)'}


def model_benchmark(device, dry: bool, report: list[str]) -> dict:
    """img/s of a mixnet_s training step per (variant, amp); the parity of the swapped network under 'parity'."""
    import copy

    import benchmark_mixconv as bench

    from mixdet.ops.mixconv import IMPL_ENV
    base, source = reference_network(dry)
    size, batch = (32, 2) if dry else (320, 64)
    base = base.to(device)
    swapped = copy.deepcopy(base)
    count = swap_depthwise(swapped)
    base.eval(), swapped.eval()
    x = torch.randn(batch, 3, size, size, device=device)
    with torch.no_grad():
        expected, got = base(x), swapped(x)
    parity = ((got - expected).norm() / expected.norm()).item()
    compile_backend = 'aot_eager' if dry else 'inductor'
    report.append(f'## MixNet-S training step ({source}, {size}x{size}, N={batch})\n\n'
                  f'{count} depthwise/mixed convs run by mixdet.ops.mixconv2d; eval-mode parity with the unswapped '
                  f'network (fp32): relative error {parity:.2e}. torch.compile backend: {compile_backend}.\n')
    timer = bench.Timer(device, 0 if dry else 3, 1 if dry else 10)
    networks = dict(timm=(base, None, True), compiled=(torch.compile(base, backend=compile_backend), None, True),
                    reference=(swapped, 'reference', False), fused=(swapped, 'fused', False))
    results = dict(parity=parity)
    for amp in (False, True):
        for key, (model, impl, channels_last) in networks.items():
            memory_format = torch.channels_last if channels_last else torch.contiguous_format
            owner = swapped if impl else base
            owner.train().to(memory_format=memory_format)
            optimizer = torch.optim.SGD(owner.parameters(), lr=1e-4, momentum=0.9)
            inputs = x.contiguous(memory_format=memory_format)

            def step():
                with torch.autocast(device.type, torch.bfloat16, enabled=amp):
                    loss = model(inputs).float().logsumexp(1).mean()
                loss.backward()
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)

            if impl:
                os.environ[IMPL_ENV] = impl
            results[(key, amp)] = batch / (timer(step) / 1e3)
            os.environ.pop(IMPL_ENV, None)
            owner.to(memory_format=torch.contiguous_format)
    report.append('| variant | fp32 img/s | bf16 AMP img/s |\n|---|---|---|')
    report.extend(f'| {label} | {results[(key, False)]:.1f} | {results[(key, True)]:.1f} |'
                  for key, label in VARIANTS.items())
    report.append('')
    return results


def check_targets(totals: dict, steps: dict, report: list[str]) -> bool:
    """The targets as PASS/FAIL rows; True when all pass."""
    checks = [('fused forward, fp32, 8 layers (ms)', totals[('fp32', 'fwd', 'fused')], TARGETS['fwd_fp32_ms'], '<='),
              ('fused forward+backward, fp32 (ms)', totals[('fp32', 'fwdbwd', 'fused')], TARGETS['fwdbwd_fp32_ms'],
               '<=')]
    for pass_name in ('fwd', 'fwdbwd'):
        checks.append((f'bf16 {pass_name}: split/conv/cat / fused',
                       totals[('bf16', pass_name, 'split')] / totals[('bf16', pass_name, 'fused')],
                       TARGETS['bf16_speedup'], '>='))
    checks += [('backbone AMP step: fused / reference', steps[('fused', True)] / steps[('reference', True)],
                TARGETS['amp_step_vs_reference'], '>='),
               ('backbone AMP step: fused img/s vs timm compiled', steps[('fused', True)], steps[('compiled', True)],
                '>'),
               ('parity of the swapped network (relative error)', steps['parity'], 1e-4, '<')]
    passed = {'<=': float.__le__, '>=': float.__ge__, '>': float.__gt__, '<': float.__lt__}
    report.append('## Targets\n\n| check | measured | target | result |\n|---|---|---|---|')
    results = [passed[op](float(value), float(target)) for _, value, target, op in checks]
    report.extend(f'| {name} | {value:.4g} | {op} {target:.4g} | {"PASS" if ok else "FAIL"} |'
                  for (name, value, target, op), ok in zip(checks, results))
    report.append('')
    return all(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--device', default='cuda', choices=['cuda', 'cpu'])
    parser.add_argument('--out', default='work_dirs/gpu_check', help='folder of report.md')
    args = parser.parse_args()
    dry = args.device == 'cpu'
    os.environ['MIXDET_OPS_ONLY'] = '1'  # no OpenMMLab stack on the GPU machine
    begin = time.time()
    report = ['# mixdet GPU check' + (' (dry run on the CPU: small shapes, numbers mean nothing)' if dry else '')]
    if not dry:
        if not torch.cuda.is_available():
            raise SystemExit('gpu_check: no CUDA device (use --device cpu for the dry run)')
        build_extension(report)
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if not dry else platform.processor() or 'CPU'
    report.insert(1, f'\n{name}; torch {torch.__version__} (CUDA {torch.version.cuda}); Python '
                     f'{platform.python_version()}; {time.strftime("%Y-%m-%d %H:%M")}\n')
    ensure_pytest()
    tests_ok = run_tests(args.device, report)
    torch.manual_seed(0)
    if not dry:
        torch.backends.cudnn.benchmark = True
    totals = layer_benchmark(device, dry, report)
    steps = model_benchmark(device, dry, report)
    targets_ok = check_targets(totals, steps, report)
    report.append(f'Tests {"passed" if tests_ok else "FAILED"}; targets {"all met" if targets_ok else "NOT all met"}; '
                  f'{time.time() - begin:.0f} s in all.')
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / 'report.md').write_text('\n'.join(report) + '\n')
    print('\n'.join(report))
    print(f'report written to {out / "report.md"}')
    if not tests_ok:
        raise SystemExit(1)


if __name__ == '__main__':
    main()
