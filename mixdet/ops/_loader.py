"""Loads the compiled MixConv library and registers its fake kernels and autograd formula.

The library (``mixdet.ops._C``, built by ``pip install -e .``) defines ``torch.ops.mixdet.mixconv2d`` and
``torch.ops.mixdet._mixconv2d_backward`` (schema in ``csrc/mixconv.cpp``) with CPU and, when built with
CUDA, CUDA kernels; autocast kernels come from :mod:`mixdet.ops.autocast`. ``MIXDET_JIT_BUILD=1`` compiles
the sources on first import instead, for installs made without building the extension. ``LOAD_ERROR`` is
None when the ops are available, else the reason.
"""
from __future__ import annotations

import glob
import os
from typing import Optional

import torch

from mixdet.utils.dependencies import declared_ranges

from .autocast import register_autocast_kernels

_CSRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'csrc')


def _jit_build() -> None:
    """Compile and load the ops with ``torch.utils.cpp_extension.load`` (CUDA sources when nvcc is found)."""
    from torch.utils.cpp_extension import CUDA_HOME, load
    sources = [os.path.join(_CSRC, 'mixconv.cpp')] + sorted(glob.glob(os.path.join(_CSRC, 'cpu', '*.cpp')))
    if torch.version.cuda is not None and CUDA_HOME is not None:
        sources += sorted(glob.glob(os.path.join(_CSRC, 'cuda', '*.cu')))
    load('mixdet_ops_jit', sources, extra_cflags=['-O3', '-fopenmp'], extra_ldflags=['-fopenmp'],
         is_python_module=False, verbose=True)


# mixdet's torch minimum (requirements/runtime.txt); the ops need at least 2.4 (torch.library.register_fake and
# register_autograd, autocast by device type).
MIN_TORCH = declared_ranges()['torch'][0]


def _check_torch() -> None:
    """ImportError in one sentence when torch is older than mixdet's minimum."""
    if torch.__version__ < MIN_TORCH:  # torch's TorchVersion compares as a version
        raise ImportError(f'mixdet.ops needs torch>={MIN_TORCH} (torch.library.register_fake and autocast by device '
                          f'type), but torch {torch.__version__} is installed')


def _load() -> Optional[str]:
    try:
        from . import _C  # noqa: F401  (loading the library registers the ops)
    except ImportError as err:
        if os.environ.get('MIXDET_JIT_BUILD') != '1':
            return (f'the compiled extension mixdet.ops._C is missing ({err}); build it with '
                    '`pip install --no-build-isolation -e .` or set MIXDET_JIT_BUILD=1')
        _jit_build()
    return None


_check_torch()
LOAD_ERROR = _load()


# Device types ('cpu', 'cuda') with a compiled mixdet::mixconv2d kernel, looked up once.
KERNEL_DEVICES = frozenset() if LOAD_ERROR is not None else frozenset(
    device for device, key in (('cpu', 'CPU'), ('cuda', 'CUDA'))
    if torch._C._dispatch_has_kernel_for_dispatch_key('mixdet::mixconv2d', key))


def has_kernel(device_type: str) -> bool:
    """Whether the loaded library has a ``mixdet::mixconv2d`` kernel for ``device_type`` ('cpu', 'cuda')."""
    return device_type in KERNEL_DEVICES


def _fake_forward(x, weights, pads, stride, dilation):
    """[N, C, H, W] -> [N, C, ceil(H / stride), ceil(W / stride)], contiguous."""
    torch._check(x.dim() == 4, lambda: f'mixconv2d: x must be 4-D, got {x.dim()}-D')
    n, c, h, w = x.shape
    return x.new_empty((n, c, (h - 1) // stride + 1, (w - 1) // stride + 1))


def _fake_backward(grad_out, x, weights, pads, stride, dilation, output_mask):
    """(grad_x like x, grad_w: the groups' gradients packed [sum C_g * k_g^2]); not asked for: empty."""
    packed = sum(w.numel() for w in weights)
    return x.new_empty(x.shape if output_mask[0] else (0,)), x.new_empty((packed if output_mask[1] else 0,))


def _setup_context(ctx, inputs, output):
    x, weights, *args = inputs
    ctx.save_for_backward(x, *weights)
    ctx.args = args


def _backward(ctx, grad):
    """grad_x and per-group weight gradients: views into the op's packed grad_w, no copy."""
    x, *weights = ctx.saved_tensors
    need_x, need_w = ctx.needs_input_grad[0], any(ctx.needs_input_grad[1])
    grad_x, grad_w = torch.ops.mixdet._mixconv2d_backward(grad, x, weights, *ctx.args, [need_x, need_w])
    grad_ws = [g.view(w.shape) if needed else None for g, w, needed in
               zip(grad_w.split([w.numel() for w in weights]), weights, ctx.needs_input_grad[1])] if need_w \
        else [None] * len(weights)
    return (grad_x if need_x else None, grad_ws) + (None,) * len(ctx.args)


def _no_double_backward(ctx, grad_x, grad_w):
    raise RuntimeError('mixdet::mixconv2d does not support double backward')


if LOAD_ERROR is None:
    torch.library.register_fake('mixdet::mixconv2d')(_fake_forward)
    torch.library.register_fake('mixdet::_mixconv2d_backward')(_fake_backward)
    torch.library.register_autograd('mixdet::mixconv2d', _backward, setup_context=_setup_context)
    torch.library.register_autograd('mixdet::_mixconv2d_backward', _no_double_backward)
    _AUTOCAST_LIBRARY = torch.library.Library('mixdet', 'IMPL')  # kept alive: it owns the registrations
    register_autocast_kernels(_AUTOCAST_LIBRARY, 'mixconv2d', torch.ops.mixdet.mixconv2d.default)
