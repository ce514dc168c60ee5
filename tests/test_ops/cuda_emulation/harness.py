"""Builds the CUDA emulation (g++) of the real MixConv kernels and checks them against float64 references.

``build()`` compiles ``capi.cpp`` + ``cuda_emulation.cpp`` with ``mixconv_kernels.cuh`` from a csrc
directory (the package's, or a mutated copy) into a shared library in a cache directory under the system
temp (objects keyed on the content of their inputs) and loads it with ctypes. Plain g++ instead of
torch.utils.cpp_extension: without the torch op headers a build takes ~12 s (float32 only: ~4 s) instead
of ~28 s on 2 cores. ``run()`` calls it with NaN-filled outputs; ``mismatches()`` compares y, dX and dW with
the float64 reference and says what differs.
"""
from __future__ import annotations

import ctypes
import glob
import hashlib
import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from typing import Optional, Sequence

import torch
import torch.nn.functional as F

from mixdet.ops import mixconv2d_reference
from mixdet.ops.geometry import op_pads

HERE = os.path.dirname(os.path.abspath(__file__))
CSRC = os.path.normpath(os.path.join(HERE, '..', '..', '..', 'mixdet', 'ops', 'csrc'))
SOURCES = [os.path.join(HERE, 'capi.cpp'), os.path.join(HERE, 'cuda_emulation.cpp')]
CACHE = os.path.join(tempfile.gettempdir(), 'mixdet-cuda-emulation')
DTYPE_CODES = {torch.float32: 0, torch.float64: 1, torch.float16: 2, torch.bfloat16: 3}
# |got - ref| <= TOL * (|ref| + max|ref|): the inputs are exact in each dtype, the error is the rounding
# of fp32 accumulation and of the output to the dtype.
TOL = {torch.float64: 1e-12, torch.float32: 1e-5, torch.float16: 2e-3, torch.bfloat16: 1.6e-2}


def kernel_sources(csrc: str) -> list[str]:
    """The headers of csrc that the emulated build compiles (plan, launch planning, device code)."""
    return sorted(glob.glob(os.path.join(csrc, '*.h')) + glob.glob(os.path.join(csrc, 'cuda', '*.h'))
                  + glob.glob(os.path.join(csrc, 'cuda', '*.cuh')))


def _object(cxx: str, flags: list[str], source: str, inputs: list[str]) -> tuple[str, Optional[subprocess.Popen]]:
    """The cached object file of ``source`` for these flags and the content of ``inputs``, and the compiler
    process writing it (None when it is there already)."""
    digest = hashlib.sha256(' '.join([cxx] + flags + [torch.__version__]).encode())
    for path in inputs:
        with open(path, 'rb') as f:
            digest.update(os.path.basename(path).encode() + f.read())
    obj = os.path.join(CACHE, f'{os.path.basename(source)}-{digest.hexdigest()[:20]}.o')
    if os.path.exists(obj):
        return obj, None
    tmp = f'{obj}.{os.getpid()}'  # renamed when complete: concurrent builds find whole files
    job = subprocess.Popen([cxx, *flags, '-c', source, '-o', tmp], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    job.rename = (tmp, obj)
    return obj, job


def build(csrc: str = CSRC, float_only: bool = False, ubsan: bool = False) -> 'Emulated':
    """Compile (or reuse) the emulated kernels of ``csrc``; raises CalledProcessError with g++'s output.

    float_only (mutated kernels): float32 only, -O1, about 4 s instead of 12 s. ubsan: with GCC's undefined
    behaviour sanitizer (signed overflow, misaligned or out-of-bounds accesses abort the process), at -O1 (the
    sanitized build of every dtype compiles in about half the time of -O2).
    """
    from torch.utils.cpp_extension import include_paths
    cxx = os.environ.get('CXX', 'c++')
    os.makedirs(CACHE, exist_ok=True)
    flags = ['-O1' if float_only or ubsan else '-O2', '-std=c++20', '-fPIC', '-fvisibility=hidden',
             '-fno-strict-aliasing', '-Wno-unknown-pragmas']
    flags += ['-fsanitize=undefined', '-fno-sanitize-recover=all'] if ubsan else []
    emulation = _object(cxx, flags, SOURCES[1], SOURCES[1:] + [os.path.join(HERE, 'cuda_emulation.h')])
    flags += ['-DMIXDET_EMU_FLOAT_ONLY'] if float_only else [f'-I{p}' for p in include_paths()]
    flags += [f'-I{HERE}', f'-I{os.path.join(csrc, "cuda")}']
    capi = _object(cxx, flags, SOURCES[0], kernel_sources(csrc) + SOURCES + [os.path.join(HERE, 'cuda_emulation.h')])
    for _, job in (emulation, capi):
        if job is not None:
            output = job.communicate()[0]
            if job.returncode:
                raise subprocess.CalledProcessError(job.returncode, job.args, output.decode())
            os.replace(*job.rename)
    objs = [capi[0], emulation[0]]
    lib = os.path.join(CACHE, 'libmixdet_emu-' + '-'.join(os.path.basename(o).split('-')[-1][:8] for o in objs) + '.so')
    if not os.path.exists(lib):
        link = ['-fsanitize=undefined'] if ubsan else []
        subprocess.run([cxx, '-shared', *objs, '-o', f'{lib}.{os.getpid()}', *link], check=True, capture_output=True)
        os.replace(f'{lib}.{os.getpid()}', lib)
    return Emulated(lib)


def _int64s(values) -> ctypes.Array:
    values = [int(v) for v in values]
    return (ctypes.c_int64 * max(len(values), 1))(*values)


class Emulated:
    """The emulated kernels in one loaded library: forward() and backward() on CPU tensors, in place."""

    def __init__(self, path: str):
        self.path = path
        self.lib = ctypes.CDLL(path)
        self.lib.mixdet_emu_error.restype = ctypes.c_char_p
        i64, ptr, ints = ctypes.c_int64, ctypes.c_void_p, ctypes.POINTER(ctypes.c_int64)
        geometry = [ctypes.c_int, ints, i64, ints, ints, ints, i64]
        self.lib.mixdet_emu_forward.argtypes = geometry + [ptr] * 3 + [i64, ints, i64]
        self.lib.mixdet_emu_backward.argtypes = geometry + [ptr] * 6 + [ints, i64, i64, ints, i64]
        self.lib.mixdet_emu_describe.argtypes = geometry
        self.lib.mixdet_emu_describe.restype = ctypes.c_char_p

    def _check(self, status: int):
        if status != 0:
            raise RuntimeError(self.lib.mixdet_emu_error().decode())

    def _geometry(self, x, channels, kernels, pads, stride):
        return (DTYPE_CODES[x.dtype], _int64s(x.shape), len(channels), _int64s(channels), _int64s(kernels),
                _int64s(pads), stride)

    def selftest(self, scenario: int, delta: int = 0, width: int = 32) -> list[int]:
        """Runs a scenario of capi.cpp's mixdet_emu_selftest; returns out[64] or raises the emulation's error."""
        out = (ctypes.c_int * 64)(*([-1] * 64))
        self._check(self.lib.mixdet_emu_selftest(scenario, delta, width, out))
        return list(out)

    def describe(self, x, channels, kernels, pads, stride) -> dict:
        """The launch plans of the call (the JSON of mixdet::cuda::describe_plans), for x's shape and dtype."""
        report = self.lib.mixdet_emu_describe(*self._geometry(x, channels, kernels, pads, stride))
        if report is None:
            raise RuntimeError(self.lib.mixdet_emu_error().decode())
        return json.loads(report)

    def forward(self, x, w_packed, channels, kernels, pads, stride, y, schedule=0, blocks=()):
        """y <- the forward of x [N, C, H, W] (contiguous) with packed weights; y must be allocated."""
        self._check(self.lib.mixdet_emu_forward(*self._geometry(x, channels, kernels, pads, stride), x.data_ptr(),
                                                w_packed.data_ptr(), y.data_ptr(), schedule, _int64s(blocks),
                                                len(blocks)))

    def backward(self, dy, x, w_packed, channels, kernels, pads, stride, dx, dw, schedule=0, blocks=(), budget=0):
        """dx, dw <- the backward (None: not asked for); returns the workspace, NaN before the launches.

        budget > 0: the planner's partial-dW budget in bytes (small: several items per CTA).
        """
        geometry = self._geometry(x, channels, kernels, pads, stride)
        ptrs = [t.data_ptr() if t is not None else None for t in (dy, x, w_packed, dx, dw)]
        tail = (budget, schedule, _int64s(blocks), len(blocks))
        size = ctypes.c_int64(-1)
        self._check(self.lib.mixdet_emu_backward(*geometry, *ptrs, None, ctypes.byref(size), *tail))
        workspace = torch.full((max(size.value, 8) // 4,), float('nan'), dtype=torch.float32)
        self._check(self.lib.mixdet_emu_backward(*geometry, *ptrs, workspace.data_ptr(), ctypes.byref(size), *tail))
        return workspace


@dataclass
class Case:
    """One call: input [n, sum(channels), h, w], groups (channels[g], kernels[g]), stride, padding.

    padding: 'symmetric', 'same', or explicit (pad_top, pad_left) per group. budget: the backward's partial-dW
    budget in bytes (0: the planner's default).
    """
    n: int
    h: int
    w: int
    channels: Sequence[int]
    kernels: Sequence[int]
    stride: int = 1
    padding: object = 'symmetric'
    seed: int = 0
    budget: int = 0

    def pads(self) -> list[int]:
        """(pad_top, pad_left) per group, as mixconv2d passes them to the op."""
        if not isinstance(self.padding, str):
            return [p for pair in self.padding for p in pair]
        return op_pads(self.kernels, self.stride, self.padding, 1, self.h, self.w)

    def tensors(self, dtype: torch.dtype):
        """Random x, weights, grad_y (float64 values exactly representable in dtype)."""
        gen = torch.Generator().manual_seed(self.seed)
        h_out, w_out = (self.h - 1) // self.stride + 1, (self.w - 1) // self.stride + 1

        def rand(*shape):
            return torch.randn(*shape, generator=gen, dtype=torch.float64).to(dtype).double()
        x = rand(self.n, sum(self.channels), self.h, self.w)
        weights = [rand(c, 1, k, k) / k for c, k in zip(self.channels, self.kernels)]
        grad = rand(self.n, sum(self.channels), h_out, w_out)
        return x, [w.to(dtype).double() for w in weights], grad


def reference(case: Case, x, weights, grad):
    """float64 y, dX and packed dW of the case (mixconv2d_reference, or explicit pads through F.pad)."""
    x = x.clone().requires_grad_(True)
    weights = [w.clone().requires_grad_(True) for w in weights]
    if isinstance(case.padding, str):
        y = mixconv2d_reference(x, weights, None, case.stride, case.padding)
    else:
        h_out, w_out = (case.h - 1) // case.stride + 1, (case.w - 1) // case.stride + 1
        outs, begin = [], 0
        for (top, left), w in zip(case.padding, weights):
            c, k = w.shape[0], w.shape[-1]
            # Bottom/right pads follow from the output size (negative: cropped), as in the op.
            bottom, right = (h_out - 1) * case.stride + k - case.h - top, (w_out - 1) * case.stride + k - case.w - left
            part = F.pad(x[:, begin:begin + c], (left, right, top, bottom))
            outs.append(F.conv2d(part, w, stride=case.stride, groups=c))
            begin += c
        y = torch.cat(outs, 1)
    dx, *dws = torch.autograd.grad(y, [x] + weights, grad)
    return y.detach(), dx, torch.cat([d.reshape(-1) for d in dws])


def run(ops: Emulated, case: Case, dtype: torch.dtype, schedule: int = 0, need_dx: bool = True, need_dw: bool = True):
    """Emulated y, dX, packed dW (None where not asked) and the workspace; outputs start as NaN."""
    x, weights, grad = case.tensors(dtype)
    xd, wd, gd = x.to(dtype), torch.cat([w.reshape(-1) for w in weights]).to(dtype), grad.to(dtype)
    args = (list(case.channels), list(case.kernels), case.pads(), case.stride)
    y = torch.full(grad.shape, float('nan'), dtype=dtype)
    ops.forward(xd, wd, *args, y, schedule)
    dx = torch.full(x.shape, float('nan'), dtype=dtype) if need_dx else None
    dw = torch.full(wd.shape, float('nan'), dtype=dtype) if need_dw else None
    workspace = ops.backward(gd, xd, wd, *args, dx, dw, schedule, budget=case.budget)
    return y, dx, dw, workspace


def compare(name: str, got: Optional[torch.Tensor], ref: torch.Tensor, dtype: torch.dtype) -> list[str]:
    """'' when got matches ref within TOL[dtype] and is finite everywhere, else what differs."""
    if got is None:
        return []
    got = got.double()
    bad = ~torch.isfinite(got)
    if bad.any():
        return [f'{name}: {int(bad.sum())} of {got.numel()} elements NaN (not written, or computed from NaN), first at '
                f'{tuple(int(i) for i in bad.nonzero()[0])}']
    err = (got - ref).abs()
    limit = TOL[dtype] * (ref.abs() + ref.abs().max())
    if (err > limit).any():
        worst = (err / limit.clamp_min(1e-300)).argmax()
        return [f'{name}: {int((err > limit).sum())} of {got.numel()} elements off, worst {got.reshape(-1)[worst]:.6g}'
                f' vs {ref.reshape(-1)[worst]:.6g}']
    return []


def mismatches(ops: Emulated, case: Case, dtype: torch.dtype, schedule: int = 0) -> list[str]:
    """What differs between the emulated kernels and the float64 reference on a case (empty: all match)."""
    x, weights, grad = case.tensors(dtype)
    ref_y, ref_dx, ref_dw = reference(case, x, weights, grad)
    y, dx, dw, _ = run(ops, case, dtype, schedule)
    return compare('y', y, ref_y, dtype) + compare('dX', dx, ref_dx, dtype) + compare('dW', dw, ref_dw, dtype)
