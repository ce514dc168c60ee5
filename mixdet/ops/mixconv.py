"""Public MixConv entry point: ``mixconv2d`` and ``backend()``.

Until a compiled MixConv extension is built, every call runs the pure-PyTorch
reference (:mod:`mixdet.ops.mixconv_reference`); ``backend()`` says so.
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch

from .mixconv_reference import mixconv2d_reference


def backend(device: str | torch.device = 'cpu') -> str:
    """Name of the implementation that ``mixconv2d`` runs on ``device`` ('reference')."""
    torch.device(device)  # validates the device string
    return 'reference'


def mixconv2d(input: torch.Tensor, weights: Sequence[torch.Tensor], bias: Optional[torch.Tensor] = None,
              stride: int = 1, padding: str = 'symmetric', dilation: int = 1) -> torch.Tensor:
    """Mixed depthwise convolution; see :func:`mixdet.ops.mixconv2d_reference` for the arguments.

    Shapes: input [N, C, H, W], weights [C_i, 1, k_i, k_i] with sum(C_i) = C, output [N, C, H_out, W_out]
    in the memory format of the input.
    """
    return mixconv2d_reference(input, weights, bias, stride, padding, dilation)
