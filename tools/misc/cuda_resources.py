"""What the compiler makes of the CUDA MixConv kernels, without a GPU (``make cuda-check``).

Builds ``mixdet.ops._C`` with CUDA kernels (CUDA_HOME = the real toolkit behind ``nvcc``, see
tools/misc/cuda_toolkit.py; ptxas verbose), loads it, and prints one row per kernel and dtype:

* registers, stack frame, spill stores/loads (``ptxas -v``), static shared memory;
* resident CTAs per SM on the target (sm_90: 64K registers, 228 KB shared memory, 2048 threads per SM), the
  minimum of the register, thread and shared-memory limits, the latter at the planner's largest dynamic
  shared memory (48 KiB for the conv kernels), so it holds for every launch plan;
* SASS instruction counts (``cuobjdump -sass``, static: summed over the code of all kernel sizes of the
  kernel's ``switch``): global loads (LDG), shared loads (LDS), local loads/stores (LDL/STL: spills or a
  local-memory frame), FMAs (FFMA/DFMA/HFMA2).

Then it checks the bounds of issue 16 for the fp32/fp16/bf16 conv kernels (no spills, no stack frame, >= 3
resident CTAs per SM) and that the bf16 forward issues at least 20% fewer shared loads per FMA than fp32 (its
16-bit staging); exit status 1 if not.
Run with the Python of a CUDA build of torch (``make cuda-check`` makes a side venv)::

    python tools/misc/cuda_resources.py --build-dir build/cuda [--arch 9.0]
"""
from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from cuda_toolkit import cuda_home

REPO = Path(__file__).resolve().parents[2]
# Per-SM limits of sm_90 (CUDA C Programming Guide, compute capability 9.0).
SM = dict(registers=65536, smem=228 * 1024, threads=2048, ctas=32, reserved_smem=1024, reg_granularity=256)
THREADS = 256  # per CTA, every kernel (mixconv_launch.h kThreads)
CONV_MAX_SMEM = 48 * 1024  # the planner's cap (kSmemLimit)
DTYPES = {'f': 'fp32', 'd': 'fp64', 'N3c104HalfE': 'fp16', 'N3c108BFloat16E': 'bf16'}
TYPE = r'(f|d|N3c104HalfE|N3c108BFloat16E)'
CHECKED = ('fp32', 'fp16', 'bf16')  # fp64 is for gradcheck, not for training speed
MIN_CTAS = 3


def kernel_name(mangled: str):
    """(kernel, stride, dtype) of a mangled kernel name, or None for other functions."""
    conv = re.search(r'mixconv_(forward|backward)_kernelILi(\d)E' + TYPE, mangled)
    if conv:
        return conv.group(1), int(conv.group(2)), DTYPES[conv.group(3)]
    reduce = re.search(r'reduce_rows_kernelI' + TYPE + TYPE + 'E', mangled)
    if reduce:
        return f'reduce {DTYPES[reduce.group(1)]}->', 0, DTYPES[reduce.group(2)]
    return None


def build(build_dir: Path, arch: str) -> tuple[str, str]:
    """Compile the extension (the CUDA object anew, so that ptxas reports); (path of the .so, build output)."""
    home, how = cuda_home()
    if home is None:
        sys.exit(f'cuda_resources: {how}')
    for obj in glob.glob(str(build_dir / 'tmp' / '**' / 'cuda' / '*.o'), recursive=True):
        os.remove(obj)
    env = dict(os.environ, CUDA_HOME=home, TORCH_CUDA_ARCH_LIST=arch, MIXDET_WITH_CUDA='1',
               MAX_JOBS=os.environ.get('MAX_JOBS', '2'), NVCC_APPEND_FLAGS='-Xptxas=-v')
    print(f'cuda_resources: building with CUDA_HOME={home} ({how}), TORCH_CUDA_ARCH_LIST={arch}', flush=True)
    result = subprocess.run([sys.executable, 'setup.py', 'build_ext', '--build-lib', str(build_dir / 'lib'),
                             '--build-temp', str(build_dir / 'tmp')], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        sys.exit(f'cuda_resources: the build failed:\n{result.stdout[-6000:]}')
    return glob.glob(str(build_dir / 'lib' / 'mixdet' / 'ops' / '_C*.so'))[0], result.stdout


def check_registration(so: str) -> str:
    import torch
    torch.ops.load_library(so)
    for op in ('mixdet::mixconv2d', 'mixdet::_mixconv2d_backward'):
        if not torch._C._dispatch_has_kernel_for_dispatch_key(op, 'CUDA'):
            sys.exit(f'cuda_resources: {op} has no CUDA kernel in {so}')
    return f'torch {torch.__version__} (CUDA {torch.version.cuda}): mixdet ops have CUDA kernels'


def ptxas_resources(log: str) -> dict:
    """{mangled name: dict(registers, stack, spill_stores, spill_loads)} from ptxas -v output."""
    found, current = {}, None
    for line in log.splitlines():
        match = re.search(r'Function properties for (\S+)', line)
        if match:
            current = found.setdefault(match.group(1), {})
            continue
        match = re.search(r'(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads', line)
        if match and current is not None:
            current.update(stack=int(match.group(1)), spill_stores=int(match.group(2)),
                           spill_loads=int(match.group(3)))
            continue
        match = re.search(r"Compiling entry function '(\S+)'", line)
        if match:
            current = found.setdefault(match.group(1), {})
            continue
        match = re.search(r'Used (\d+) registers', line)
        if match and current is not None:
            current['registers'] = int(match.group(1))
            smem = re.search(r'(\d+) bytes smem', line)
            current['static_smem'] = int(smem.group(1)) if smem else 0
    return found


def sass_tools(home: str) -> tuple[str, dict]:
    """cuobjdump and the environment it needs to find nvdisasm (the toolkit's, or those of the pip wheels
    nvidia-cuda-cuobjdump/-nvdisasm or triton that come with a CUDA build of torch)."""
    import torch
    site = Path(torch.__file__).parents[1]
    folders = [os.path.dirname(shutil.which('cuobjdump') or ''), os.path.join(home, 'bin'),
               *glob.glob(str(site / 'nvidia' / 'cu*' / 'bin')), str(site / 'triton' / 'backends' / 'nvidia' / 'bin')]
    cuobjdump = next((os.path.join(f, 'cuobjdump') for f in folders if os.path.isfile(os.path.join(f, 'cuobjdump'))),
                     None)
    nvdisasm = next((os.path.join(f, 'nvdisasm') for f in folders if os.path.isfile(os.path.join(f, 'nvdisasm'))),
                    None)
    if cuobjdump is None or nvdisasm is None:
        sys.exit('cuda_resources: cuobjdump and nvdisasm are needed (pip install nvidia-cuda-cuobjdump '
                 'nvidia-cuda-nvdisasm)')
    return cuobjdump, dict(os.environ, NVDISASM_PATH=os.path.dirname(nvdisasm))


# Global loads: LDG, and generic LD (nvcc emits them where it cannot tell the state space).
SASS_CLASSES = {'LDG': r'\bLDG?\.', 'LDS': r'\bLDS\b', 'LDL/STL': r'\b(LDL|STL)\b', 'FMA': r'\b(FFMA|DFMA|HFMA2)\b',
                'STS': r'\bSTS\b'}


def sass_counts(tools: tuple[str, dict], so: str) -> dict:
    """{mangled name: {class: static instruction count}} from cuobjdump -sass."""
    cuobjdump, env = tools
    result = subprocess.run([cuobjdump, '-sass', so], capture_output=True, text=True, env=env)
    if result.returncode != 0:
        sys.exit(f'cuda_resources: {cuobjdump} -sass failed: {result.stderr.strip()}')
    sass = result.stdout
    counts, current = {}, None
    for line in sass.splitlines():
        match = re.search(r'Function : (\S+)', line)
        if match:
            current = counts.setdefault(match.group(1), {name: 0 for name in SASS_CLASSES})
            continue
        if current is not None and re.match(r'\s*/\*[0-9a-f]{4,}\*/', line):
            instruction = line.split('*/', 1)[1].split(';')[0]
            for name, pattern in SASS_CLASSES.items():
                if re.search(pattern, instruction):
                    current[name] += 1
    return counts


def resident_ctas(registers: int, smem: int) -> tuple[int, int, int]:
    """(CTAs per SM, limited by registers, by shared memory) of a 256-thread CTA."""
    per_warp = -(-registers * 32 // SM['reg_granularity']) * SM['reg_granularity']
    by_regs = SM['registers'] // (per_warp * (THREADS // 32))
    by_smem = SM['smem'] // (smem + SM['reserved_smem'])
    return min(by_regs, by_smem, SM['threads'] // THREADS, SM['ctas']), by_regs, by_smem


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--build-dir', required=True, type=Path)
    parser.add_argument('--arch', default='9.0', help='TORCH_CUDA_ARCH_LIST (the table assumes sm_90 limits)')
    args = parser.parse_args()
    so, log = build(args.build_dir, args.arch)
    print(check_registration(so))
    resources = ptxas_resources(log)
    counts = sass_counts(sass_tools(cuda_home()[0]), so)
    rows = []
    for mangled, res in resources.items():
        name = kernel_name(mangled)
        if name is None or 'registers' not in res:
            continue
        kernel, stride, dtype = name
        elem = 8 if dtype == 'fp64' else 4
        dynamic = CONV_MAX_SMEM if kernel in ('forward', 'backward') else THREADS * elem
        ctas, by_regs, by_smem = resident_ctas(res['registers'], res['static_smem'] + dynamic)
        rows.append(dict(kernel=kernel, stride=stride, dtype=dtype, ctas=ctas, by_regs=by_regs, by_smem=by_smem,
                         smem=res['static_smem'] + dynamic, **res, **counts.get(mangled, {})))
    order = {'fp32': 0, 'bf16': 1, 'fp16': 2, 'fp64': 3}
    rows.sort(key=lambda r: (r['kernel'].startswith('reduce'), r['kernel'], r['stride'], order[r['dtype']]))
    print(f'\nsm_{args.arch.replace(".", "")}, {THREADS} threads per CTA; smem = static + the largest dynamic shared '
          'memory of any plan; CTAs/SM = min(registers, smem, threads); SASS counts are static (all kernel sizes)\n')
    print('| kernel | s | dtype | regs | stack B | spill st/ld B | smem B | CTAs/SM (regs, smem) | LDG | LDS | '
          'LDL/STL | STS | FMA | LDS/FMA |')
    print('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|')
    for r in rows:
        print(f'| {r["kernel"]} | {r["stride"] or "-"} | {r["dtype"]} | {r["registers"]} | {r["stack"]} | '
              f'{r["spill_stores"]}/{r["spill_loads"]} | {r["smem"]} | {r["ctas"]} ({r["by_regs"]}, {r["by_smem"]}) | '
              f'{r["LDG"]} | {r["LDS"]} | {r["LDL/STL"]} | {r["STS"]} | {r["FMA"]} | '
              f'{r["LDS"] / max(r["FMA"], 1):.2f} |')
    problems = []
    conv = [r for r in rows if r['kernel'] in ('forward', 'backward') and r['dtype'] in CHECKED]
    for r in conv:
        where = f'{r["kernel"]} s={r["stride"]} {r["dtype"]}'
        if r['spill_stores'] or r['spill_loads']:
            problems.append(f'{where}: spills {r["spill_stores"]}/{r["spill_loads"]} bytes')
        if r['stack']:
            problems.append(f'{where}: {r["stack"]}-byte stack frame (local memory)')
        if r['ctas'] < MIN_CTAS:
            problems.append(f'{where}: {r["ctas"]} resident CTAs per SM (< {MIN_CTAS})')
    # Shared loads per FMA in the code (static): the forward stages fp16/bf16 tiles in 16 bits and reads their
    # windows 8 elements per load, so its bf16 code must issue clearly fewer shared loads per FMA than fp32.
    per_fma = {(r['kernel'], r['stride'], r['dtype']): r['LDS'] / max(r['FMA'], 1) for r in conv}
    print('\nshared loads per FMA, bf16 vs fp32: ' + ', '.join(
        f'{kernel} s={stride} {per_fma[(kernel, stride, "bf16")]:.2f} vs {per_fma[(kernel, stride, "fp32")]:.2f}'
        for kernel, stride, dtype in per_fma if dtype == 'fp32' and (kernel, stride, 'bf16') in per_fma))
    for stride in (1, 2):
        bf16, fp32 = per_fma.get(('forward', stride, 'bf16')), per_fma.get(('forward', stride, 'fp32'))
        if bf16 is not None and fp32 is not None and bf16 > 0.8 * fp32:
            problems.append(f'forward s={stride}: bf16 issues {bf16:.2f} shared loads per FMA, fp32 {fp32:.2f} '
                            '(expected at least 20% fewer)')
    if problems:
        print('\nBOUNDS NOT MET:\n  ' + '\n  '.join(problems))
        sys.exit(1)
    print(f'\nbounds met: no spills, no stack frame, >= {MIN_CTAS} resident CTAs/SM for every fp32/fp16/bf16 conv '
          'kernel; the bf16 forward issues fewer shared loads per FMA than fp32')


if __name__ == '__main__':
    main()
