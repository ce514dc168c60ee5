"""Launch plans of the CUDA MixConv kernels, reported on any machine (no GPU needed).

The planning (tiles, channels per CTA, grids, shared memory, dW workspace) is C++ shared by the CUDA
kernels and every build of ``mixdet.ops._C`` (``csrc/cuda/mixconv_launch.h``), exposed as the op
``mixdet::_cuda_launch_plan``; :func:`cuda_launch_plan` returns its report as a dict.
"""
from __future__ import annotations

import json
from typing import Optional, Sequence

import torch

from ._loader import LOAD_ERROR
from .geometry import op_pads
from .mixconv_reference import split_channels


def cuda_launch_plan(shape: Sequence[int], kernels: Sequence[int], channels: Optional[Sequence[int]] = None,
                     stride: int = 1, padding: str = 'symmetric', dtype: torch.dtype = torch.float32) -> dict:
    """The CUDA kernels' plans for an input of ``shape`` [N, C, H, W] and one kernel size per group.

    ``channels`` default to ``split_channels(C, len(kernels))``. Returns ``{'supported': False, 'reason'}``
    when the CUDA kernels do not take the call, else ``'forward'`` and ``'backward'``, each with the tiling
    (``tile`` [h, w], ``tiles`` [y, x], ``channels_per_cta``, ``items_per_cta``, ``groups`` in launch order),
    ``kernels`` (per kernel: ``grid``, ``ctas``, ``threads``, ``smem_bytes``), ``useful_outputs`` and
    ``computed_outputs`` (forward: outputs of the op / outputs the threads compute; backward: dX elements)
    and ``workspace_bytes``; the backward also ``partial_rows``, ``reduce_rows_per_cta`` and
    ``reduce_serial_sums`` (the longest chain of additions of one thread in the dW reduction).
    An empty call (N = 0) gives ``{'supported': True, 'empty': True}`` with no kernels; sizes beyond the
    kernels' 32-bit indexing or CUDA's grid limits give ``supported: False`` with the reason; a negative or
    non-integer size raises ValueError naming it (H or W of 0: the op's own RuntimeError).
    """
    if LOAD_ERROR is not None:
        raise RuntimeError(f'cuda_launch_plan needs the compiled op library: {LOAD_ERROR}')
    if len(shape) != 4:
        raise ValueError(f'cuda_launch_plan: shape must be [N, C, H, W], got {list(shape)}')
    for name, size in zip('NCHW', shape):
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f'cuda_launch_plan: {name} must be a non-negative int, got {size!r}')
    n, c, h, w = shape
    channels = list(channels) if channels is not None else split_channels(c, len(kernels))
    pads = op_pads(kernels, stride, padding, 1, h, w)
    report = torch.ops.mixdet._cuda_launch_plan(list(shape), channels, list(kernels), pads, stride, 1, dtype)
    return json.loads(report)
