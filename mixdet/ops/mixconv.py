"""Public MixConv entry point: ``mixconv2d`` and ``backend()``.

Implementations: 'cpu-fused' / 'cuda-fused' (the compiled op ``torch.ops.mixdet.mixconv2d``, see
docs/mixconv-op.md) and 'reference' (split -> conv -> cat, :mod:`mixdet.ops.mixconv_reference`).
Choose with ``impl=`` or the environment variable ``MIXDET_MIXCONV_IMPL``:

* 'auto' (default): the fused op where it is built and supports the call, else the reference with a
  one-time warning that says why. One exception on CPU: float32 calls that need no gradient run
  split/conv/cat, because PyTorch's oneDNN depthwise convs match or beat the fused forward there (0.85-1.01x
  measured on two 2-core CPUs, docs/benchmarks.md); the fused op's gain is in the backward pass;
* 'fused': the fused op, or a RuntimeError saying why it cannot run;
* 'reference': always the reference.

While ``torch.onnx.export`` traces a model, every call runs :mod:`mixdet.ops.mixconv_onnx` (standard
ONNX operators) instead.
"""
from __future__ import annotations

import json
import os
import warnings
from functools import lru_cache
from typing import Optional, Sequence

import torch

from ._loader import LOAD_ERROR, has_kernel
from .autocast import autocast_arguments
from .geometry import op_pads
from .mixconv_onnx import mixconv2d_onnx
from .mixconv_reference import check_mixconv_args, split_conv_cat

IMPLS = ('auto', 'fused', 'reference')
FUSED_REACH_SLACK = 16  # pixels of kernel reach allowed beyond twice the plane (small planes, large kernels)
IMPL_ENV = 'MIXDET_MIXCONV_IMPL'
_warned: set[str] = set()


def _requested(impl: Optional[str]) -> str:
    impl = os.environ.get(IMPL_ENV, 'auto') if impl is None else impl
    if impl not in IMPLS:
        raise ValueError(f'impl (or ${IMPL_ENV}) must be one of {IMPLS}, got {impl!r}')
    return impl


@lru_cache(maxsize=None)
@torch.compiler.assume_constant_result  # the planner returns a string: torch.compile keeps the answer, not the call
def cuda_limits(kernels: tuple[int, ...], stride: int, dilation: int) -> Optional[str]:
    """Why the CUDA kernels do not take this kernel list, stride and dilation, asked from their C++ planner
    (``mixconv_launch.h``: groups, kernel sizes, stride, dilation), or None when they do. Sizes beyond the
    kernels' 32-bit indexing are the launch's own error."""
    pads = [0] * (2 * len(kernels))  # the planner checks the call, not the padding rule
    plan = json.loads(torch.ops.mixdet._cuda_launch_plan([1, len(kernels), 1, 1], [1] * len(kernels), list(kernels),
                                                         pads, stride, dilation, torch.float32))
    return None if plan['supported'] else f'the CUDA kernels do not take this call: {plan["reason"]}'


def _fused_unsupported(device_type: str, kernels: Sequence[int], stride: int, dilation: int,
                       plane: Optional[Sequence[int]] = None) -> Optional[str]:
    """Why the fused op cannot run this call, or None when it can. ``plane``: the input's (H, W), if known."""
    if LOAD_ERROR is not None:
        return LOAD_ERROR
    if not has_kernel(device_type):
        return f'mixdet.ops._C has no {device_type} kernel (CUDA kernels need a build with nvcc, see docs)'
    reach = dilation * (max(kernels) - 1)
    # The fused op pads a copy of the input by the kernel's reach (split/conv/cat pads virtually): a reach of more
    # than twice the plane, whose far taps see only padding, would make that copy needlessly huge.
    if plane is not None and reach > 2 * max(plane) + FUSED_REACH_SLACK:
        return (f'dilation={dilation} makes a {max(kernels)}x{max(kernels)} kernel reach {reach} pixels, more than '
                f'twice the {plane[0]}x{plane[1]} input it slides over')
    return cuda_limits(tuple(kernels), stride, dilation) if device_type == 'cuda' else None


def backend(device: str | torch.device = 'cpu', impl: Optional[str] = None) -> str:
    """Name of the implementation ``mixconv2d`` runs on ``device`` for MixNet-style calls.

    'cpu-fused', 'cuda-fused' or 'reference'. Raises RuntimeError when ``impl`` (or $MIXDET_MIXCONV_IMPL)
    is 'fused' and the fused op is not available there.
    """
    device, requested = torch.device(device), _requested(impl)
    if requested == 'reference':
        return 'reference'
    reason = _fused_unsupported(device.type, [3], 1, 1)
    if reason is None:
        return f'{device.type}-fused'
    if requested == 'fused':
        raise RuntimeError(f'the fused MixConv op is not available on {device}: {reason}')
    return 'reference'


def _cpu_inference_prefers_reference(input: torch.Tensor, weights: Sequence[torch.Tensor]) -> bool:
    """The CPU rule of 'auto': float32 calls that need no gradient run split/conv/cat (module docstring)."""
    needs_grad = torch.is_grad_enabled() and (input.requires_grad or any(w.requires_grad for w in weights))
    return input.device.type == 'cpu' and input.dtype == torch.float32 and not needs_grad


def _fused(input: torch.Tensor, weights: Sequence[torch.Tensor], bias: Optional[torch.Tensor], stride: int,
           padding: str, dilation: int, kernels: Sequence[int]) -> torch.Tensor:
    """One call of ``torch.ops.mixdet.mixconv2d`` on the weights as they are (no packing); channels_last input
    is converted to NCHW and the output back (the kernels are NCHW)."""
    pads = op_pads(kernels, stride, padding, dilation, *input.shape[-2:])
    channels_last = input.is_contiguous(memory_format=torch.channels_last) and not input.is_contiguous()
    out = torch.ops.mixdet.mixconv2d(input.contiguous(), list(weights), pads, stride, dilation)
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    return out.contiguous(memory_format=torch.channels_last) if channels_last else out


def mixconv2d(input: torch.Tensor, weights: Sequence[torch.Tensor], bias: Optional[torch.Tensor] = None,
              stride: int = 1, padding: str = 'symmetric', dilation: int = 1,
              impl: Optional[str] = None) -> torch.Tensor:
    """Mixed depthwise convolution; see :func:`mixdet.ops.mixconv2d_reference` for the arguments.

    Shapes: input [N, C, H, W], weights [C_i, 1, k_i, k_i] with sum(C_i) = C, output [N, C, H_out, W_out]
    in the memory format of the input. ``impl``: 'auto' | 'fused' | 'reference' (module docstring).
    Inside ``torch.autocast`` it follows convolution's rule (:mod:`mixdet.ops.autocast`).
    """
    input, weights, bias = autocast_arguments(input, weights, bias)
    kernels = check_mixconv_args(input, weights, bias, stride, padding, dilation)  # once, for every path
    if torch.onnx.is_in_onnx_export():  # standard ONNX operators only, whatever impl says
        return mixconv2d_onnx(input, weights, bias, stride, padding, dilation)
    requested = _requested(impl)
    if requested == 'reference':
        return split_conv_cat(input, weights, bias, stride, padding, dilation)
    reason = _fused_unsupported(input.device.type, kernels, stride, dilation, tuple(input.shape[-2:]))
    if reason is None:
        if requested == 'auto' and _cpu_inference_prefers_reference(input, weights):
            return split_conv_cat(input, weights, bias, stride, padding, dilation)
        return _fused(input, weights, bias, stride, padding, dilation, kernels)
    if requested == 'fused':
        raise RuntimeError(f'mixconv2d(impl="fused") cannot run on {input.device}: {reason}')
    if reason not in _warned:
        _warned.add(reason)
        warnings.warn(f'mixconv2d runs the pure-PyTorch reference on {input.device.type}: {reason}', RuntimeWarning,
                      stacklevel=2)
    return split_conv_cat(input, weights, bias, stride, padding, dilation)
