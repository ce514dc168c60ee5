"""One command that proves the GPU path on a GPU machine and writes one markdown report.

    python tools/misc/gpu_check.py                 # on the GPU machine (make gpu-check): about 5-8 minutes
    python tools/misc/gpu_check.py --device cpu    # dry run on a CPU (tiny shapes; `make test` rehearses it)

Made for a machine with Python, a CUDA build of torch, nvcc (the binary or a wrapper script), ninja, timm and
pytest but **no OpenMMLab packages, mixdet not installed and no network**: it runs from the repository root of a
plain checkout (it puts that root on ``sys.path`` and ``PYTHONPATH``; ``import mixdet`` imports no OpenMMLab
package, and nothing it runs imports mmdet, mmcv or mmengine). When the GPU, torch's CUDA or the CUDA toolkit is
missing, the first line printed (and of the report) says which, and nothing else runs.

Sections, each appended to ``<out>/report.md`` as soon as it is finished (a crash or a timeout keeps the
finished ones), each bounded by what is left of ``--budget`` seconds:
1. build ``mixdet.ops._C`` in place against the installed torch with CUDA kernels for this GPU, with ninja
   where installed and ``CUDA_HOME`` = the real toolkit behind ``nvcc`` (tools/misc/cuda_toolkit.py);
   the dry run uses the extension already in the checkout;
2. the CUDA op tests (the ``cuda`` tests of ``tests/test_ops/test_mixconv_op.py`` and
   ``tests/test_ops/test_mixconv_autocast.py``: fp32/fp16/bf16 against the reference, autocast, bit-identical
   weight gradients of two backward runs);
3. the eight mixed depthwise layers of MixNet-S at 320x320, N=32: fused vs split/conv/cat vs the copy
   floors (forward and forward+backward), fp32 and bf16 (tools/analysis_tools/benchmark_mixconv.py);
4. a MixNet-S training step (timm's ``mixnet_s``, forward, loss, backward, SGD) at 320x320, N=64, in
   img/s: timm eager and ``torch.compile``d, and the same network with every depthwise conv run by
   ``mixdet.ops.mixconv2d`` (reference and fused), fp32 and bf16 AMP; first a parity check of the
   swapped network against timm's;
5. the targets (from H100 measurements of split/conv/cat; see docs/benchmarks.md), PASS/FAIL.
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
from typing import Optional

import torch
from cuda_toolkit import cuda_home

REPO = Path(__file__).resolve().parents[2]

# Totals over the eight MixNet-S layers at 320x320, N=32 (ms), and model-level ratios.
TARGETS = dict(fwd_fp32_ms=0.45, fwdbwd_fp32_ms=2.0, bf16_speedup=4.0, amp_step_vs_reference=1.6)
OP_TESTS = ['tests/test_ops/test_mixconv_op.py', 'tests/test_ops/test_mixconv_autocast.py']


class Report:
    """report.md, appended section by section (flushed to disk each time) and echoed to stdout."""

    def __init__(self, path: Path, title: str):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        path.write_text('')
        self.add(title)

    def add(self, *lines: str) -> None:
        text = '\n'.join(lines) + '\n'
        with open(self.path, 'a') as f:
            f.write(text)
        print(text, end='', flush=True)


class Budget:
    """Seconds left of the run's budget."""

    def __init__(self, seconds: float):
        self.end = time.time() + seconds

    def left(self) -> float:
        return self.end - time.time()


def run(cmd: list[str], env: Optional[dict] = None, timeout: float = 600) -> tuple[Optional[int], str, float]:
    """(exit code or None after a timeout, combined output, seconds) of a subprocess in the repository root."""
    begin = time.time()
    try:
        result = subprocess.run(cmd, cwd=REPO, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, timeout=max(timeout, 1))
    except subprocess.TimeoutExpired as expired:
        output = expired.output.decode(errors='replace') if isinstance(expired.output, bytes) else expired.output
        return None, output or '', time.time() - begin
    return result.returncode, result.stdout, time.time() - begin


def missing_for_gpu_run() -> Optional[str]:
    """Why the GPU run cannot start (torch without CUDA, no GPU, no toolkit, no pytest), or None."""
    if torch.version.cuda is None:
        return f'torch {torch.__version__} is a CPU-only build (torch.version.cuda is None); install a CUDA build'
    if not torch.cuda.is_available():
        return (f'torch {torch.__version__} (CUDA {torch.version.cuda}) sees no GPU (CUDA_VISIBLE_DEVICES='
                f'{os.environ.get("CUDA_VISIBLE_DEVICES", "<unset>")}); use --device cpu for the dry run')
    home, how = cuda_home()
    if home is None:
        return f'no CUDA toolkit to build the kernels with: {how}'
    if importlib.util.find_spec('pytest') is None and not (REPO / '.gpu-wheels').is_dir():
        return ('pytest is not installed and there is no .gpu-wheels/ (run `make gpu-wheels` where there is network '
                'and bring the folder along)')
    return None


def environment_line(device: torch.device, dry: bool) -> str:
    name = torch.cuda.get_device_name(device) if not dry else (platform.processor() or 'CPU')
    from torch.utils.cpp_extension import is_ninja_available
    return (f'{name}; torch {torch.__version__} (CUDA {torch.version.cuda}); Python {platform.python_version()}; '
            f'ninja {"yes" if is_ninja_available() else "no"}; {time.strftime("%Y-%m-%d %H:%M")}\n')


def build_extension(report: Report, budget: Budget) -> bool:
    """Compile mixdet.ops._C in place with CUDA kernels for this machine's GPU; True when it built."""
    from torch.utils.cpp_extension import is_ninja_available
    home, how = cuda_home()
    code, nvcc_version, _ = run([os.path.join(home, 'bin', 'nvcc'), '--version'], timeout=60)
    major, minor = torch.cuda.get_device_capability()
    env = dict(CUDA_HOME=home, MIXDET_WITH_CUDA='1', MAX_JOBS=str(os.cpu_count() or 4),
               TORCH_CUDA_ARCH_LIST=os.environ.get('TORCH_CUDA_ARCH_LIST', f'{major}.{minor}'))
    code, output, seconds = run([sys.executable, 'setup.py', 'build_ext', '--inplace'], env,
                                timeout=budget.left() - 60)
    version = (nvcc_version.strip().splitlines() or ['?'])[-1]
    status = 'timed out' if code is None else f'exit {code}'
    report.add('## Build\n', f'`setup.py build_ext --inplace` with {env} (CUDA toolkit: {how}; nvcc {version}; '
               f'ninja {"yes" if is_ninja_available() else "no: one file at a time"}): {status} in {seconds:.0f} s\n')
    if code != 0:
        report.add(f'```\n{output[-4000:]}\n```\n')
    return code == 0


def ensure_pytest() -> Optional[str]:
    """Install pytest from the wheels that `make gpu-wheels` stored in .gpu-wheels/ when it is missing; the
    error, or None."""
    if importlib.util.find_spec('pytest') is not None:
        return None
    code, output, _ = run([sys.executable, '-m', 'pip', 'install', '--no-index', '--find-links',
                           str(REPO / '.gpu-wheels'), 'pytest'])
    return None if code == 0 else f'installing pytest from .gpu-wheels failed:\n{output[-2000:]}'


def run_tests(device: str, report: Report, budget: Budget) -> bool:
    """The CUDA tests of the op (and on a GPU the autocast tests, CPU and CUDA); in the dry run they skip."""
    files = OP_TESTS if device == 'cuda' else OP_TESTS[:1]
    selection = 'cuda or autocast'
    error = ensure_pytest()
    if error is not None:
        report.add('## CUDA op tests\n', f'not run: {error}\n')
        return False
    code, output, seconds = run([sys.executable, '-m', 'pytest', *files, '-q', '-k', selection,
                                 '-p', 'no:cacheprovider'], timeout=min(420, budget.left() - 150))
    summary = output.strip().splitlines()[-1] if output.strip() else '(no output)'
    status = 'timed out' if code is None else f'exit {code}'
    report.add('## CUDA op tests\n', f'`pytest {" ".join(files)} -k "{selection}"`: **{summary}** '
               f'({seconds:.0f} s, {status})\n')
    if code != 0:
        report.add(f'```\n{output[-6000:]}\n```\n')
    return code == 0


def layer_benchmark(device: torch.device, dry: bool, report: Report) -> dict:
    """Totals (ms) per (dtype, pass, method) over the MixNet-S layers, written as tables."""
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
    report.add(f'## MixNet-S depthwise layers ({args.size[0]}x{args.size[0]}, N={args.batch[0]}, NCHW)\n',
               'Totals over the eight layers, ms (median of CUDA-event timings, L2 flushed). ' + bench.FLOOR_NOTE
               + f' Measured copy bandwidth: {rows[0]["bandwidth"] / 1e9:.1f} GB/s.\n',
               '| dtype | pass | fused | split/conv/cat | padded k_max | copy floor | split / fused | floor / fused |',
               '|---|---|---|---|---|---|---|---|')
    for dtype in args.dtype:
        for pass_name in args.passes:
            t = {m: totals[(dtype, pass_name, m)] for m in (*bench.METHODS, 'floor')}
            report.add(f'| {dtype} | {pass_name} | {t["fused"]:.3f} | {t["split"]:.3f} | {t["padded"]:.3f} | '
                       f'{t["floor"]:.3f} | {t["split"] / t["fused"]:.2f}x | {100 * t["floor"] / t["fused"]:.0f}% |')
    report.add('\nPer layer:\n', '| dtype | pass | layer | C | H | kernels | s | fused | split | floor |',
               '|---|---|---|---|---|---|---|---|---|---|',
               *(f'| {r["dtype"]} | {r["pass_name"]} | {r["layer"]} | {r["channels"]} | {r["height"]} | '
                 f'{",".join(map(str, r["kernels"]))} | {r["stride"]} | {r["fused"]:.3f} | {r["split"]:.3f} | '
                 f'{r["floor"]:.3f} |' for r in rows), '')
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


def model_benchmark(device, dry: bool, report: Report, budget: Budget) -> dict:
    """img/s of a mixnet_s training step per (variant, amp) (variants that the budget leaves no time for are
    missing); the parity of the swapped network under 'parity'."""
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
    report.add(f'## MixNet-S training step ({source}, {size}x{size}, N={batch})\n',
               f'{count} depthwise/mixed convs run by mixdet.ops.mixconv2d; eval-mode parity with the unswapped '
               f'network (fp32): relative error {parity:.2e}. torch.compile backend: {compile_backend}.\n')
    timer = bench.Timer(device, 0 if dry else 3, 1 if dry else 10)
    networks = dict(timm=(base, None, True), compiled=(torch.compile(base, backend=compile_backend), None, True),
                    reference=(swapped, 'reference', False), fused=(swapped, 'fused', False))
    results = dict(parity=parity)
    for amp in (False, True):
        for key, (model, impl, channels_last) in networks.items():
            if budget.left() < (60 if key == 'compiled' else 20):
                continue
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

    def cell(key, amp):
        return f'{results[(key, amp)]:.1f}' if (key, amp) in results else 'skipped (time budget)'
    report.add('| variant | fp32 img/s | bf16 AMP img/s |', '|---|---|---|',
               *(f'| {label} | {cell(key, False)} | {cell(key, True)} |' for key, label in VARIANTS.items()), '')
    return results


def check_targets(totals: dict, steps: dict, report: Report) -> bool:
    """The targets as PASS/FAIL rows ('not measured' where a section did not run); True when all pass."""
    def ratio(a, b, table):
        return table[a] / table[b] if a in table and b in table else None

    checks = [('fused forward, fp32, 8 layers (ms)', totals.get(('fp32', 'fwd', 'fused')), TARGETS['fwd_fp32_ms'],
               '<='),
              ('fused forward+backward, fp32 (ms)', totals.get(('fp32', 'fwdbwd', 'fused')), TARGETS['fwdbwd_fp32_ms'],
               '<=')]
    for pass_name in ('fwd', 'fwdbwd'):
        checks.append((f'bf16 {pass_name}: split/conv/cat / fused',
                       ratio(('bf16', pass_name, 'split'), ('bf16', pass_name, 'fused'), totals),
                       TARGETS['bf16_speedup'], '>='))
    checks += [('backbone AMP step: fused / reference', ratio(('fused', True), ('reference', True), steps),
                TARGETS['amp_step_vs_reference'], '>='),
               ('backbone AMP step: fused img/s vs timm compiled', steps.get(('fused', True)),
                steps.get(('compiled', True)), '>'),
               ('parity of the swapped network (relative error)', steps.get('parity'), 1e-4, '<')]
    passed = {'<=': float.__le__, '>=': float.__ge__, '>': float.__gt__, '<': float.__lt__}
    lines, ok = ['## Targets\n', '| check | measured | target | result |', '|---|---|---|---|'], True
    for name, value, target, op in checks:
        if value is None or target is None:
            lines.append(f'| {name} | - | {op} {"-" if target is None else f"{target:.4g}"} | not measured |')
            ok = False
            continue
        good = passed[op](float(value), float(target))
        ok &= good
        lines.append(f'| {name} | {value:.4g} | {op} {target:.4g} | {"PASS" if good else "FAIL"} |')
    report.add(*lines, '')
    return ok


def use_plain_checkout() -> None:
    """mixdet from the repository root (here and in the test subprocesses), benchmark_mixconv from its tool folder
    (``import mixdet`` imports no OpenMMLab package). Set when the run starts, not on import, so that importing
    this module leaves the importer's environment alone."""
    sys.path[:0] = [str(REPO), str(REPO / 'tools' / 'analysis_tools')]
    paths = [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p]
    os.environ['PYTHONPATH'] = os.pathsep.join([str(REPO)] + paths)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--device', default='cuda', choices=['cuda', 'cpu'])
    parser.add_argument('--out', default='work_dirs/gpu_check', help='folder of report.md')
    parser.add_argument('--budget', type=float, default=480,
                        help='seconds for the whole run (default 480); later sections shrink or are skipped')
    args = parser.parse_args()
    use_plain_checkout()
    dry = args.device == 'cpu'
    budget = Budget(args.budget)
    out = Path(args.out) / 'report.md'
    title = '# mixdet GPU check' + (' (dry run on the CPU: tiny shapes, numbers mean nothing)' if dry else '')
    missing = None if dry else missing_for_gpu_run()
    if missing is not None:
        Report(out, f'gpu_check: cannot run: {missing}')
        raise SystemExit(2)
    report = Report(out, title)
    device = torch.device(args.device)
    report.add('', environment_line(device, dry))
    built = True if dry else build_extension(report, budget)
    if not built:
        report.add('The extension did not build: nothing else ran.')
        raise SystemExit(1)
    tests_ok = run_tests(args.device, report, budget)
    torch.manual_seed(0)
    if not dry:
        torch.backends.cudnn.benchmark = True
    totals, steps = {}, {}
    if budget.left() > 60:
        totals = layer_benchmark(device, dry, report)
    else:
        report.add('## MixNet-S depthwise layers\n', f'skipped: {budget.left():.0f} s of the budget left\n')
    if budget.left() > 40:
        steps = model_benchmark(device, dry, report, budget)
    else:
        report.add('## MixNet-S training step\n', f'skipped: {budget.left():.0f} s of the budget left\n')
    targets_ok = check_targets(totals, steps, report)
    report.add(f'Tests {"passed" if tests_ok else "FAILED"}; targets {"all met" if targets_ok else "NOT all met"}; '
               f'{args.budget - budget.left():.0f} s in all.')
    print(f'report written to {out}')
    if not tests_ok:
        raise SystemExit(1)


if __name__ == '__main__':
    main()
